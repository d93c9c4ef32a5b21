/**
 * DiskStore: one file per session under a folder, as web.py's, made safe: files are named by
 * store key (a hash, never client text) in 256 shard folders, writes go to a temp file and
 * are renamed into place (never a torn file), read-modify-write holds a lock that other
 * processes respect (the temp file of the next version, see disk-lock.ts), and the access time is the file's mtime, which this store sets itself
 * (the kernel's atime is unreliable on relatime/noatime mounts; mtime changes only when we write
 * or touch).
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { Logger } from '../core/config.js';
import { ConfigError, StoreError } from '../core/errors.js';
import type {
  Awaitable,
  CleanupProgress,
  Store,
  StoreCapabilities,
  StoredSession,
  StoreLease,
  StoreMutator,
} from '../core/store.js';
import { publish, type RecordLock, tryLock, unlock, waitForLock } from './disk-lock.js';
import { takeFileLease } from './file-lease.js';
import { assertKey, isStoreKey, STORE_KEY_SOURCE } from './key.js';
import { KeyedMutex } from './keyed-mutex.js';
import { checkOwnedFolder, openOwnedFile, untrustedFolder } from './owned-files.js';
import { TimeSlice } from './time-slice.js';

/** Options of {@link DiskStore}. */
export interface DiskStoreOptions {
  /**
   * fsync each file and its folder before the rename is final. Default false, as web.py: a
   * killed process never leaves a torn file either way (temp file + rename), but without fsync a
   * power cut may lose the last writes. Set true where that matters more than write speed: the
   * flush is a synchronous call too, so each save then holds the event loop for as long as the
   * disk takes to flush (bench/fsops.ts: a few ms).
   */
  fsync?: boolean;
  /** File mode of session files. Default 0o600. */
  fileMode?: number;
  /**
   * @deprecated Ignored. Every small-file call of the store is synchronous: a read takes
   * microseconds and a save a few hundred, where the same calls through the thread pool cost
   * about twice the CPU (bench/fsops.ts). Still accepted, so that code passing it keeps working.
   */
  blocking?: boolean;
  /**
   * Take a lock other processes respect around each read-modify-write: the temp file of the
   * record's next version, made with an exclusive create (see disk-lock.ts). Default true. Set
   * false only when one process alone uses the folder: the per-key lock inside the process still
   * serialises its own requests (`capabilities.lock` then says `process`).
   */
  crossProcess?: boolean;
  /** Where a shard folder that cleanup cannot read is reported (once per folder). Default console. */
  logger?: Logger;
}

const SUFFIX = '.sess';
const TMP = '.tmp';
/** A file of the record of a store key: `<key>.sess` followed by `tail` (a regular expression). */
const recordFile = (tail = '') => new RegExp(String.raw`^${STORE_KEY_SOURCE}\.sess${tail}$`);
const KEY_FILE = recordFile();
const SHARD = /^[0-9a-f]{2}$/;
/** The store's own top-level entries: shard folders, the user index, quarantined records. */
const STORE_ENTRY = /^(?:[0-9a-f]{2}|users|quarantine)$/;
/** A store-wide lease file (see file-lease.ts): `<dir>/<name>.lease`. */
const LEASE = '.lease';
const LEASE_NAME = /^[a-z][a-z0-9-]{0,31}$/;
/** A lease file, or the file beside it that says when the last pass ended. */
const LEASE_FILE = /\.lease(?:\.ended)?$/;
/** A lock file of this store's records as earlier versions made them (now the temp file is it). */
const LOCK_FILE = recordFile(String.raw`\.lock`);
/**
 * A temp file of this store: `<key>.sess.<pid>.<tag>[.<n>].tmp` (a set or create) or
 * `<key>.sess.tmp` (an update's, which is also its lock: see disk-lock.ts). The only `.tmp`
 * cleanup removes, once an hour old.
 */
const TEMP_FILE = recordFile(String.raw`(?:\.\d+\.[0-9a-f]+(?:\.\d+)?)?\.tmp`);

/** Writes made by this process, for unique temp names without a call to the random source. */
let writes = 0;
/** A prefix unique to this process (a pid is reused only after the process is gone). */
const TEMP_TAG = `${process.pid}.${randomBytes(4).toString('hex')}`;

/** A temp file beside `file`, unique to this process and write (left-overs are swept by cleanup). */
function tempName(file: string): string {
  return `${file}.${TEMP_TAG}.${++writes}${TMP}`;
}

/** Creates or appends to a user index entry without following a symbolic link. */
const APPEND_FLAGS =
  fs.constants.O_WRONLY |
  fs.constants.O_CREAT |
  fs.constants.O_APPEND |
  (fs.constants.O_NOFOLLOW ?? 0);

/** A file's mtime (the record's access time), or +Infinity when it is gone or unreadable. */
function mtimeOf(file: string): number {
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
function atimeToSet(record: StoredSession): number | undefined {
  return Math.abs(Date.now() - record.atime) > 1000 ? record.atime / 1000 : undefined;
}

/** Flushes a folder's entries (a rename or link just made in it) to the disk. */
function syncFolder(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Makes the folder `dir` (mode 0700) unless it exists. Not `recursive` first: that option reports
 * any failure (a read-only file system's EROFS) as ENOENT. Only a missing parent (the store
 * folder removed meanwhile) is made again, recursively.
 */
function makeFolder(dir: string): void {
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    else if (code !== 'EEXIST') throw err;
  }
}

function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | null)?.code === 'ENOENT';
}

/**
 * Stores each session in its own file below `dir` (created private, mode 0700, if missing).
 * @throws ConfigError when `dir` is not this user's, group or others can write to it, or a folder
 * above it lets another user replace it
 *
 * @example
 * const store = new DiskStore('sessions');
 */
export class DiskStore implements Store {
  readonly kind = 'disk';
  readonly capabilities: StoreCapabilities;
  /** Absolute path of the folder. */
  readonly dir: string;
  readonly #fsync: boolean;
  readonly #crossProcess: boolean;
  readonly #mode: number;
  readonly #mutex = new KeyedMutex();
  /** Folders of the store checked (real folders of this user) and known to exist. */
  readonly #shards = new Set<string>();
  readonly #logger: Logger;
  /** Shard folders cleanup could not read, reported once each. */
  readonly #unreadable = new Set<string>();

  constructor(dir: string, options: DiskStoreOptions = {}) {
    if (typeof dir !== 'string' || dir.length === 0)
      throw new ConfigError('DiskStore needs a folder path');
    this.dir = path.resolve(dir);
    this.#fsync = options.fsync ?? false;
    this.#crossProcess = options.crossProcess ?? true;
    this.capabilities = {
      lock: this.#crossProcess ? 'cross-process' : 'process',
      nativeTtl: false,
      gatherWrites: true,
    };
    this.#mode = options.fileMode ?? 0o600;
    this.#logger = options.logger ?? {
      warn: (message, error) =>
        console.warn(message, error instanceof Error ? error.message : (error ?? '')),
    };
    let problem: string | undefined;
    try {
      if (!fs.existsSync(this.dir)) {
        fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
        // Private whatever the umask: the store created it.
        fs.chmodSync(this.dir, 0o700);
      }
      // A file written here by another local user would load as a session of theirs.
      problem = untrustedFolder(this.dir);
    } catch (err) {
      throw new StoreError(this.kind, `cannot use folder ${this.dir}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    if (problem) throw new ConfigError(`DiskStore: ${problem}`);
  }

  /**
   * Checks a folder of the store (a shard, `users`, `quarantine`) once per process: a real folder
   * of this user (never a symbolic link, which would send records outside the store) that only
   * its owner can write to. With `make`, a missing one is made; else false when it is missing.
   * Only this user can write in the store folder (checked at start), so a folder checked once
   * stays what it was.
   */
  #ownFolder(dir: string, make: boolean): boolean {
    if (this.#shards.has(dir)) return true;
    try {
      if (make) makeFolder(dir);
      const { missing, problem } = checkOwnedFolder(dir);
      if (problem) throw new StoreError(this.kind, problem);
      if (missing) {
        if (make) throw new StoreError(this.kind, `${dir} was removed as it was made`);
        return false;
      }
    } catch (err) {
      this.#fail(make ? 'write' : 'read', err);
    }
    this.#shards.add(dir);
    return true;
  }

  #shard(key: string): string {
    return path.join(this.dir, key.slice(0, 2));
  }

  /** Path of the file of `key`. The key is checked: no input can name a path outside the folder. */
  pathOf(key: string): string {
    assertKey(key, this.kind);
    return path.join(this.#shard(key), key + SUFFIX);
  }

  #fail(op: string, err: unknown): never {
    if (err instanceof StoreError) throw err; // says what failed already
    throw new StoreError(this.kind, `${op} failed in ${this.dir}: ${(err as Error).message}`, {
      cause: err,
    });
  }

  // The record methods make synchronous calls and answer at once (plain values), so a request's
  // load and save run without a promise; failures come back as rejected promises. bench/fsops.ts:
  // a save (lock = temp file, read, write, rename) costs about half the CPU of the same calls
  // through the thread pool, and a read a few µs against a hundred.

  get(key: string): Awaitable<StoredSession | undefined> {
    try {
      const file = this.pathOf(key);
      if (!this.#ownFolder(this.#shard(key), false)) return undefined;
      return this.#read(file);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * One open, fstat, read and close, in a shard folder already checked. Anything at the record's
   * name but a regular file of this user (a link, a FIFO, a folder) is no record: never followed,
   * never waited on.
   */
  #read(file: string): StoredSession | undefined {
    let opened: ReturnType<typeof openOwnedFile>;
    try {
      opened = openOwnedFile(file);
    } catch (err) {
      this.#fail('read', err);
    }
    if (typeof opened === 'string') return undefined;
    try {
      return { data: fs.readFileSync(opened.fd, 'utf8'), atime: opened.stat.mtimeMs };
    } catch (err) {
      this.#fail('read', err);
    } finally {
      fs.closeSync(opened.fd);
    }
  }

  set(key: string, record: StoredSession): Awaitable<void> {
    try {
      this.#write(key, this.pathOf(key), record);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Writes the record only if there is none: the temp file is linked to the final name (an
   * exclusive create, atomic on every POSIX file system; never a rename over a record). False
   * when the name is taken.
   */
  create(key: string, record: StoredSession): Awaitable<boolean> {
    try {
      return this.#write(key, this.pathOf(key), record, true);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Writes `record` to a temp file beside `file` (flushed with `fsync`), then renames it over
   * `file`, or with `exclusive` links it to `file` (false when that name is taken). The user index
   * entry is made first, so it is never missing.
   */
  #write(key: string, file: string, record: StoredSession, exclusive = false): boolean {
    const shard = this.#shard(key);
    const tmp = tempName(file);
    try {
      this.#ensureShard(key);
      if (record.user !== undefined) this.#mark(record.user, key);
      const fd = fs.openSync(tmp, 'wx', this.#mode);
      try {
        this.#fill(fd, record);
      } finally {
        fs.closeSync(fd);
      }
      if (exclusive) {
        try {
          fs.linkSync(tmp, file);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
          return false;
        } finally {
          fs.rmSync(tmp, { force: true });
        }
      } else fs.renameSync(tmp, file);
      if (this.#fsync) syncFolder(shard);
    } catch (err) {
      try {
        fs.rmSync(tmp, { force: true });
      } catch {
        // the write failed already; that error is the one to report
      }
      if (isNotFound(err)) this.#shards.delete(shard);
      this.#fail('write', err);
    }
    return true;
  }

  /**
   * Writes the record into the open temp file `fd` (flushed with `fsync`), and with `setTime`
   * its access time ({@link atimeToSet}) as the file's mtime.
   */
  #fill(fd: number, record: StoredSession, setTime = true): void {
    fs.writeFileSync(fd, record.data, 'utf8');
    if (this.#fsync) fs.fsyncSync(fd);
    const when = atimeToSet(record);
    if (setTime && when !== undefined) fs.futimesSync(fd, when, when);
  }

  update(key: string, mutator: StoreMutator): Awaitable<StoredSession | undefined> {
    try {
      const file = this.pathOf(key);
      // At once when nothing else of this process holds the record and its lock is free.
      const now = this.#mutex.busy(key) ? undefined : this.#lockNow(key, file);
      if (now !== undefined) return this.#mutate(file, key, mutator, now);
      // Else in turn, waiting for the lock without stalling other requests.
      return this.#mutex.run(key, async () =>
        this.#mutate(file, key, mutator, await this.#lock(key, file)),
      );
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Takes the lock of `file` if it is free now: the lock, or null without `crossProcess` (this
   * process's per-key mutex is all it needs); undefined when another process holds it.
   */
  #lockNow(key: string, file: string): RecordLock | null | undefined {
    this.#ensureShard(key); // the lock file is made in it
    if (!this.#crossProcess) return null;
    try {
      return tryLock(file, this.#mode);
    } catch (err) {
      if (isNotFound(err)) this.#shards.delete(this.#shard(key)); // made again next time
      this.#fail('lock', err);
    }
  }

  /** Takes the lock of `file`, waiting while another process holds it. */
  async #lock(key: string, file: string): Promise<RecordLock | null> {
    const now = this.#lockNow(key, file);
    if (now !== undefined) return now;
    try {
      return await waitForLock(file, this.#mode);
    } catch (err) {
      this.#fail('lock', err);
    }
  }

  /**
   * Reads, mutates and writes `file` holding `lock` (null: none), released here. A new version is
   * written into the lock's own file and renamed over the record, which releases the lock too.
   */
  #mutate(
    file: string,
    key: string,
    mutator: StoreMutator,
    lock: RecordLock | null,
  ): StoredSession | undefined {
    let held = lock;
    try {
      const current = this.#read(file);
      const next = mutator(current);
      if (next === undefined) return current;
      if (next === null) {
        this.#unlink(file);
        return undefined;
      }
      if (!held) {
        this.#write(key, file, next);
        return next;
      }
      try {
        if (next.user !== undefined) this.#mark(next.user, key);
        this.#fill(held.fd, next, false);
        const when = atimeToSet(next);
        // An access time far from now (a copied record) goes on before the rename, so a kill
        // never leaves the new data with the wrong time; the lock's stamp (its atime) stays. Its
        // old mtime makes the lock look stale only until the rename just below.
        if (when !== undefined)
          fs.futimesSync(
            held.fd,
            Number(fs.fstatSync(held.fd, { bigint: true }).atimeNs) / 1e9,
            when,
          );
        held = null; // publish releases it, whatever happens
        publish(lock!, file);
        if (this.#fsync) syncFolder(this.#shard(key));
      } catch (err) {
        this.#fail('write', err);
      }
      return next;
    } finally {
      if (held) unlock(held);
    }
  }

  #unlink(file: string): void {
    try {
      fs.unlinkSync(file);
    } catch (err) {
      if (!isNotFound(err)) this.#fail('delete', err);
    }
  }

  #ensureShard(key: string): void {
    this.#ownFolder(this.#shard(key), true);
  }

  /** Folder of the user index entries of `user` (named by a hash: any user id is safe). */
  #userDir(user: string): string {
    return path.join(this.dir, 'users', createHash('sha256').update(user).digest('hex'));
  }

  /** Adds `key` to the index of `user`, before the record is written (so it is never missing). */
  #mark(user: string, key: string): void {
    const dir = this.#userDir(user);
    this.#ownFolder(path.dirname(dir), true);
    makeFolder(dir);
    fs.closeSync(fs.openSync(path.join(dir, key), APPEND_FLAGS, this.#mode));
  }

  /**
   * Keys of the sessions bound to `user`: one empty file per session in
   * `<dir>/users/<sha256(user)>/`. Entries whose record is gone are removed as they are found.
   */
  async userSessions(user: string): Promise<string[]> {
    const dir = this.#userDir(user);
    let names: string[];
    try {
      if (!this.#ownFolder(path.dirname(dir), false)) return [];
      names = await fsp.readdir(dir);
    } catch (err) {
      if (isNotFound(err)) return [];
      this.#fail('list user', err);
    }
    const keys: string[] = [];
    for (const name of names) {
      if (!isStoreKey(name)) continue;
      try {
        await fsp.access(this.pathOf(name));
        keys.push(name);
      } catch {
        await fsp.rm(path.join(dir, name), { force: true }).catch(() => {});
      }
    }
    return keys;
  }

  /** Removes user index entries whose session record no longer exists. */
  async #sweepUsers(slice: TimeSlice): Promise<void> {
    const root = path.join(this.dir, 'users');
    if (!this.#ownFolder(root, false)) return;
    for (const user of this.#list(root)) {
      if (!user.isDirectory()) continue;
      const dir = path.join(root, user.name);
      for (const entry of this.#list(dir)) {
        if (slice.due()) await slice.yield();
        if (isStoreKey(entry.name) && !fs.existsSync(this.pathOf(entry.name)))
          fs.rmSync(path.join(dir, entry.name), { force: true });
      }
      try {
        fs.rmdirSync(dir); // only when empty
      } catch {
        // not empty: sessions of this user are alive
      }
    }
  }

  touch(key: string, atime: number): Awaitable<void> {
    try {
      const file = this.pathOf(key);
      try {
        fs.lutimesSync(file, atime / 1000, atime / 1000);
      } catch (err) {
        if (!isNotFound(err)) this.#fail('touch', err);
      }
    } catch (err) {
      return Promise.reject(err);
    }
  }

  delete(key: string): Awaitable<void> {
    try {
      this.#unlink(this.pathOf(key));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Removes records idle past `maxIdleSeconds` (their mtime), and temp files left by a process
   * killed mid-write. Synchronous calls in slices of a few ms (see time-slice.ts): a pass over a
   * folder of any size stalls requests for one slice at most. Entries that are not the store's
   * own (a stray file or folder, a foreign `.tmp`) are counted in `skipped` and left as they are.
   */
  async cleanup(maxIdleSeconds: number, onProgress?: CleanupProgress): Promise<number> {
    const counts = { scanned: 0, removed: 0, skipped: 0, tempRemoved: 0 };
    const cutoff = Date.now() - maxIdleSeconds * 1000;
    const tmpCutoff = Date.now() - 3600_000;
    const slice = new TimeSlice();
    const top = this.#list(this.dir);
    for (const e of top)
      if (!(e.isDirectory() ? STORE_ENTRY.test(e.name) : LEASE_FILE.test(e.name))) counts.skipped++;
    for (const shard of top) {
      if (!(shard.isDirectory() && SHARD.test(shard.name))) continue;
      const shardDir = path.join(this.dir, shard.name);
      const entries = this.#listShard(shardDir);
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
          const outcome = this.#expire(entry.name.slice(0, 64), file, cutoff);
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
    await this.#sweepUsers(slice);
    onProgress?.({ ...counts });
    return counts.removed;
  }

  /**
   * Entries of a shard folder, or undefined when it is not a real folder of this user or cannot be
   * read (another user's, mode 000): reported once, then skipped by every pass, so that one such
   * folder never stops the cleanup of the others.
   */
  #listShard(dir: string): fs.Dirent[] | undefined {
    try {
      const { problem } = checkOwnedFolder(dir);
      if (problem) throw new Error(problem);
      return fs.readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      if (isNotFound(err)) return [];
      if (!this.#unreadable.has(dir)) {
        this.#unreadable.add(dir);
        this.#logger.warn(
          `[websession] [disk] cleanup skips ${dir}, which it cannot use (${(err as Error).message}): records in it never expire until it is fixed or removed`,
        );
      }
      return undefined;
    }
  }

  /** Entries of a folder of the store (none when it is gone). */
  #list(dir: string): fs.Dirent[] {
    try {
      return fs.readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      if (isNotFound(err)) return [];
      this.#fail('cleanup', err);
    }
  }

  /**
   * Removes the record of `key` if its mtime (its access time) is before `cutoff`, checked again
   * under its lock, so a request that touched it meanwhile keeps it. A record in use now (by this
   * process or, by its lock, another) is not expired: it is left for the next pass.
   */
  #expire(key: string, file: string, cutoff: number): 'removed' | 'kept' | 'skipped' {
    if (mtimeOf(file) >= cutoff || this.#mutex.busy(key)) return 'kept';
    let lock: RecordLock | undefined;
    try {
      if (this.#crossProcess) {
        lock = tryLock(file, this.#mode);
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

  /** Takes the store-wide lease `name` (a file `<dir>/<name>.lease`), e.g. one cleanup at a time. */
  async lease(name: string, ttlMs: number): Promise<StoreLease | undefined> {
    if (!LEASE_NAME.test(name)) throw new ConfigError(`bad lease name ${JSON.stringify(name)}`);
    try {
      return takeFileLease(path.join(this.dir, `${name}${LEASE}`), ttlMs);
    } catch (err) {
      this.#fail('lease', err);
    }
  }

  async #shardNames(): Promise<string[]> {
    try {
      // Real folders only: a shard that is a symbolic link is never followed.
      return (await fsp.readdir(this.dir, { withFileTypes: true }))
        .filter((e) => e.isDirectory() && SHARD.test(e.name))
        .map((e) => e.name);
    } catch (err) {
      if (isNotFound(err)) return [];
      this.#fail('list', err);
    }
  }

  async *keys(): AsyncIterable<string> {
    for (const shard of await this.#shardNames()) {
      let entries: fs.Dirent[];
      try {
        // Another user's shard holds no records of ours (reads refuse it too).
        if (checkOwnedFolder(path.join(this.dir, shard)).problem) continue;
        entries = await fsp.readdir(path.join(this.dir, shard), { withFileTypes: true });
      } catch (err) {
        if (isNotFound(err)) continue;
        this.#fail('list', err);
      }
      for (const e of entries) if (e.isFile() && KEY_FILE.test(e.name)) yield e.name.slice(0, 64);
    }
  }

  /** Moves a corrupt record to `<dir>/quarantine/<key>.<time>.sess`, where cleanup never looks. */
  async quarantine(key: string): Promise<void> {
    const file = this.pathOf(key);
    const dest = path.join(this.dir, 'quarantine');
    try {
      this.#ownFolder(dest, true);
      await fsp.rename(file, path.join(dest, `${key}.${Date.now()}${SUFFIX}`));
    } catch (err) {
      if (!isNotFound(err)) this.#fail('quarantine', err);
    }
  }

  async close(): Promise<void> {}
}
