/**
 * Group commit: one store write for the concurrent saves of one session. While a write of a
 * session is in flight in this process, later changes of it wait; when it lands, all of them go
 * to the store in one write (applied in arrival order, see `Batch`), under the store's
 * lock as any write. Each caller gets the outcome of its own change, or the write's error.
 * @module
 */

import { type Awaitable, isPromise } from './awaitable.js';
import { Batch, type Change, type Outcome } from './changes.js';
import type { StoredSession, StoreMutator } from './store.js';

/** One store write: `store.update(key, mutator, expected)` through the manager's store calls. */
export type BatchWrite = (
  key: string,
  mutator: StoreMutator,
  expected: StoredSession | undefined,
) => Awaitable<StoredSession | undefined>;

interface Waiting {
  change: Change;
  resolve(outcome: Outcome): void;
  reject(error: unknown): void;
}

/** The changes of one session waiting for the write in flight (or for the end of this turn). */
interface Lane {
  waiting: Waiting[];
}

const NOTHING: Outcome = { alive: false };

/** The record as the only change's request loaded it, for stores that write "if unchanged". */
function expectedOf(changes: readonly Change[]): StoredSession | undefined {
  const only = changes.length === 1 ? changes[0] : undefined;
  return only?.kind === 'save' && !only.fn
    ? { data: only.state.baseline, atime: only.state.atime }
    : undefined;
}

/** Batches the writes of each session key of one manager. */
export class GroupCommit {
  readonly #lanes = new Map<string, Lane>();
  readonly #write: BatchWrite;
  readonly #maxSize: number;
  readonly #gather: boolean;
  /**
   * The store's last write answered at once (a store in this process): a deferred change is then
   * written at once too, since a write that cannot interleave gains nothing from waiting.
   */
  #immediate = false;

  /**
   * @param gather gather every save of a session made in one event-loop turn into one write
   * (for stores whose writes are costly), not only those that wait for a write in flight
   */
  constructor(write: BatchWrite, maxSize: number, gather = false) {
    this.#write = write;
    this.#maxSize = maxSize;
    this.#gather = gather;
  }

  /** True while a write of `key` is in flight or changes of it wait for one. */
  busy(key: string): boolean {
    return this.#lanes.has(key);
  }

  /**
   * Applies `change` to the record of `key`. With a write of `key` in flight (or waiting), the
   * change joins the next write. Otherwise it is written now; or, with `defer`, once this
   * microtask turn ends, and when gathering, once this event-loop turn's I/O callbacks have run,
   * so that changes made meanwhile share one write. A store that answers at once gets no promise
   * and no lane: its changes are written now, deferred or not.
   */
  submit(key: string, change: Change, defer: boolean): Awaitable<Outcome> {
    let lane = this.#lanes.get(key);
    if (lane || (defer && !this.#immediate) || this.#gather) {
      if (!lane) {
        const fresh: Lane = { waiting: [] };
        this.#lanes.set(key, fresh);
        if (this.#gather) setImmediate(() => this.#flush(key, fresh));
        else queueMicrotask(() => this.#flush(key, fresh));
        lane = fresh;
      }
      const joined = lane;
      return new Promise<Outcome>((resolve, reject) => {
        joined.waiting.push({ change, resolve, reject });
      });
    }
    const changes = [change];
    const batch = new Batch(changes, this.#maxSize);
    const written = this.#write(key, batch.mutator, expectedOf(changes));
    this.#immediate = !isPromise(written);
    if (!isPromise(written)) return batch.outcomes[0] ?? NOTHING;
    const running: Lane = { waiting: [] };
    this.#lanes.set(key, running);
    return written.then(
      () => {
        this.#next(key, running);
        return batch.outcomes[0] ?? NOTHING;
      },
      (err: unknown) => {
        this.#next(key, running);
        throw err;
      },
    );
  }

  /** After a write of `key` landed: the waiting changes go next, or the lane closes. */
  #next(key: string, lane: Lane): void {
    if (lane.waiting.length > 0) this.#flush(key, lane);
    else this.#lanes.delete(key);
  }

  /** Writes every waiting change of `key` in one store write. */
  #flush(key: string, lane: Lane): void {
    const batch = lane.waiting;
    lane.waiting = [];
    if (batch.length === 0) {
      this.#lanes.delete(key);
      return;
    }
    const changes = batch.map((w) => w.change);
    const mutation = new Batch(changes, this.#maxSize);
    const fail = (err: unknown) => {
      for (const w of batch) w.reject(err);
      this.#next(key, lane);
    };
    const land = () => {
      const out = mutation.outcomes;
      for (let i = 0; i < batch.length; i++) batch[i]!.resolve(out[i] ?? NOTHING);
      this.#next(key, lane);
    };
    let written: Awaitable<StoredSession | undefined>;
    try {
      written = this.#write(key, mutation.mutator, expectedOf(changes));
    } catch (err) {
      fail(err);
      return;
    }
    this.#immediate = !isPromise(written);
    if (isPromise(written)) written.then(land, fail);
    else land();
  }
}
