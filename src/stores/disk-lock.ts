/**
 * The cross-process lock of one DiskStore record: a lock file `<file>.lock`, made with an
 * exclusive create (exactly one process creates it) and removed when the write is done. A holder
 * keeps it for one read and one write of a small file. The file names its holder (`<host> <pid>`):
 * a lock of a process of this host that is gone is taken over at once; any other lock file older
 * than `LOCK_STALE_MS` (a holder on another host sharing the folder, or killed before it wrote
 * its name) was left by a process that died while holding it, and is taken over too.
 *
 * Measured on this project's ext4 disk (bench/fsops.ts): an exclusive create, close and unlink
 * take about 40 µs, where a lock folder's mkdir and rmdir (proper-lockfile's way, which also
 * stats the folder and refreshes its mtime on a timer) take about 750 µs. So the calls are
 * synchronous, as all of DiskStore's small-file calls; only waiting for a held lock is not.
 * @module
 */
import * as fs from 'node:fs';
import { hostname } from 'node:os';
import { openOwnedFile } from './owned-files.js';

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

/** What a lock file of this process says: its host and pid. */
const HOLDER = `${hostname()} ${process.pid}`;

/** An exclusive create of the lock file, with this process's name in it: true when created. */
function create(lock: string): boolean {
  let fd: number;
  try {
    fd = fs.openSync(lock, 'wx', 0o600);
  } catch (err) {
    if (code(err) === 'EEXIST') return false;
    throw err;
  }
  try {
    fs.writeSync(fd, HOLDER);
  } finally {
    fs.closeSync(fd);
  }
  return true;
}

/** True when `pid` is no process of this host (signal 0 checks without sending anything). */
function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return code(err) === 'ESRCH'; // EPERM: alive, another user's
  }
}

/**
 * Whether the lock file `lock` (found taken) is held by a live holder: `missing` when it was
 * released meanwhile. A lock of a process of this host that is gone, one older than
 * {@link LOCK_STALE_MS}, or anything at its name but a lock file of ours (a link, a FIFO) is not.
 */
function isHeld(lock: string): boolean | 'missing' {
  const opened = openOwnedFile(lock);
  if (opened === 'missing') return 'missing';
  if (opened === 'foreign') return false;
  let holder: string;
  try {
    holder = fs.readFileSync(opened.fd, 'utf8');
  } finally {
    fs.closeSync(opened.fd);
  }
  const [host, pid] = holder.split(' ');
  if (host === hostname() && Number(pid) > 0 && Number(pid) !== process.pid && isGone(Number(pid)))
    return false;
  const age = Date.now() - opened.stat.mtimeMs;
  return age <= LOCK_STALE_MS && age >= -LOCK_STALE_MS;
}

/**
 * Takes the lock of `file` now if it is free (or stale): true when taken, false when a live
 * holder has it (then wait with {@link waitForLock}).
 */
export function tryLock(file: string): boolean {
  const lock = lockPath(file);
  for (let attempt = 0; attempt < 3; attempt++) {
    if (create(lock)) return true;
    const held = isHeld(lock);
    if (held === 'missing') continue; // released meanwhile: try again at once
    if (held) return false;
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
