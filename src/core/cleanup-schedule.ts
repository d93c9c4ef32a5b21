/**
 * Background cleanup of expired sessions, coordinated between the processes that share a store:
 * each pass first takes the store's `cleanup` lease (Store.lease), so one process per store runs
 * a pass at a time and the others skip theirs; the lease also tells when the last pass of any
 * process ended, so that the processes together run about one pass per interval, not one each.
 * The passes are spread at random so that processes started together do not all knock at once.
 * @module
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from './config.js';
import type { SessionEvents } from './events.js';
import type { Store } from './store.js';

/**
 * How long a cleanup lease lasts unless renewed: a holder that died (killed mid-pass) frees it
 * after this. Short, and renewed every third of it while the pass runs.
 */
export const CLEANUP_LEASE_MS = 15_000;
/** A pass is skipped when one of any process ended less than this part of the interval ago. */
const RECENT_SHARE = 0.9;
/** Intervals without any pass known to have ended before the schedule warns that cleanup stalls. */
const STALLED_INTERVALS = 3;

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
  /** When a pass of any process was last known to end (or the schedule started): ms since epoch. */
  #lastPassSeen = Date.now();
  #stallWarned = false;

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
    this.#lastPassSeen = Date.now();
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
    if (this.#store.closed === true) return this.stop(); // a closed store runs no more passes
    this.#running = true;
    const started = performance.now();
    try {
      const pass = await underCleanupLease(
        this.#store,
        this.#pass,
        this.#intervalMs * RECENT_SHARE,
      );
      if (pass?.lastEndedAt !== undefined) {
        this.#lastPassSeen = Math.max(this.#lastPassSeen, pass.lastEndedAt);
        this.#stallWarned = false;
      }
      this.#report(pass?.event ?? this.#skipped(performance.now() - started));
    } catch (err) {
      this.#logger.warn(`[websession] [${this.#store.kind}] cleanup failed`, err);
      this.#report({ ms: performance.now() - started, removed: 0, skipped: false, error: err });
    } finally {
      this.#running = false;
    }
  }

  /** A pass skipped while another process holds the lease; says so once when that lasts. */
  #skipped(ms: number): SessionEvents['cleanup'] {
    const stalledMs = Date.now() - this.#lastPassSeen;
    if (stalledMs < STALLED_INTERVALS * this.#intervalMs) return { ms, removed: 0, skipped: true };
    if (!this.#stallWarned)
      this.#logger.warn(
        `[websession] [${this.#store.kind}] no cleanup pass has ended for ${Math.round(stalledMs / 1000)} s: another process holds the cleanup lease all along (a pass that long, or a lease that is never given up); expired sessions are not being removed meanwhile`,
      );
    this.#stallWarned = true;
    return { ms, removed: 0, skipped: true, stalledMs };
  }
}

/** What {@link underCleanupLease} did: the pass event, and when the last pass of any process ended. */
export interface LeasedPass {
  event: SessionEvents['cleanup'];
  /** ms since epoch: this pass's end, or the last recorded one when this pass was skipped. */
  lastEndedAt: number | undefined;
}

/**
 * Runs one cleanup `pass` holding the store's `cleanup` lease (renewed while the pass runs), or
 * at once on a store without leases. Undefined when another process holds the lease. With
 * `recentMs`, a pass is skipped (event `skipped`) when the lease records that a pass of any
 * process ended less than `recentMs` ago; a pass run records its end time in the lease.
 */
export async function underCleanupLease(
  store: Store,
  pass: () => Promise<number>,
  recentMs = 0,
): Promise<LeasedPass | undefined> {
  const lease = store.lease ? await store.lease('cleanup', CLEANUP_LEASE_MS) : undefined;
  if (store.lease && !lease) return undefined;
  const lastEndedAt = lease?.lastPassEndedAt;
  if (lease && lastEndedAt !== undefined && Date.now() - lastEndedAt < recentMs) {
    await lease.release();
    return { event: { ms: 0, removed: 0, skipped: true }, lastEndedAt };
  }
  const renewal =
    lease && setInterval(() => lease.renew().catch(() => false), CLEANUP_LEASE_MS / 3);
  renewal?.unref();
  const started = performance.now(); // the pass proper starts once the lease is held
  let endedAt: number | undefined;
  try {
    const removed = await pass();
    endedAt = Date.now();
    return {
      event: { ms: performance.now() - started, removed, skipped: false },
      lastEndedAt: endedAt,
    };
  } finally {
    if (renewal) clearInterval(renewal);
    await lease?.release(endedAt);
  }
}
