/**
 * DiskStore's cleanup pass: removes records idle past the cutoff (their mtime), temp files left by
 * a process killed mid-write, and user index entries whose record is gone. Synchronous calls in
 * slices of a few ms (see time-slice.ts): a pass over a folder of any size stalls requests for one
 * slice at most. Entries that are not the store's own (a stray file or folder, a foreign `.tmp`)
 * are counted in `skipped` and left as they are.
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CleanupProgress } from '../core/store.js';
import {
  isNotFound,
  KEY_FILE,
  LEASE_FILE,
  LOCK_FILE,
  mtimeOf,
  SHARD,
  STORE_ENTRY,
  TEMP_FILE,
} from './disk-files.js';
import type { StoreFolders } from './disk-folders.js';
import { type RecordLock, tryLock, unlock } from './disk-lock.js';
import type { DiskUserIndex } from './disk-users.js';
import { TimeSlice } from './time-slice.js';

/** What a pass works on: the store folder and the parts of its store. */
export interface DiskCleanupScope {
  dir: string;
  folders: StoreFolders;
  users: DiskUserIndex;
  /** Take each record's lock before removing it (other processes use the folder too). */
  crossProcess: boolean;
  /** File mode of a lock file. */
  mode: number;
  /** True while this process is using the record of `key`. */
  busy(key: string): boolean;
}

/** One pass over the store folder; the number of records removed. */
export async function cleanupPass(
  scope: DiskCleanupScope,
  maxIdleSeconds: number,
  onProgress?: CleanupProgress,
): Promise<number> {
  const counts = { scanned: 0, removed: 0, skipped: 0, tempRemoved: 0 };
  const cutoff = Date.now() - maxIdleSeconds * 1000;
  const tmpCutoff = Date.now() - 3600_000;
  const slice = new TimeSlice();
  const top = scope.folders.list(scope.dir);
  for (const e of top)
    if (!(e.isDirectory() ? STORE_ENTRY.test(e.name) : LEASE_FILE.test(e.name))) counts.skipped++;
  for (const shard of top) {
    if (!(shard.isDirectory() && SHARD.test(shard.name))) continue;
    const shardDir = path.join(scope.dir, shard.name);
    const entries = scope.folders.listShard(shardDir);
    if (!entries) {
      counts.skipped++;
      continue;
    }
    for (const entry of entries) {
      if (slice.due()) {
        await slice.yield();
        onProgress?.({ ...counts });
      }
      const file = path.join(shardDir, entry.name);
      if (KEY_FILE.test(entry.name) && entry.isFile()) {
        counts.scanned++;
        const outcome = expire(scope, entry.name.slice(0, 64), file, cutoff);
        if (outcome === 'removed') counts.removed++;
        else if (outcome === 'skipped') counts.skipped++;
      } else if (TEMP_FILE.test(entry.name) && entry.isFile()) {
        // A temp file left by a process killed mid-write.
        if (mtimeOf(file) < tmpCutoff) {
          fs.rmSync(file, { force: true });
          counts.tempRemoved++;
        }
      } else if (!LOCK_FILE.test(entry.name)) {
        counts.skipped++; // not ours (a stray file or folder): left as it is
      }
    }
  }
  await scope.users.sweep(slice);
  onProgress?.({ ...counts });
  return counts.removed;
}

/**
 * Removes the record of `key` if its mtime (its access time) is before `cutoff`, checked again
 * under its lock, so a request that touched it meanwhile keeps it. A record in use now (by this
 * process or, by its lock, another) is not expired: it is left for the next pass.
 */
function expire(
  scope: DiskCleanupScope,
  key: string,
  file: string,
  cutoff: number,
): 'removed' | 'kept' | 'skipped' {
  if (mtimeOf(file) >= cutoff || scope.busy(key)) return 'kept';
  let lock: RecordLock | undefined;
  try {
    if (scope.crossProcess) {
      lock = tryLock(file, scope.mode);
      if (!lock) return 'kept';
    }
  } catch {
    return 'skipped'; // a lock that cannot be taken (a read-only folder…): the next pass tries
  }
  try {
    if (mtimeOf(file) >= cutoff) return 'kept';
    fs.unlinkSync(file);
    return 'removed';
  } catch (err) {
    return isNotFound(err) ? 'kept' : 'skipped';
  } finally {
    if (lock) unlock(lock);
  }
}
