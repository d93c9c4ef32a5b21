/**
 * DiskStore: one file per session under a folder, as web.py's, made safe: files are named by
 * store key (a hash, never client text) in 256 shard folders, writes go to a unique temp file
 * and are renamed into place (never a torn file), read-modify-write holds a lock that other
 * processes respect, and the access time is the file's mtime, which this store sets itself
 * (the kernel's atime is unreliable on relatime/noatime mounts; mtime changes only when we write
 * or touch).
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
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
import { tryLock, unlock, waitForLock } from './disk-lock.js';
import { takeFileLease } from './file-lease.js';
import { assertKey, isStoreKey, STORE_KEY_SOURCE } from './key.js';
import { KeyedMutex } from './keyed-mutex.js';
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
   * Take a lock other processes respect (a lock folder per record, see disk-lock.ts) around each
   * read-modify-write. Default true. Set false only when one process alone uses the folder: the
   * per-key lock inside the process still serialises its own requests, and each save skips the
   * lock folder's mkdir and rmdir (`capabilities.lock` then says `process`).
   */
  crossProcess?: boolean;
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
/** A lock file of this store's records (see disk-lock.ts). */
const LOCK_FILE = recordFile(String.raw`\.lock`);
/** A temp file of this store (`<key>.sess.<pid>.<tag>[.<n>].tmp`): the only `.tmp` cleanup removes. */
const TEMP_FILE = recordFile(String.raw`\.\d+\.[0-9a-f]+(?:\.\d+)?\.tmp`);

/** Writes made by this process, for unique temp names without a call to the random source. */
let writes = 0;
/** A prefix unique to this process (a pid is reused only after the process is gone). */
const TEMP_TAG = `${process.pid}.${randomBytes(4).toString('hex')}`;

/** A temp file beside `file`, unique to this process and write (left-overs are swept by cleanup). */
function tempName(file: string): string {
  return `${file}.${TEMP_TAG}.${++writes}${TMP}`;
}

/** Opens a record for reading without following a symbolic link (where the OS has O_NOFOLLOW). */
const READ_FLAGS = fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0);

/** Creates or appends to a user index entry without following a symbolic link. */
const APPEND_FLAGS =
  fs.constants.O_WRONLY |
  fs.constants.O_CREAT |
  fs.constants.O_APPEND |
  (fs.constants.O_NOFOLLOW ?? 0);

/** The error of opening a symbolic link with O_NOFOLLOW. */
function isLink(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | null)?.code === 'ELOOP';
}

/** A file mode as `0755`. */
function modeText(mode: number): string {
  return `0${(mode & 0o777).toString(8).padStart(3, '0')}`;
}

/** A file's mtime (the record's access time), or +Infinity when it is gone or unreadable. */
function mtimeOf(file: string): number {
  try {
    return fs.lstatSync(file, { throwIfNoEntry: false })?.mtimeMs ?? Number.POSITIVE_INFINITY;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
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

function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | null)?.code === 'ENOENT';
}

/**
 * Stores each session in its own file below `dir` (created private, mode 0700, if missing).
 * @throws ConfigError when `dir` exists and group or others can write to it
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
  readonly #shards = new Set<string>();

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
    let existing: fs.Stats | undefined;
    try {
      existing = fs.statSync(this.dir);
    } catch (err) {
      if (!isNotFound(err))
        throw new StoreError(
          this.kind,
          `cannot read folder ${this.dir}: ${(err as Error).message}`,
          {
            cause: err,
          },
        );
    }
    if (existing) {
      // A file written here by another local user would load as a session of theirs.
      if (!existing.isDirectory()) throw new ConfigError(`DiskStore: ${this.dir} is not a folder`);
      if ((existing.mode & 0o022) !== 0)
        throw new ConfigError(
          `DiskStore: folder ${this.dir} has mode ${modeText(existing.mode)}: others can write to it, and a session file written there would be trusted. Make it private (chmod 700 ${this.dir}) or give another folder`,
        );
      return;
    }
    try {
      fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      // Private whatever the umask: the store created it.
      fs.chmodSync(this.dir, 0o700);
    } catch (err) {
      throw new StoreError(
        this.kind,
        `cannot create folder ${this.dir}: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }

  /**
   * Checks a shard folder just made or found: a real folder (never a symbolic link, which would
   * send records outside the store) that only its owner can write to.
   */
  #checkShard(shard: string): void {
    let stat: fs.Stats;
    try {
      stat = fs.lstatSync(shard);
    } catch (err) {
      this.#fail('write', err);
    }
    if (stat.isSymbolicLink() || !stat.isDirectory())
      throw new StoreError(
        this.kind,
        `${shard} is not a folder (a symbolic link?): refused, the store never follows a link inside ${this.dir}`,
      );
    if ((stat.mode & 0o022) !== 0)
      throw new StoreError(
        this.kind,
        `${shard} has mode ${modeText(stat.mode)}: others can write to it; refused`,
      );
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
    throw new StoreError(this.kind, `${op} failed in ${this.dir}: ${(err as Error).message}`, {
      cause: err,
    });
  }

  // The record methods make synchronous calls and answer at once (plain values), so a request's
  // load and save run without a promise; failures come back as rejected promises. bench/fsops.ts:
  // a save (lock, read, temp file, rename, unlock) costs about half the CPU of the same calls
  // through the thread pool, and a read a few µs against a hundred.

  get(key: string): Awaitable<StoredSession | undefined> {
    try {
      return this.#read(this.pathOf(key));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** One open, fstat, read and close. */
  #read(file: string): StoredSession | undefined {
    let fd: number;
    try {
      fd = fs.openSync(file, READ_FLAGS);
    } catch (err) {
      if (isNotFound(err) || isLink(err)) return undefined;
      this.#fail('read', err);
    }
    try {
      const stat = fs.fstatSync(fd);
      return { data: fs.readFileSync(fd, 'utf8'), atime: stat.mtimeMs };
    } catch (err) {
      this.#fail('read', err);
    } finally {
      fs.closeSync(fd);
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
        fs.writeFileSync(fd, record.data, 'utf8');
        if (this.#fsync) fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      // The file's mtime is the record's access time. A file just written has mtime "now", so
      // set it only for a record whose atime is not now (a migration, a test).
      if (Math.abs(Date.now() - record.atime) > 1000) {
        const when = record.atime / 1000;
        fs.utimesSync(tmp, when, when);
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

  update(key: string, mutator: StoreMutator): Awaitable<StoredSession | undefined> {
    try {
      const file = this.pathOf(key);
      // At once when nothing else of this process holds the record and its lock is free.
      if (!this.#mutex.busy(key) && this.#lockNow(key, file))
        return this.#mutate(file, key, mutator);
      // Else in turn, waiting for the lock without stalling other requests.
      return this.#mutex.run(key, async () => {
        await this.#lock(key, file);
        return this.#mutate(file, key, mutator);
      });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Takes the lock of `file` if it is free now (always, without `crossProcess`). */
  #lockNow(key: string, file: string): boolean {
    this.#ensureShard(key); // the lock file is made in it
    if (!this.#crossProcess) return true;
    try {
      return tryLock(file);
    } catch (err) {
      this.#fail('lock', err);
    }
  }

  /** Takes the lock of `file`, waiting while another process holds it. */
  async #lock(key: string, file: string): Promise<void> {
    if (this.#lockNow(key, file)) return;
    try {
      await waitForLock(file);
    } catch (err) {
      this.#fail('lock', err);
    }
  }

  /** Reads, mutates and writes `file`, whose lock (if any) is held, and released here. */
  #mutate(file: string, key: string, mutator: StoreMutator): StoredSession | undefined {
    try {
      const current = this.#read(file);
      const next = mutator(current);
      if (next === undefined) return current;
      if (next === null) {
        this.#unlink(file);
        return undefined;
      }
      this.#write(key, file, next);
      return next;
    } finally {
      if (this.#crossProcess) unlock(file);
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
    const shard = this.#shard(key);
    if (this.#shards.has(shard)) return;
    try {
      fs.mkdirSync(shard, { recursive: true, mode: 0o700 });
    } catch (err) {
      this.#fail('write', err);
    }
    this.#checkShard(shard);
    this.#shards.add(shard);
  }

  /** Folder of the user index entries of `user` (named by a hash: any user id is safe). */
  #userDir(user: string): string {
    return path.join(this.dir, 'users', createHash('sha256').update(user).digest('hex'));
  }

  /** Adds `key` to the index of `user`, before the record is written (so it is never missing). */
  #mark(user: string, key: string): void {
    const dir = this.#userDir(user);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
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
      if (!(e.isDirectory() ? STORE_ENTRY.test(e.name) : e.name.endsWith(LEASE))) counts.skipped++;
    for (const shard of top) {
      if (!(shard.isDirectory() && SHARD.test(shard.name))) continue;
      const shardDir = path.join(this.dir, shard.name);
      for (const entry of this.#list(shardDir)) {
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
    try {
      if (this.#crossProcess && !tryLock(file)) return 'kept';
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
      if (this.#crossProcess) unlock(file);
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
      await fsp.mkdir(dest, { recursive: true, mode: 0o700 });
      await fsp.rename(file, path.join(dest, `${key}.${Date.now()}${SUFFIX}`));
    } catch (err) {
      if (!isNotFound(err)) this.#fail('quarantine', err);
    }
  }

  async close(): Promise<void> {}
}
