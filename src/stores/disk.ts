/**
 * DiskStore: one file per session under a folder, as web.py's, made safe: files are named by
 * store key (a hash, never client text) in 256 shard folders, writes go to a temp file and
 * are renamed into place (never a torn file), read-modify-write holds a lock that other
 * processes respect (the temp file of the next version, see disk-lock.ts), and the access time is the file's mtime, which this store sets itself
 * (the kernel's atime is unreliable on relatime/noatime mounts; mtime changes only when we write
 * or touch).
 *
 * Beside this file: the record files' names and reads (disk-files.ts), the checked folders and
 * key listing (disk-folders.ts), the user index (disk-users.ts), the cleanup pass
 * (disk-cleanup.ts), the record lock (disk-lock.ts) and the cleanup lease (file-lease.ts).
 * @module
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { isPromise, then } from '../core/awaitable.js';
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
import { cleanupPass } from './disk-cleanup.js';
import {
  atimeToSet,
  diskFailure,
  isNotFound,
  LEASE,
  LEASE_NAME,
  readRecord,
  recordPath,
  SUFFIX,
  shardOf,
  syncFolder,
  tempName,
} from './disk-files.js';
import { StoreFolders } from './disk-folders.js';
import {
  publish,
  publishOffThread,
  type RecordLock,
  tryLock,
  unlock,
  waitForLock,
} from './disk-lock.js';
import { DiskUserIndex } from './disk-users.js';
import { takeFileLease } from './file-lease.js';
import { assertKey } from './key.js';
import { KeyedMutex } from './keyed-mutex.js';
import { discardsFreedBlocks } from './mount-options.js';
import { untrustedFolder } from './owned-files.js';
import { booleanOption, fileModeOption, optionsObject } from './store-options.js';

/** The mutator of a delete: removes the record when there is one. */
const removeRecord: StoreMutator = (current) => (current === undefined ? undefined : null);

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
  /**
   * Rename a saved record over the old one on the thread pool instead of on the event loop.
   * Default: true when the folder's file system is mounted with `discard`, false elsewhere. There
   * the rename frees the old file's blocks with a discard that the kernel sends the device and
   * waits for, a wait that would stall every request of the process; elsewhere a hop to the
   * thread pool costs more than it saves.
   * Applies to the locked read-modify-write of `update`, the save of every session.
   */
  renameOffThread?: boolean;
  /** Where a shard folder that cleanup cannot read is reported (once per folder). Default console. */
  logger?: Logger;
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
  readonly #folders: StoreFolders;
  readonly #users: DiskUserIndex;
  readonly #renameOffThread: boolean;

  constructor(dir: string, options?: DiskStoreOptions) {
    if (typeof dir !== 'string' || dir.length === 0)
      throw new ConfigError('DiskStore needs a folder path');
    const opts = optionsObject('DiskStore', options);
    // Checked before the folder is made; `blocking` is ignored, the other's default needs the folder.
    booleanOption('DiskStore', 'blocking', opts.blocking, false);
    booleanOption('DiskStore', 'renameOffThread', opts.renameOffThread, false);
    this.dir = path.resolve(dir);
    this.#fsync = booleanOption('DiskStore', 'fsync', opts.fsync, false);
    this.#crossProcess = booleanOption('DiskStore', 'crossProcess', opts.crossProcess, true);
    this.capabilities = {
      lock: this.#crossProcess ? 'cross-process' : 'process',
      nativeTtl: false,
      gatherWrites: true,
    };
    this.#mode = fileModeOption('DiskStore', opts.fileMode);
    const logger: Logger = opts.logger ?? {
      warn: (message, error) =>
        console.warn(message, error instanceof Error ? error.message : (error ?? '')),
    };
    this.#folders = new StoreFolders(this.dir, logger);
    this.#users = new DiskUserIndex(this.dir, this.#mode, this.#folders);
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
    this.#renameOffThread = opts.renameOffThread ?? discardsFreedBlocks(this.dir);
  }

  #shard(key: string): string {
    return shardOf(this.dir, key);
  }

  /** Path of the file of `key`. The key is checked: no input can name a path outside the folder. */
  pathOf(key: string): string {
    assertKey(key, this.kind);
    return recordPath(this.dir, key);
  }

  #fail(op: string, err: unknown): never {
    diskFailure(this.dir, op, err);
  }

  // The record methods make synchronous calls and answer at once (plain values), so a request's
  // load and save run without a promise; failures come back as rejected promises. bench/fsops.ts:
  // a save (lock = temp file, read, write, rename) costs about half the CPU of the same calls
  // through the thread pool, and a read a few µs against a hundred. The one exception is the
  // rename of an update with `renameOffThread` (a `discard` mount): the kernel waits on the device
  // there, and the event loop should not wait with it.

  get(key: string): Awaitable<StoredSession | undefined> {
    try {
      const file = this.pathOf(key);
      if (!this.#folders.own(this.#shard(key), false)) return undefined;
      return this.#read(file);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** The record in `file`, in a shard folder already checked (see {@link readRecord}). */
  #read(file: string): StoredSession | undefined {
    try {
      return readRecord(file);
    } catch (err) {
      this.#fail('read', err);
    }
  }

  set(key: string, record: StoredSession): Awaitable<void> {
    try {
      const file = this.pathOf(key);
      return this.#inTurn(key, () => {
        this.#write(key, file, record);
      });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Runs `write` now, or after the update of `key` still under way in this process (a rename on
   * the thread pool), which would otherwise land after it and undo it.
   */
  #inTurn(key: string, write: () => void): Awaitable<void> {
    if (this.#mutex.busy(key)) return this.#mutex.run(key, async () => write());
    write();
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
      if (record.user !== undefined) this.#users.mark(record.user, key);
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
      if (isNotFound(err)) this.#folders.forget(shard);
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
      if (now !== undefined) {
        const result = this.#mutate(file, key, mutator, now);
        // A rename still under way on the thread pool: the next update of the key waits for it.
        return isPromise(result) ? this.#mutex.run(key, () => result) : result;
      }
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
      if (isNotFound(err)) this.#folders.forget(this.#shard(key)); // made again next time
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
  ): Awaitable<StoredSession | undefined> {
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
        if (next.user !== undefined) this.#users.mark(next.user, key);
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
        // Not with an old mtime: the lock would look stale to other processes while it waits.
        if (this.#renameOffThread && when === undefined)
          return publishOffThread(lock!, file).then(
            () => this.#published(key, next),
            (err: unknown) => this.#fail('write', err),
          );
        publish(lock!, file);
        return this.#published(key, next);
      } catch (err) {
        this.#fail('write', err);
      }
    } finally {
      if (held) unlock(held);
    }
  }

  /** `next`, once renamed into place (its folder flushed with `fsync`). */
  #published(key: string, next: StoredSession): StoredSession {
    try {
      if (this.#fsync) syncFolder(this.#shard(key));
    } catch (err) {
      this.#fail('write', err);
    }
    return next;
  }

  #unlink(file: string): void {
    try {
      fs.unlinkSync(file);
    } catch (err) {
      if (!isNotFound(err)) this.#fail('delete', err);
    }
  }

  #ensureShard(key: string): void {
    this.#folders.own(this.#shard(key), true);
  }

  /**
   * Keys of the sessions bound to `user`: one empty file per session in
   * `<dir>/users/<sha256(user)>/`. Entries whose record is gone are removed as they are found.
   */
  async userSessions(user: string): Promise<string[]> {
    return this.#users.sessions(user);
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

  /**
   * Removes the record under its lock, as an update would: an update of another process that
   * read the record before the delete cannot rename it back afterwards (a killed session stays
   * dead), and one that comes after finds it gone.
   */
  delete(key: string): Awaitable<void> {
    try {
      assertKey(key, this.kind);
      // No shard folder, no record (and none is made for the lock), unless a write is under way.
      if (!this.#mutex.busy(key) && !this.#folders.own(this.#shard(key), false)) return undefined;
      return then(this.update(key, removeRecord), () => undefined);
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
    const scope = {
      dir: this.dir,
      folders: this.#folders,
      users: this.#users,
      crossProcess: this.#crossProcess,
      mode: this.#mode,
      busy: (key: string) => this.#mutex.busy(key),
    };
    return cleanupPass(scope, maxIdleSeconds, onProgress);
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

  async *keys(): AsyncIterable<string> {
    yield* this.#folders.keys();
  }

  /** Moves a corrupt record to `<dir>/quarantine/<key>.<time>.sess`, where cleanup never looks. */
  async quarantine(key: string): Promise<void> {
    const file = this.pathOf(key);
    const dest = path.join(this.dir, 'quarantine');
    try {
      this.#folders.own(dest, true);
      await fsp.rename(file, path.join(dest, `${key}.${Date.now()}${SUFFIX}`));
    } catch (err) {
      if (!isNotFound(err)) this.#fail('quarantine', err);
    }
  }

  async close(): Promise<void> {}
}
