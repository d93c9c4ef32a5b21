/**
 * The cross-process lock of one DiskStore record: a lock file `<file>.lock`, made with an
 * exclusive create (exactly one process creates it) and removed when the write is done. A holder
 * keeps it for one read and one write of a small file; a lock file older than `LOCK_STALE_MS`
 * was left by a process that died while holding it, and is taken over.
 *
 * Measured on this project's ext4 disk (bench/fsops.ts): an exclusive create, close and unlink
 * take about 40 µs, where a lock folder's mkdir and rmdir (proper-lockfile's way, which also
 * stats the folder and refreshes its mtime on a timer) take about 750 µs. So the calls are
 * synchronous, as all of DiskStore's small-file calls; only waiting for a held lock is not.
 * @module
 */
import * as fs from 'node:fs';

/** A lock file this old belongs to a dead holder (no live holder keeps one for long). */
const LOCK_STALE_MS = 10_000;
/**
 * How long a writer waits for a held lock before failing: longer than {@link LOCK_STALE_MS}, so a
 * waiter is still there when the lock of a holder killed just after taking it goes stale.
 */
const LOCK_WAIT_MS = 2 * LOCK_STALE_MS;

/** The lock file of a record file. */
function lockPath(file: string): string {
  return `${file}.lock`;
}

function code(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

/** An exclusive create of the lock file: true when this call created it. */
function create(lock: string): boolean {
  try {
    fs.closeSync(fs.openSync(lock, 'wx', 0o600));
    return true;
  } catch (err) {
    if (code(err) === 'EEXIST') return false;
    throw err;
  }
}

/**
 * Takes the lock of `file` now if it is free (or stale): true when taken, false when a live
 * holder has it (then wait with {@link waitForLock}).
 */
export function tryLock(file: string): boolean {
  const lock = lockPath(file);
  for (let attempt = 0; attempt < 3; attempt++) {
    if (create(lock)) return true;
    let mtime: number;
    try {
      mtime = fs.statSync(lock).mtimeMs;
    } catch (err) {
      if (code(err) === 'ENOENT') continue; // released meanwhile: try again at once
      throw err;
    }
    if (Date.now() - mtime <= LOCK_STALE_MS) return false;
    // A dead holder's lock: remove it, then race for a new one. (Two processes that find the
    // same stale lock at the same moment could both take it over; that needs a crashed holder.)
    try {
      fs.unlinkSync(lock);
    } catch (err) {
      if (code(err) !== 'ENOENT') throw err;
    }
  }
  return false;
}

/**
 * Takes the lock of `file`, trying again (with backoff, up to {@link LOCK_WAIT_MS}) while another
 * process holds it; other requests run meanwhile. Errors other than "held" (no space, read-only)
 * are thrown at once.
 */
export async function waitForLock(file: string): Promise<void> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (let wait = 1; ; wait = Math.min(wait * 2, 25)) {
    if (tryLock(file)) return;
    if (Date.now() > deadline) {
      const err = new Error(`lock of ${file} held for more than ${LOCK_WAIT_MS} ms`);
      (err as NodeJS.ErrnoException).code = 'ELOCKED';
      throw err;
    }
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

/** Releases the lock of `file` (a lock already gone is fine: it went stale and was taken over). */
export function unlock(file: string): void {
  try {
    fs.unlinkSync(lockPath(file));
  } catch {
    // gone already: it went stale and was taken over
  }
}
