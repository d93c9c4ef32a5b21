/**
 * The progress bar of the commands that go through a whole store.
 * @module
 */
import type { Io } from './io.js';

/** A progress bar on a terminal; nothing when the output is piped (the summary says it all). */
export class Progress {
  readonly #io: Io;
  readonly #label: string;
  readonly #tty: boolean;
  #last = 0;
  /** The latest state not drawn yet (updates come faster than they are drawn): done() draws it. */
  #pending: [number, number | undefined, string] | undefined;
  constructor(io: Io, label: string) {
    this.#io = io;
    this.#label = label;
    this.#tty = Boolean(io.out.isTTY);
  }
  update(done: number, total?: number, extra = ''): void {
    if (!this.#tty) return;
    const now = Date.now();
    if (now - this.#last < 100 && done !== total) {
      this.#pending = [done, total, extra];
      return;
    }
    this.#pending = undefined;
    this.#last = now;
    const width = 30;
    let bar: string;
    if (total && total > 0) {
      const filled = Math.min(width, Math.round((done / total) * width));
      bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${Math.floor((done / total) * 100)}%`;
    } else {
      bar = `${done}`;
    }
    this.#io.out.write(`\r${this.#label} ${bar}${extra ? ` ${extra}` : ''}\u001b[K`);
  }
  done(): void {
    if (!this.#tty) return;
    if (this.#pending) {
      this.#last = 0;
      this.update(...this.#pending);
    }
    this.#io.out.write('\n');
  }
}
