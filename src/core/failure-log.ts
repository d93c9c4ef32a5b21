/**
 * Store-failure warnings, rate-limited. In an outage every request fails, and a line for each
 * would bury the log (and cost what the requests cost). So the first failure is logged at once,
 * with its cause; the ones after it are counted, and while they go on, one line per interval
 * says how many there were and what the last one said. An interval without a failure ends the
 * outage: the next failure is logged at once again. Outages are kept apart by logger and store
 * kind, so each manager's logger (or the one they share) gets its own count. The interval's
 * timer is unref'd: it never keeps the process alive.
 * @module
 */
import type { Logger } from './config.js';
import type { StoreError } from './errors.js';

/** Longest time between two lines about one outage (after its first): 10 s. */
export const FAILURE_LOG_INTERVAL_MS = 10_000;

/** The failures of one store kind, told to one logger, since its last line. */
interface Outage {
  count: number;
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
  const outage = byStore.get(err.store);
  if (outage) {
    outage.count++;
    outage.last = err.message;
    return;
  }
  const started: Outage = { count: 0, last: '' };
  byStore.set(err.store, started);
  const store = err.store;
  const tick = (): void => {
    if (started.count === 0) {
      byStore.delete(store);
      return;
    }
    try {
      logger.warn(summary(store, started));
    } catch {
      // An application's logger that throws must not crash the process from a timer.
    }
    started.count = 0;
    setTimeout(tick, FAILURE_LOG_INTERVAL_MS).unref();
  };
  setTimeout(tick, FAILURE_LOG_INTERVAL_MS).unref();
  logger.warn(err.message, err.cause);
}

/** `[websession] [redis] 1,234 more store failures in the last 10 s (last: connection refused)`. */
function summary(store: string, outage: Outage): string {
  const prefix = `[websession] [${store}] `;
  const last = outage.last.startsWith(prefix) ? outage.last.slice(prefix.length) : outage.last;
  const failures = outage.count === 1 ? 'failure' : 'failures';
  return `${prefix}${outage.count.toLocaleString('en-US')} more store ${failures} in the last ${
    FAILURE_LOG_INTERVAL_MS / 1000
  } s (last: ${last})`;
}
