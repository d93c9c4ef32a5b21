/**
 * `websession/metrics`: session counts, cleanup passes, requests turned away by
 * `store_max_in_flight`, store latency histograms and, with a `migrate` config, how many sessions
 * were moved and remain, in the Prometheus text format, from a SessionManager's events.
 *
 * @example
 * const metrics = sessionMetrics(manager);
 * // in a /metrics handler:
 * res.setHeader('Content-Type', metrics.contentType); res.end(metrics.text());
 * @module
 */

import type { SessionData } from './core/codec.js';
import { StoreBusyError } from './core/errors.js';
import type { SessionEventName } from './core/events.js';
import type { SessionManager } from './core/manager.js';

const EVENTS: readonly SessionEventName[] = [
  'created',
  'loaded',
  'saved',
  'touched',
  'regenerated',
  'killed',
  'expired',
  'error',
];
const TIMED: readonly SessionEventName[] = ['created', 'loaded', 'saved', 'touched'];
/** Histogram buckets in seconds. */
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** Prometheus metrics of one SessionManager. */
export interface SessionMetrics {
  /** The exposition text (format 0.0.4). */
  text(): string;
  /** The Content-Type to answer with. */
  readonly contentType: string;
  /** Stops listening. */
  close(): void;
}

/**
 * Counts every session event (`websession_events_total{event=…}`) and observes store latency
 * of loads, saves, creations and touches (`websession_store_seconds{op=…}`).
 */
export function sessionMetrics<T extends SessionData>(
  manager: SessionManager<T>,
  prefix = 'websession',
): SessionMetrics {
  const counts = new Map<string, number>(EVENTS.map((e) => [e, 0]));
  const hist = new Map(
    TIMED.map((op) => [op, { buckets: BUCKETS.map(() => 0), sum: 0, count: 0 }]),
  );
  const passes = { done: 0, skipped: 0, failed: 0 };
  let removed = 0;
  let busy = 0;
  const off: (() => void)[] = [
    manager.on('cleanup', (e) => {
      passes[e.skipped ? 'skipped' : e.error !== undefined ? 'failed' : 'done']++;
      removed += e.removed;
    }),
    manager.on('error', (e) => {
      if (e.error instanceof StoreBusyError) busy++;
    }),
  ];
  for (const event of EVENTS) {
    off.push(
      manager.on(event, (e) => {
        counts.set(event, (counts.get(event) ?? 0) + 1);
        const h = hist.get(event);
        if (!h) return;
        const seconds = e.ms / 1000;
        h.sum += seconds;
        h.count++;
        for (let i = 0; i < BUCKETS.length; i++)
          if (seconds <= (BUCKETS[i] as number)) h.buckets[i]!++;
      }),
    );
  }
  return {
    contentType: 'text/plain; version=0.0.4; charset=utf-8',
    text() {
      const lines = [
        `# HELP ${prefix}_events_total Session events by kind.`,
        `# TYPE ${prefix}_events_total counter`,
        ...[...counts].map(
          ([event, n]) =>
            `${prefix}_events_total{event="${event}",store="${manager.store.kind}"} ${n}`,
        ),
        `# HELP ${prefix}_cleanup_passes_total Background cleanup passes: done, failed, or skipped while another process sharing the store ran one.`,
        `# TYPE ${prefix}_cleanup_passes_total counter`,
        ...Object.entries(passes).map(
          ([outcome, n]) =>
            `${prefix}_cleanup_passes_total{outcome="${outcome}",store="${manager.store.kind}"} ${n}`,
        ),
        `# HELP ${prefix}_cleanup_removed_total Expired sessions removed by background cleanup.`,
        `# TYPE ${prefix}_cleanup_removed_total counter`,
        `${prefix}_cleanup_removed_total{store="${manager.store.kind}"} ${removed}`,
        `# HELP ${prefix}_store_busy_total Requests answered 503 at once because store_max_in_flight store calls were waiting.`,
        `# TYPE ${prefix}_store_busy_total counter`,
        `${prefix}_store_busy_total{store="${manager.store.kind}"} ${busy}`,
        `# HELP ${prefix}_store_seconds Store latency of session loads, saves, creations and touches.`,
        `# TYPE ${prefix}_store_seconds histogram`,
      ];
      for (const [op, h] of hist) {
        const labels = `op="${op}",store="${manager.store.kind}"`;
        for (let i = 0; i < BUCKETS.length; i++) {
          lines.push(
            `${prefix}_store_seconds_bucket{${labels},le="${BUCKETS[i]}"} ${h.buckets[i]}`,
          );
        }
        lines.push(`${prefix}_store_seconds_bucket{${labels},le="+Inf"} ${h.count}`);
        lines.push(`${prefix}_store_seconds_sum{${labels}} ${h.sum}`);
        lines.push(`${prefix}_store_seconds_count{${labels}} ${h.count}`);
      }
      const progress = manager.config.migrate?.progress?.();
      if (progress) {
        const store = `store="${manager.store.kind}"`;
        lines.push(
          `# HELP ${prefix}_migration_moved_total Sessions of the old library (express-session) moved into this store by this process.`,
          `# TYPE ${prefix}_migration_moved_total counter`,
          `${prefix}_migration_moved_total{${store}} ${progress.moved}`,
        );
        if (progress.remaining !== undefined)
          lines.push(
            `# HELP ${prefix}_migration_remaining Sessions left in the old library's store at the last count (recounted at most once a minute).`,
            `# TYPE ${prefix}_migration_remaining gauge`,
            `${prefix}_migration_remaining{${store}} ${progress.remaining}`,
          );
      }
      return `${lines.join('\n')}\n`;
    },
    close() {
      for (const f of off) f();
    },
  };
}
