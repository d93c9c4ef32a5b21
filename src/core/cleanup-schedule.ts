/**
 * Background cleanup of expired sessions, coordinated between the processes that share a store:
 * each pass first takes the store's `cleanup` lease (Store.lease), so one process per store runs
 * a pass at a time and the others skip theirs, and the passes are spread at random so that
 * processes started together do not all knock at once.
 * @module
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from './config.js';
import type { SessionEvents } from './events.js';
import type { Store } from './store.js';

/** How long a cleanup lease lasts unless renewed: a holder that died frees it after this. */
export const CLEANUP_LEASE_MS = 60_000;

/** Runs a store's cleanup passes in the background. */
export class CleanupSchedule {
  readonly #store: Store;
  readonly #intervalMs: number;
  readonly #pass: () => Promise<number>;
  readonly #logger: Logger;
  readonly #report: (event: SessionEvents['cleanup']) => void;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #stopped = false;

  /**
   * @param intervalSeconds time between passes (0: none)
   * @param pass one cleanup pass, resolving with the records it removed
   * @param report told of every pass, run or skipped
   */
  constructor(
    store: Store,
    intervalSeconds: number,
    pass: () => Promise<number>,
    logger: Logger,
    report: (event: SessionEvents['cleanup']) => void,
  ) {
    this.#store = store;
    this.#intervalMs = intervalSeconds * 1000;
    this.#pass = pass;
    this.#logger = logger;
    this.#report = report;
  }

  /** Starts the passes: the first soon after start, off the request path. */
  start(): void {
    if (this.#intervalMs === 0 || this.#store.capabilities.nativeTtl || this.#stopped) return;
    // The first pass between 1 s and 1 s + min(interval, 60 s), each next one the interval ±10 %.
    this.#next(1000 + Math.random() * Math.min(this.#intervalMs, 60_000));
  }

  /** Stops the passes; one in progress finishes. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #next(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#run().finally(() => this.#next(this.#intervalMs * (0.9 + Math.random() * 0.2)));
    }, ms);
    this.#timer.unref();
  }

  async #run(): Promise<void> {
    if (this.#running || this.#stopped) return;
    this.#running = true;
    const started = performance.now();
    try {
      const pass = await underCleanupLease(this.#store, this.#pass);
      this.#report(pass ?? { ms: performance.now() - started, removed: 0, skipped: true });
    } catch (err) {
      this.#logger.warn(`[websession] [${this.#store.kind}] cleanup failed`, err);
      this.#report({ ms: performance.now() - started, removed: 0, skipped: false, error: err });
    } finally {
      this.#running = false;
    }
  }
}

/**
 * Runs one cleanup `pass` holding the store's `cleanup` lease (renewed while the pass runs), or
 * at once on a store without leases. Undefined when another process holds the lease.
 */
export async function underCleanupLease(
  store: Store,
  pass: () => Promise<number>,
): Promise<SessionEvents['cleanup'] | undefined> {
  const lease = store.lease ? await store.lease('cleanup', CLEANUP_LEASE_MS) : undefined;
  if (store.lease && !lease) return undefined;
  const renewal =
    lease && setInterval(() => lease.renew().catch(() => false), CLEANUP_LEASE_MS / 3);
  renewal?.unref();
  const started = performance.now(); // the pass proper starts once the lease is held
  try {
    const removed = await pass();
    return { ms: performance.now() - started, removed, skipped: false };
  } finally {
    if (renewal) clearInterval(renewal);
    await lease?.release();
  }
}
