/**
 * ShelfStore's cleanup pass: walks the access times (not the data) a slice at a time in key
 * order, removes the expired ones of each slice in one write transaction (re-checked inside it:
 * a request may have touched one meanwhile), and yields to the event loop between slices.
 * @module
 */
import type { Handles } from './shelf-env.js';
import { removeRecord } from './shelf-records.js';

/** What a pass works on and reports to. */
export interface ShelfCleanupScope {
  h: Handles;
  /** Runs `fn` in a write transaction. */
  commit<R>(fn: () => R): Promise<R>;
  /** Records examined per slice. */
  batch: number;
  /** True once the store is closed: the pass stops at its next slice. */
  closed(): boolean;
  onProgress?: (progress: { scanned: number; removed: number }) => void;
}

/** Removes the records whose access time is before `cutoff`; the number removed. */
export async function expireIdle(scope: ShelfCleanupScope, cutoff: number): Promise<number> {
  const { h, batch, onProgress } = scope;
  let removed = 0;
  let scanned = 0;
  let after: string | undefined;
  for (;;) {
    const expired: string[] = [];
    let seen = 0;
    let last: string | undefined;
    for (const { key, value } of h.atimes.getRange(
      after === undefined ? { limit: batch } : { start: after, limit: batch + 1 },
    )) {
      if (key === after) continue;
      seen++;
      last = key;
      if (typeof value !== 'number' || value < cutoff) expired.push(key);
      // `after` may be gone (expired last slice), then the range holds one key more.
      if (seen === batch) break;
    }
    if (expired.length > 0) {
      removed += await scope.commit(() => {
        let n = 0;
        for (const key of expired) {
          const atime = h.atimes.get(key);
          if (typeof atime === 'number' && atime >= cutoff) continue;
          const existed = h.data.doesExist(key);
          removeRecord(h, key);
          if (existed) n++;
        }
        return n;
      });
    }
    scanned += seen;
    onProgress?.({ scanned, removed });
    if (seen < batch || last === undefined) break;
    after = last;
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (scope.closed()) break;
  }
  return removed;
}
