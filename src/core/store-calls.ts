/**
 * Store calls as the request cycle makes them: each failure becomes a `StoreError` (and an `error`
 * event), and a call that waits on I/O gets the `store_timeout` deadline, checked by one shared
 * timer. A call the store answers at once passes straight through: no promise, no deadline. Calls
 * that wait are counted, and past `store_max_in_flight` a new one is refused at once (StoreBusyError,
 * a 503) rather than queued behind a slow store. A call stops counting when it settles or when its
 * deadline passes, whichever is first: a store whose calls never settle cannot keep the cap full.
 * (The store is not told: the Store contract has no cancellation; a call it finishes later is
 * ignored.)
 * @module
 */
import { performance } from 'node:perf_hooks';
import { type Awaitable, isPromise } from './awaitable.js';
import {
  SessionTooLargeError,
  StoreBusyError,
  StoreError,
  StoreUnavailableError,
} from './errors.js';
import type { SessionEmitter } from './events.js';
import type { Store, StoredSession, StoreMutator } from './store.js';

/** A call waiting on its store, with its deadline. */
interface Pending {
  at: number;
  op: string;
  key: string;
  fail: (err: unknown) => void;
  /** Stops counting the call against the in-flight cap (once). */
  release: () => void;
}

/** Runs store calls for one manager. */
export class StoreCalls {
  readonly #kind: string;
  readonly #timeout: number;
  readonly #maxInFlight: number;
  readonly #events: SessionEmitter;
  readonly #pending = new Set<Pending>();
  #timer: NodeJS.Timeout | undefined;
  #inFlight = 0;

  /**
   * @param timeout ms a call may wait (0: no deadline)
   * @param maxInFlight most calls waiting at once (0: no cap)
   */
  constructor(kind: string, timeout: number, maxInFlight: number, events: SessionEmitter) {
    this.#kind = kind;
    this.#timeout = timeout;
    this.#maxInFlight = maxInFlight <= 0 ? Infinity : maxInFlight;
    this.#events = events;
  }

  /** Store calls waiting on the store now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** The error a failed call becomes; emits `error`, timed from `started` (0: not timed). */
  #fail(op: string, key: string, err: unknown, started: number): unknown {
    let out = err;
    if (
      !(err instanceof StoreError) &&
      !(err instanceof SessionTooLargeError) &&
      !(err instanceof Error && (err as { code?: string }).code?.startsWith('ERR_'))
    ) {
      out = new StoreUnavailableError(
        this.#kind,
        `${op} failed: ${(err as Error)?.message ?? String(err)}`,
        { cause: err },
      );
    }
    if (this.#events.listens('error'))
      this.#events.emit('error', {
        key: key.slice(0, 12),
        ms: started > 0 ? performance.now() - started : 0,
        op,
        error: out,
      });
    return out;
  }

  /** Runs `call` (one store method); its answer comes back as it came, failures mapped. */
  run<R>(op: string, key: string, call: () => Awaitable<R>): Awaitable<R> {
    const started = this.#begin(op, key);
    let result: Awaitable<R>;
    try {
      result = call();
    } catch (err) {
      throw this.#fail(op, key, err, started);
    }
    return this.#settle(op, key, result, started);
  }

  // The request path's calls, each without a closure of its own (one per request each).

  /** `store.get(key)` as {@link run} runs it. */
  get(store: Store, key: string): Awaitable<StoredSession | undefined> {
    const started = this.#begin('get', key);
    let result: Awaitable<StoredSession | undefined>;
    try {
      result = store.get(key);
    } catch (err) {
      throw this.#fail('get', key, err, started);
    }
    return this.#settle('get', key, result, started);
  }

  /** `store.update(key, mutator, expected)` as {@link run} runs it. */
  update(
    store: Store,
    key: string,
    mutator: StoreMutator,
    expected: StoredSession | undefined,
  ): Awaitable<StoredSession | undefined> {
    const started = this.#begin('update', key);
    let result: Awaitable<StoredSession | undefined>;
    try {
      result = store.update(key, mutator, expected);
    } catch (err) {
      throw this.#fail('update', key, err, started);
    }
    return this.#settle('update', key, result, started);
  }

  /** The start time of a call for its `error` event (0: nobody listens); throws when at the cap. */
  #begin(op: string, key: string): number {
    const started = this.#events.listens('error') ? performance.now() : 0;
    if (this.#inFlight >= this.#maxInFlight)
      throw this.#fail(op, key, new StoreBusyError(this.#kind, this.#inFlight), started);
    return started;
  }

  /** A call's answer: as it came when at once; else counted, with its deadline, failures mapped. */
  #settle<R>(op: string, key: string, result: Awaitable<R>, started: number): Awaitable<R> {
    if (!isPromise(result)) return result;
    this.#inFlight++;
    let counted = true;
    const release = () => {
      if (!counted) return;
      counted = false;
      this.#inFlight--;
    };
    const settled = result.finally(release);
    const ms = this.#timeout;
    if (ms <= 0)
      return settled.catch((err: unknown) => {
        throw this.#fail(op, key, err, started);
      });
    return this.#withDeadline(op, key, settled, ms, release);
  }

  #withDeadline<R>(
    op: string,
    key: string,
    promise: Promise<R>,
    ms: number,
    release: () => void,
  ): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const entry: Pending = { at: performance.now() + ms, op, key, fail: reject, release };
      this.#pending.add(entry);
      // Not unref'd: a call in flight keeps the process up until it settles or times out; the
      // timer stops as soon as nothing is in flight.
      this.#timer ??= setInterval(() => this.#checkDeadlines(), Math.max(5, Math.min(250, ms / 4)));
      promise.then(
        (value) => {
          this.#pending.delete(entry);
          resolve(value);
        },
        (err: unknown) => {
          if (!this.#pending.delete(entry)) return; // already failed by its deadline
          reject(this.#fail(op, key, err, entry.at - ms));
        },
      );
    });
  }

  #checkDeadlines(): void {
    const now = performance.now();
    for (const entry of this.#pending) {
      if (entry.at > now) continue;
      this.#pending.delete(entry);
      entry.release();
      const timedOut = new StoreUnavailableError(
        this.#kind,
        `${entry.op} timed out after ${this.#timeout} ms`,
      );
      entry.fail(this.#fail(entry.op, entry.key, timedOut, entry.at - this.#timeout));
    }
    if (this.#pending.size === 0 && this.#timer) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }
}
