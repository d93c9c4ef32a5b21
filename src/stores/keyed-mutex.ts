/**
 * A per-key mutex inside one process: callers of `run(key, fn)` with the same key run one after
 * another, in arrival order; different keys do not wait for each other.
 * @module
 */
export class KeyedMutex {
  readonly #tails = new Map<string, Promise<void>>();

  /** Runs `fn` once every earlier `run` with the same key has settled. */
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key);
    let release!: () => void;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous ? previous.then(() => mine) : mine;
    this.#tails.set(key, tail);
    try {
      if (previous) await previous;
      return await fn();
    } finally {
      release();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }

  /** True while `key` has a holder or waiters. */
  busy(key: string): boolean {
    return this.#tails.has(key);
  }

  /** Number of keys with a holder or waiters (for tests and leak checks). */
  get size(): number {
    return this.#tails.size;
  }
}
