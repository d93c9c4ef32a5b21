/**
 * One request at a time per session, inside this process: express-session applications write
 * `req.session.count++` and expect it to count, which parallel requests of one browser break
 * (each reads the same value). Requests of a session queue here from load to commit, as PHP's
 * session lock does; requests of different sessions never wait for each other. Callbacks, not
 * promises: a session nobody else is using enters at once, allocating nothing.
 * @module
 */
export class SessionQueue {
  /** Sessions in use, each with the requests waiting for it, in arrival order. */
  readonly #busy = new Map<string, (() => void)[]>();

  /**
   * Runs `start` now and returns true when no request of `id` is in progress; else queues it
   * behind them and returns false. Every `enter` must be followed by one {@link leave}.
   */
  enter(id: string, start: () => void): boolean {
    const waiting = this.#busy.get(id);
    if (waiting === undefined) {
      this.#busy.set(id, []);
      start();
      return true;
    }
    waiting.push(start);
    return false;
  }

  /** Ends the current request of `id`: the next one waiting starts (the session stays in use). */
  leave(id: string): void {
    const waiting = this.#busy.get(id);
    if (waiting === undefined) return;
    const next = waiting.shift();
    if (next === undefined) this.#busy.delete(id);
    // On a microtask: `leave` runs inside the previous response's write, which must finish first.
    else queueMicrotask(next);
  }

  /** Number of sessions in use (for tests and leak checks). */
  get size(): number {
    return this.#busy.size;
  }
}
