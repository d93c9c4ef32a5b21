/**
 * Store-failure warnings, rate-limited. In an outage every request fails, and a line for each
 * would bury the log (and cost what the requests cost). So the first failure is logged at once,
 * with its cause; the ones after it are counted, and while they go on, one line per interval
 * says how many there were and what the last one said. An interval without a failure ends the
 * outage: the next failure is logged at once again. Outages are kept apart by logger and store
 * kind, so each manager's logger (or the one they share) gets its own count. Requests turned
 * away by the in-flight cap (`StoreBusyError`) are counted apart: they say the store is slow, not
 * that it fails, and the count line names the last real failure as the cause. The interval's
 * timer is unref'd: it never keeps the process alive.
 * @module
 */
import type { Logger } from './config.js';
import { StoreBusyError, type StoreError } from './errors.js';

/** Longest time between two lines about one outage (after its first): 10 s. */
export const FAILURE_LOG_INTERVAL_MS = 10_000;

/** The failures of one store kind, told to one logger, since its last line. */
interface Outage {
  /** Store failures (not the cap's refusals) since the last line. */
  count: number;
  /** Requests turned away by the in-flight cap since the last line. */
  busy: number;
  /** The last store failure's message: the cause (the cap's refusals never replace it). */
  last: string;
}

const outages = new WeakMap<Logger, Map<string, Outage>>();

/** Logs a store failure through `logger`: at once if it starts an outage, else in its count. */
export function logStoreFailure(logger: Logger, err: StoreError): void {
  let byStore = outages.get(logger);
  if (!byStore) {
    byStore = new Map();
    outages.set(logger, byStore);
  }
  const busy = err instanceof StoreBusyError;
  const outage = byStore.get(err.store);
  if (outage) {
    if (busy) outage.busy++;
    else {
      outage.count++;
      outage.last = err.message;
    }
    return;
  }
  const started: Outage = { count: 0, busy: 0, last: busy ? '' : err.message };
  byStore.set(err.store, started);
  const store = err.store;
  const tick = (): void => {
    if (started.count === 0 && started.busy === 0) {
      byStore.delete(store);
      return;
    }
    try {
      logger.warn(summary(store, started));
    } catch {
      // An application's logger that throws must not crash the process from a timer.
    }
    started.count = 0;
    started.busy = 0;
    setTimeout(tick, FAILURE_LOG_INTERVAL_MS).unref();
  };
  setTimeout(tick, FAILURE_LOG_INTERVAL_MS).unref();
  logger.warn(err.message, err.cause);
}

/**
 * `[websession] [redis] 1,234 more store failures in the last 10 s (last: connection refused)`,
 * and `; 56 requests turned away by store_max_in_flight` when the cap refused some.
 */
function summary(store: string, outage: Outage): string {
  const prefix = `[websession] [${store}] `;
  const seconds = FAILURE_LOG_INTERVAL_MS / 1000;
  const n = (count: number, one: string, many: string) =>
    `${count.toLocaleString('en-US')} ${count === 1 ? one : many}`;
  const busy = n(outage.busy, 'request', 'requests');
  if (outage.count === 0)
    return `${prefix}${busy} turned away by store_max_in_flight in the last ${seconds} s (the store is slow; no store failure)`;
  const last = outage.last.startsWith(prefix) ? outage.last.slice(prefix.length) : outage.last;
  const failures = n(outage.count, 'more store failure', 'more store failures');
  const refused = outage.busy > 0 ? `; ${busy} turned away by store_max_in_flight` : '';
  return `${prefix}${failures} in the last ${seconds} s (last: ${last})${refused}`;
}
