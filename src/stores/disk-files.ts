/**
 * DiskStore's files: the names it gives them (a record `<shard>/<key>.sess`, its temp files and
 * locks, the store-wide leases), and reading a record without following a link. Every name is
 * made from a store key (a hash, never client text), so no input can name a path outside the
 * store folder.
 * @module
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { StoreError } from '../core/errors.js';
import type { StoredSession } from '../core/store.js';
import { STORE_KEY_SOURCE } from './key.js';
import { openOwnedFile } from './owned-files.js';

export const SUFFIX = '.sess';
const TMP = '.tmp';
/** A file of the record of a store key: `<key>.sess` followed by `tail` (a regular expression). */
const recordFile = (tail = '') => new RegExp(String.raw`^${STORE_KEY_SOURCE}\.sess${tail}$`);
export const KEY_FILE = recordFile();
export const SHARD = /^[0-9a-f]{2}$/;
/** The store's own top-level entries: shard folders, the user index, quarantined records. */
export const STORE_ENTRY = /^(?:[0-9a-f]{2}|users|quarantine)$/;
/** A store-wide lease file (see file-lease.ts): `<dir>/<name>.lease`. */
export const LEASE = '.lease';
export const LEASE_NAME = /^[a-z][a-z0-9-]{0,31}$/;
/** A lease file, or the file beside it that says when the last pass ended. */
export const LEASE_FILE = /\.lease(?:\.ended)?$/;
/** A lock file of this store's records as earlier versions made them (now the temp file is it). */
export const LOCK_FILE = recordFile(String.raw`\.lock`);
/**
 * A temp file of this store: `<key>.sess.<pid>.<tag>[.<n>].tmp` (a set or create) or
 * `<key>.sess.tmp` (an update's, which is also its lock: see disk-lock.ts). The only `.tmp`
 * cleanup removes, once an hour old.
 */
export const TEMP_FILE = recordFile(String.raw`(?:\.\d+\.[0-9a-f]+(?:\.\d+)?)?\.tmp`);

/** Writes made by this process, for unique temp names without a call to the random source. */
let writes = 0;
/** A prefix unique to this process (a pid is reused only after the process is gone). */
const TEMP_TAG = `${process.pid}.${randomBytes(4).toString('hex')}`;

/** A temp file beside `file`, unique to this process and write (left-overs are swept by cleanup). */
export function tempName(file: string): string {
  return `${file}.${TEMP_TAG}.${++writes}${TMP}`;
}

/** The shard folder of `key` in the store folder `dir`. */
export function shardOf(dir: string, key: string): string {
  return path.join(dir, key.slice(0, 2));
}

/** The record file of `key` (a store key, checked by the caller) in the store folder `dir`. */
export function recordPath(dir: string, key: string): string {
  return path.join(shardOf(dir, key), key + SUFFIX);
}

/** A file's mtime (the record's access time), or +Infinity when it is gone or unreadable. */
export function mtimeOf(file: string): number {
  try {
    return fs.lstatSync(file, { throwIfNoEntry: false })?.mtimeMs ?? Number.POSITIVE_INFINITY;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

/**
 * The record's access time (s), to set as its file's mtime, or undefined when it is now: a file
 * just written has mtime "now" already; other times come from a migration or a test.
 */
export function atimeToSet(record: StoredSession): number | undefined {
  return Math.abs(Date.now() - record.atime) > 1000 ? record.atime / 1000 : undefined;
}

/** Flushes a folder's entries (a rename or link just made in it) to the disk. */
export function syncFolder(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | null)?.code === 'ENOENT';
}

/** The StoreError for a failed operation `op` in the store folder `dir`. */
export function diskFailure(dir: string, op: string, err: unknown): never {
  if (err instanceof StoreError) throw err; // says what failed already
  throw new StoreError('disk', `${op} failed in ${dir}: ${(err as Error).message}`, {
    cause: err,
  });
}

/**
 * The record in `file` (in a shard folder already checked): one open, fstat, read and close.
 * Anything at the record's name but a regular file of this user (a link, a FIFO, a folder) is no
 * record: never followed, never waited on.
 */
export function readRecord(file: string): StoredSession | undefined {
  const opened = openOwnedFile(file);
  if (typeof opened === 'string') return undefined;
  try {
    return { data: readText(opened.fd, opened.stat.size), atime: opened.stat.mtimeMs };
  } finally {
    fs.closeSync(opened.fd);
  }
}

/**
 * The UTF-8 text of the open file `fd`, whose size its fstat gave: one read of one byte more than
 * that, which comes back short at the end of the file (a record file is renamed into place whole
 * and never written again, so its size does not change); reading to the end only if it grew.
 */
function readText(fd: number, size: number): string {
  const buffer = Buffer.allocUnsafe(size + 1);
  const read = fs.readSync(fd, buffer, 0, size + 1, null);
  if (read <= size) return buffer.toString('utf8', 0, read);
  return Buffer.concat([buffer, fs.readFileSync(fd)]).toString('utf8');
}
