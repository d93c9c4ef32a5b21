/**
 * The cross-process lock of one DiskStore record is the temp file of its next version,
 * `<file>.tmp`, made with an exclusive create (exactly one process creates it): the holder reads
 * the record, writes the new one into that file and renames it over the record, which publishes
 * the write and releases the lock in one step. A save thus changes the folder as web.py's does
 * (one file created, one rename); a lock file beside the temp file cost one more create and an
 * unlink per save (`strace -c`: 3 opens, 1 rename, 1 unlink per update, now 2 opens, 1 rename).
 * A holder that writes nothing removes the file.
 *
 * The file names its holder in its access time (which DiskStore never reads: the record's access
 * time is its mtime): seconds = the holder's pid, microseconds = a tag of its host name, set
 * right after the create. A lock of a process of this host that is gone is taken over at once;
 * any other lock older than `LOCK_STALE_MS` (a holder on another host sharing the folder, or one
 * killed before it stamped its name) was left by a process that died while holding it, and is
 * taken over too. A killed holder never tears the record: the rename never happened.
 *
 * The calls are synchronous, as all of DiskStore's small-file calls; only waiting for a held lock
 * is not, and the rename of {@link publishOffThread}, made on the thread pool.
 * @module
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { hostname } from 'node:os';
import { openOwnedFile } from './owned-files.js';

/** A lock this old belongs to a dead holder (no live holder keeps one for long). */
const LOCK_STALE_MS = 10_000;
/**
 * How long a writer waits for a held lock before failing: longer than {@link LOCK_STALE_MS}, so a
 * waiter is still there when the lock of a holder killed just after taking it goes stale.
 */
const LOCK_WAIT_MS = 2 * LOCK_STALE_MS;
/** Pids are below 2^22 on Linux: an access time before that second is a holder's stamp. */
const MAX_PID = 1 << 22;
/** This host's tag (0 to 999,999): the microseconds of a holder's stamp. */
export const HOST_TAG =
  createHash('sha256').update(hostname()).digest().readUInt32BE(0) % 1_000_000;

/**
 * The access time (s) that names a holder: its pid, and its host's tag as microseconds, plus half
 * a microsecond, as times are cut to whole microseconds on the way (12345.266232 is stored as
 * 12345.266231).
 */
export function holderStamp(pid: number, tag: number): number {
  return pid + (tag + 0.5) / 1e6;
}

/** A lock held: the temp file (open) that becomes the record's next version. */
export interface RecordLock {
  /** `<file>.tmp`. */
  readonly path: string;
  /** Its descriptor, open for writing until published or released. */
  readonly fd: number;
}

function code(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

/** The lock (and next version) of a record file. */
export function lockPath(file: string): string {
  return `${file}.tmp`;
}

/** An exclusive create of the lock, stamped with this process: undefined when it exists. */
function create(path: string, mode: number): RecordLock | undefined {
  let fd: number;
  try {
    fd = fs.openSync(path, 'wx', mode);
  } catch (err) {
    if (code(err) === 'EEXIST') return undefined;
    throw err;
  }
  try {
    fs.futimesSync(fd, holderStamp(process.pid, HOST_TAG), Date.now() / 1000);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(path, { force: true });
    throw err;
  }
  return { path, fd };
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
 * Whether the lock at `path` (found taken) is held by a live holder: `missing` when it was
 * released meanwhile. A lock of a process of this host that is gone, one older than
 * {@link LOCK_STALE_MS}, or anything at its name but a file of ours (a link, a FIFO) is not.
 */
function isHeld(path: string): boolean | 'missing' {
  const opened = openOwnedFile(path);
  if (opened === 'missing') return 'missing';
  if (opened === 'foreign') return false;
  let stamp: bigint;
  let mtimeMs: number;
  try {
    const stat = fs.fstatSync(opened.fd, { bigint: true });
    stamp = stat.atimeNs;
    mtimeMs = Number(stat.mtimeMs);
  } finally {
    fs.closeSync(opened.fd);
  }
  const pid = Number(stamp / 1_000_000_000n);
  const tag = Math.floor(Number(stamp % 1_000_000_000n) / 1000);
  if (pid > 0 && pid < MAX_PID && tag === HOST_TAG && pid !== process.pid && isGone(pid))
    return false;
  const age = Date.now() - mtimeMs;
  return age <= LOCK_STALE_MS && age >= -LOCK_STALE_MS;
}

/**
 * Takes the lock of `file` now if it is free (or stale), creating its next version with `mode`:
 * undefined when a live holder has it (then wait with {@link waitForLock}).
 */
export function tryLock(file: string, mode = 0o600): RecordLock | undefined {
  const path = lockPath(file);
  for (let attempt = 0; attempt < 3; attempt++) {
    const lock = create(path, mode);
    if (lock) return lock;
    const held = isHeld(path);
    if (held === 'missing') continue; // released meanwhile: try again at once
    if (held) return undefined;
    // A dead holder's lock: remove it, then race for a new one. (Two processes that find the
    // same stale lock at the same moment could both take it over; that needs a crashed holder.)
    try {
      fs.unlinkSync(path);
    } catch (err) {
      if (code(err) !== 'ENOENT') throw err;
    }
  }
  return undefined;
}

/**
 * Takes the lock of `file`, trying again (with backoff, up to {@link LOCK_WAIT_MS}) while another
 * process holds it; other requests run meanwhile. Errors other than "held" (no space, read-only)
 * are thrown at once.
 */
export async function waitForLock(file: string, mode = 0o600): Promise<RecordLock> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (let wait = 1; ; wait = Math.min(wait * 2, 25)) {
    const lock = tryLock(file, mode);
    if (lock) return lock;
    if (Date.now() > deadline) {
      const err = new Error(`lock of ${file} held for more than ${LOCK_WAIT_MS} ms`);
      (err as NodeJS.ErrnoException).code = 'ELOCKED';
      throw err;
    }
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

/** True when the lock's name still holds this lock's file (not taken over as stale meanwhile). */
function stillMine(lock: RecordLock): boolean {
  const ino = fs.fstatSync(lock.fd).ino;
  return fs.lstatSync(lock.path, { throwIfNoEntry: false })?.ino === ino;
}

/**
 * Publishes the lock's file, written whole, as the record `file` (a rename: atomic, and the lock
 * is released with it); the lock is closed whatever happens. Fails, writing nothing, when the
 * lock was taken over meanwhile (its holder paused past the stale time): another holder's file
 * is never published for it.
 */
export function publish(lock: RecordLock, file: string): void {
  closeIfStillMine(lock, file);
  try {
    fs.renameSync(lock.path, file);
  } catch (err) {
    fs.rmSync(lock.path, { force: true });
    throw err;
  }
}

/**
 * {@link publish} with the rename made on the thread pool: settles once it is done. The lock is
 * held until then (its file is still there), and the checks before it are made at once.
 */
export function publishOffThread(lock: RecordLock, file: string): Promise<void> {
  closeIfStillMine(lock, file);
  return new Promise((resolve, reject) => {
    fs.rename(lock.path, file, (err) => {
      if (!err) resolve();
      else fs.rm(lock.path, { force: true }, () => reject(err));
    });
  });
}

/** Closes the lock's file; throws, writing nothing, when the lock was taken over meanwhile. */
function closeIfStillMine(lock: RecordLock, file: string): void {
  let mine = false;
  try {
    mine = stillMine(lock);
  } finally {
    fs.closeSync(lock.fd);
  }
  if (!mine) {
    const err = new Error(`lock of ${file} was taken over while held`);
    (err as NodeJS.ErrnoException).code = 'ELOCKED';
    throw err;
  }
}

/** Releases a lock without publishing: closes and removes its file (unless taken over). */
export function unlock(lock: RecordLock): void {
  try {
    if (stillMine(lock)) fs.unlinkSync(lock.path);
  } catch {
    // gone already: it went stale and was taken over
  } finally {
    fs.closeSync(lock.fd);
  }
}
