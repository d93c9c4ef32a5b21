/**
 * ShelfStore: every session in one embedded key-value file, as web.py's ShelfStore keeps them in
 * one `shelve` file. The engine is LMDB (the `lmdb` package, an optional peer dependency loaded
 * on first use): a memory-mapped B+tree with copy-on-write pages, so a commit is all or nothing
 * (a process killed mid-write leaves the previous record readable) and several processes of one
 * machine share the file safely (one writer at a time, readers never blocked).
 *
 * Layout: named databases in the file, `websession:data` (store key → codec text) and
 * `websession:atime` (store key → ms since epoch). `touch` writes only the small atime entry, and
 * `cleanup` walks only the atime database, a slice at a time, never the data. The user index is
 * two more: `websession:user` (`<sha256(user)>:<store key>` → '1', read by a key-prefix range)
 * and `websession:owner` (store key → sha256(user), to unindex on delete and cleanup), written in
 * the same transaction as the record.
 * Records that failed to decode are moved to `websession:quarantine` (store key → codec text as
 * it was).
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, statfsSync } from 'node:fs';
import * as path from 'node:path';
import type { Database, RootDatabase } from 'lmdb';
import { ConfigError, StoreError, StoreUnavailableError } from '../core/errors.js';
import type * as S from '../core/store.js';
import { assertKey } from './key.js';
import { KeyedMutex } from './keyed-mutex.js';
import { loadOptional } from './optional.js';

/** Options of {@link ShelfStore}. */
export interface ShelfStoreOptions {
  /**
   * Skip flushing commits to disk. Default false: a commit is on disk when its promise resolves.
   * True is faster, and a killed process still loses nothing, but a power cut may lose (or on
   * some file systems corrupt) recent commits. For throwaway data only.
   */
  noSync?: boolean;
  /** File mode of a new file (and its lock file). Default 0o600. */
  fileMode?: number;
  /** Records examined per slice of `cleanup` (each slice is one write transaction). Default 1000. */
  cleanupBatch?: number;
}

interface Handles {
  env: RootDatabase;
  data: Database<string, string>;
  atimes: Database<number, string>;
  users: Database<string, string>;
  owners: Database<string, string>;
  quarantine: Database<string, string>;
  leases: Database<Lease, string>;
}

/**
 * A lease: its holder's token, when it was taken or last renewed and for how long (ms; `until`
 * is 0 once released), and when the last pass ended (StoreLease.lastPassEndedAt), kept across
 * holders.
 */
interface Lease {
  token: string;
  until: number;
  renewed?: number;
  ttl?: number;
  ended?: number | undefined;
}

const DATA_DB = 'websession:data';
const ATIME_DB = 'websession:atime';
const USER_DB = 'websession:user';
const OWNER_DB = 'websession:owner';
const userHash = (user: string) => createHash('sha256').update(user).digest('hex');
const QUARANTINE_DB = 'websession:quarantine';
/** Store-wide leases (Store.lease): name → holder's token and expiry. */
const LEASE_DB = 'websession:lease';

/**
 * How long writes are refused after a commit failed for want of space, unless space was freed:
 * LMDB prints lines of its own to stderr on every failed commit (the native library writes one
 * with `fprintf`, lmdb-js logs the error with `console.error`; neither has an option to stop
 * it), so a write that would fail the same way is not tried.
 */
const FULL_BACKOFF_MS = 10_000;
/** Free space (bytes) that must appear, over what was free at the failure, to try again sooner. */
const FREED_BYTES = 64 << 10;

/** Free bytes on the file system of `dir` (for this user), or 0 when unknown. */
function freeBytes(dir: string): number {
  try {
    const { bavail, bsize } = statfsSync(dir);
    return bavail * bsize;
  } catch {
    return 0;
  }
}

/** True for LMDB's "No space left on device" (errno 28, ENOSPC). */
function isNoSpace(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 28 || code === 'ENOSPC' || /No space left/i.test(String((err as Error)?.message));
}

/** Something went wrong inside a mutator: rethrown as is, outside the transaction. */
class MutatorFailure {
  constructor(readonly error: unknown) {}
}

/**
 * Keeps all sessions in one LMDB file (plus LMDB's `<file>-lock` beside it), shared safely by
 * the processes of one machine.
 *
 * @example
 * const store = new ShelfStore('sessions.shelf');
 * // or: await storeFromUrl('shelf:./sessions.shelf')
 */
export class ShelfStore implements S.Store {
  readonly kind = 'shelf';
  readonly capabilities: S.StoreCapabilities = { lock: 'cross-process', nativeTtl: false };
  /** Absolute path of the file. */
  readonly filename: string;
  readonly #options: ShelfStoreOptions;
  readonly #mutex = new KeyedMutex();
  #handles: Promise<Handles> | undefined;
  #closed = false;
  /** Cleanups in progress, which close() lets end. */
  readonly #cleaning = new Set<Promise<number>>();
  /** Releases of the leases held, which close() calls. */
  readonly #leases = new Set<() => Promise<void>>();
  /** After a commit failed for want of space: until when writes are refused, and what was free. */
  #full: { until: number; free: number; error: StoreError } | undefined;

  constructor(filename: string, options: ShelfStoreOptions = {}) {
    if (typeof filename !== 'string' || filename.length === 0)
      throw new ConfigError('ShelfStore needs a file name');
    const batch = options.cleanupBatch ?? 1000;
    if (!Number.isInteger(batch) || batch < 1)
      throw new ConfigError('ShelfStore cleanupBatch must be a positive integer');
    this.filename = path.resolve(filename);
    this.#options = { ...options, cleanupBatch: batch };
  }

  #open(): Promise<Handles> {
    if (this.#closed)
      return Promise.reject(
        new StoreUnavailableError(this.kind, `store ${this.filename} is closed`),
      );
    this.#handles ??= (async () => {
      const lmdb = await loadOptional('lmdb', this.kind, () => import('lmdb'));
      let env: ReturnType<typeof lmdb.open> | undefined;
      try {
        mkdirSync(path.dirname(this.filename), { recursive: true, mode: 0o700 });
        const isNew = !existsSync(this.filename);
        env = lmdb.open({
          path: this.filename,
          noSubdir: true,
          maxDbs: 8,
          noSync: this.#options.noSync ?? false,
          // With event-turn batching, lmdb starts each batch with a promise of its own that
          // nothing awaits: a failed commit (disk full) rejects it unhandled, which ends a process
          // without a handler. Every write here is its own transaction() anyway; measured the
          // same throughput either way (set/update, 1 and 50 in flight).
          eventTurnBatching: false,
        });
        if (isNew) {
          const mode = this.#options.fileMode ?? 0o600;
          for (const file of [this.filename, `${this.filename}-lock`]) {
            try {
              chmodSync(file, mode);
            } catch {
              // the lock file may not exist on every platform
            }
          }
        }
        const data = env.openDB<string, string>({ name: DATA_DB, encoding: 'string' });
        const atimes = env.openDB<number, string>({ name: ATIME_DB, encoding: 'msgpack' });
        const users = env.openDB<string, string>({ name: USER_DB, encoding: 'string' });
        const owners = env.openDB<string, string>({ name: OWNER_DB, encoding: 'string' });
        const quarantine = env.openDB<string, string>({ name: QUARANTINE_DB, encoding: 'string' });
        const leases = env.openDB<Lease, string>({ name: LEASE_DB, encoding: 'msgpack' });
        return { env, data, atimes, users, owners, quarantine, leases };
      } catch (err) {
        this.#handles = undefined;
        // Close a half-opened environment: the next call opens afresh instead of piling up.
        await env?.close().catch(() => {});
        throw new StoreError(this.kind, `cannot open ${this.filename}: ${(err as Error).message}`, {
          cause: err,
        });
      }
    })();
    return this.#handles;
  }

  /**
   * The error to throw for a failed LMDB call. A failed commit rejects with "Commit failed (see
   * commitError for details)" and the real cause (ENOSPC, EACCES…) in the promise
   * `err.commitError`: that promise is awaited here, so its rejection is handled (unhandled, it
   * would end a process that has no handler) and its message names the cause.
   */
  async #error(op: string, err: unknown): Promise<unknown> {
    if (err instanceof StoreError || err instanceof MutatorFailure) return err;
    let cause = err;
    const detail = (err as { commitError?: unknown } | null)?.commitError;
    if (detail && typeof (detail as Promise<unknown>).then === 'function') {
      cause = await (detail as Promise<unknown>).then(
        () => err,
        (real: unknown) => real,
      );
    }
    const error = new StoreError(
      this.kind,
      `${op} failed in ${this.filename}: ${(cause as Error)?.message ?? String(cause)}`,
      { cause },
    );
    if (isNoSpace(cause))
      this.#full = {
        until: Date.now() + FULL_BACKOFF_MS,
        free: freeBytes(path.dirname(this.filename)),
        error,
      };
    return error;
  }

  /**
   * Runs `fn` in a write transaction ({@link ShelfStore.#transact}), or refuses at once (the
   * last failure's error) while the disk is still full after a failed commit.
   */
  #commit<R>(h: Handles, fn: () => R): Promise<R> {
    const full = this.#full;
    if (full) {
      const freed = freeBytes(path.dirname(this.filename)) > full.free + FREED_BYTES;
      if (Date.now() < full.until && !freed) return Promise.reject(full.error);
      this.#full = undefined;
    }
    return ShelfStore.#transact(h, fn);
  }

  /** Points the user index of `key` at `user` (none: undefined). Call inside a write transaction. */
  static #index(h: Handles, key: string, user: string | undefined): void {
    const previous = h.owners.get(key);
    const next = user === undefined ? undefined : userHash(user);
    if (previous === next) return;
    if (previous !== undefined) h.users.removeSync(`${previous}:${key}`);
    if (next === undefined) {
      h.owners.removeSync(key);
    } else {
      h.users.putSync(`${next}:${key}`, '1');
      h.owners.putSync(key, next);
    }
  }

  static #remove(h: Handles, key: string): void {
    h.data.removeSync(key);
    h.atimes.removeSync(key);
    ShelfStore.#index(h, key, undefined);
  }

  /**
   * Runs `fn` in a write transaction (LMDB's: one writer at a time, across processes), reading
   * what is committed now. lmdb-js runs the callback on this thread, where reads go through its
   * read snapshot, renewed only after this process's own commits: taken before another process
   * (or this one's previous transaction) committed, it would hand `fn` an older record, and an
   * update written from it would be a lost update. A snapshot renewed once the write lock is
   * held is the latest commit, and stays so until this transaction commits.
   */
  static #transact<R>(h: Handles, fn: () => R): Promise<R> {
    return h.data.transaction(() => {
      h.data.resetReadTxn();
      return fn();
    });
  }

  static #read(h: Handles, key: string): S.StoredSession | undefined {
    const data = h.data.get(key);
    if (data === undefined) return undefined;
    const atime = h.atimes.get(key);
    return { data, atime: typeof atime === 'number' ? atime : 0 };
  }

  async get(key: string): Promise<S.StoredSession | undefined> {
    assertKey(key, this.kind);
    const h = await this.#open();
    try {
      return ShelfStore.#read(h, key);
    } catch (err) {
      throw await this.#error('read', err);
    }
  }

  async set(key: string, record: S.StoredSession): Promise<void> {
    await this.#write(key, record, false);
  }

  async create(key: string, record: S.StoredSession): Promise<boolean> {
    return this.#write(key, record, true);
  }

  /**
   * Writes both entries in one transaction (they commit together, or neither does); with
   * `onlyNew`, only when there is no record (LMDB's write transaction is one writer at a time,
   * file-wide: the check and the write are one step for every process, as `ifNoExists`).
   */
  async #write(key: string, record: S.StoredSession, onlyNew: boolean): Promise<boolean> {
    assertKey(key, this.kind);
    const h = await this.#open();
    try {
      return await this.#commit(h, () => {
        if (onlyNew && h.data.get(key) !== undefined) return false;
        h.data.putSync(key, record.data);
        h.atimes.putSync(key, record.atime);
        ShelfStore.#index(h, key, record.user);
        return true;
      });
    } catch (err) {
      throw await this.#error('write', err);
    }
  }

  async update(key: string, mutator: S.StoreMutator): Promise<S.StoredSession | undefined> {
    assertKey(key, this.kind);
    const h = await this.#open();
    // The in-process mutex only keeps this process's callers in order; atomicity across
    // processes comes from LMDB's write transaction (one writer at a time, file-wide).
    return this.#mutex.run(key, async () => {
      try {
        const result = await this.#commit(h, () => {
          const current = ShelfStore.#read(h, key);
          let next: S.StoredSession | null | undefined;
          try {
            next = mutator(current && { ...current });
          } catch (error) {
            // Nothing was written yet: returning leaves the transaction empty.
            return new MutatorFailure(error);
          }
          if (next === undefined) return current;
          if (next === null) {
            ShelfStore.#remove(h, key);
            return undefined;
          }
          h.data.putSync(key, next.data);
          h.atimes.putSync(key, next.atime);
          ShelfStore.#index(h, key, next.user);
          return { data: next.data, atime: next.atime };
        });
        if (result instanceof MutatorFailure) throw result;
        return result;
      } catch (err) {
        if (err instanceof MutatorFailure) throw err.error;
        throw await this.#error('update', err);
      }
    });
  }

  async touch(key: string, atime: number): Promise<void> {
    assertKey(key, this.kind);
    const h = await this.#open();
    try {
      await this.#commit(h, () => {
        if (h.data.doesExist(key)) h.atimes.putSync(key, atime);
      });
    } catch (err) {
      throw await this.#error('touch', err);
    }
  }

  async delete(key: string): Promise<void> {
    assertKey(key, this.kind);
    const h = await this.#open();
    try {
      await this.#commit(h, () => ShelfStore.#remove(h, key));
    } catch (err) {
      throw await this.#error('delete', err);
    }
  }

  /**
   * Walks the access times (not the data) a slice at a time in key order, removes the expired
   * ones of each slice in one write transaction (re-checked inside it: a request may have
   * touched one meanwhile), and yields to the event loop between slices. `onProgress` is told
   * the running counts after each slice.
   */
  async cleanup(
    maxIdleSeconds: number,
    onProgress?: (progress: { scanned: number; removed: number }) => void,
  ): Promise<number> {
    // A closed store has nothing left to clean: a background cleanup that runs after close(), or
    // is running when close() is called, stops quietly (close() waits for its current batch).
    if (this.#closed) return 0;
    const run = this.#cleanup(maxIdleSeconds, onProgress);
    this.#cleaning.add(run);
    try {
      return await run;
    } finally {
      this.#cleaning.delete(run);
    }
  }

  async #cleanup(
    maxIdleSeconds: number,
    onProgress?: (progress: { scanned: number; removed: number }) => void,
  ): Promise<number> {
    const h = await this.#open();
    const cutoff = Date.now() - maxIdleSeconds * 1000;
    const batch = this.#options.cleanupBatch!;
    let removed = 0;
    let scanned = 0;
    let after: string | undefined;
    try {
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
          removed += await this.#commit(h, () => {
            let n = 0;
            for (const key of expired) {
              const atime = h.atimes.get(key);
              if (typeof atime === 'number' && atime >= cutoff) continue;
              const existed = h.data.doesExist(key);
              ShelfStore.#remove(h, key);
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
        if (this.#closed) break;
      }
    } catch (err) {
      throw await this.#error('cleanup', err);
    }
    return removed;
  }

  /**
   * Takes the store-wide lease `name` (e.g. one cleanup at a time across the processes sharing
   * the file): a record with the holder's token and expiry, taken, renewed and released in write
   * transactions, so exactly one process holds it until it lapses. An expiry further away than
   * `ttlMs` (not one this store writes) counts as lapsed: no record holds the lease for ever.
   */
  async lease(name: string, ttlMs: number): Promise<S.StoreLease | undefined> {
    if (this.#closed) return undefined; // a closed store runs no more passes
    const h = await this.#open();
    const token = randomBytes(12).toString('hex');
    /** Writes `next(current)` when it is not undefined; the record written, if any. */
    const write = (next: (current: Lease | undefined) => Lease | undefined) =>
      this.#commit(h, () => {
        const lease = next(h.leases.get(name));
        if (lease) h.leases.putSync(name, lease);
        return lease;
      });
    /** Held unless not renewed within the holder's ttl, bounded by ours whatever it says. */
    const held = (current: Lease | undefined, now: number) => {
      if (current === undefined || current.until < now) return false;
      const ttl = Math.min(current.ttl ?? ttlMs, ttlMs);
      const age = now - (current.renewed ?? current.until - ttlMs);
      return age <= ttl && age >= -ttl;
    };
    const mine = (current: Lease | undefined, renewed: number | undefined) =>
      current?.token === token
        ? renewed === undefined
          ? { ...current, until: 0 }
          : { ...current, renewed, until: renewed + ttlMs }
        : undefined;
    let taken: Lease | undefined;
    try {
      taken = await write((current) => {
        const now = Date.now();
        if (held(current, now)) return undefined;
        return { token, until: now + ttlMs, renewed: now, ttl: ttlMs, ended: current?.ended };
      });
      if (!taken) return undefined;
    } catch (err) {
      throw await this.#error('lease', err);
    }
    let released: Promise<void> | undefined;
    const release = (passEndedAt?: number): Promise<void> => {
      this.#leases.delete(release);
      released ??= write((current) => {
        const lease = mine(current, undefined);
        return lease && passEndedAt !== undefined ? { ...lease, ended: passEndedAt } : lease;
      }).then(
        () => {},
        () => {},
      );
      return released;
    };
    this.#leases.add(release);
    return {
      // A time to come is no record of a pass that ended: it would put every pass off for ever.
      lastPassEndedAt:
        taken.ended !== undefined && taken.ended <= Date.now() ? taken.ended : undefined,
      // Once released (close() releases every lease) nothing more is written.
      renew: async () =>
        released === undefined &&
        !this.#closed &&
        (await write((current) => mine(current, Date.now())).then(
          (lease) => lease !== undefined,
          () => false,
        )),
      release,
    };
  }

  /** Keys of the sessions bound to `user`: one key-prefix range of the user index. */
  async userSessions(user: string): Promise<string[]> {
    const h = await this.#open();
    const prefix = `${userHash(user)}:`;
    try {
      return [...h.users.getKeys({ start: prefix, end: `${prefix.slice(0, -1)};` })].map((k) =>
        String(k).slice(prefix.length),
      );
    } catch (err) {
      throw await this.#error('list user', err);
    }
  }

  async *keys(): AsyncIterable<string> {
    const h = await this.#open();
    let after: string | undefined;
    for (;;) {
      let page: string[];
      try {
        page = [
          ...h.data.getKeys(after === undefined ? { limit: 1000 } : { start: after, limit: 1001 }),
        ].filter((k) => k !== after);
      } catch (err) {
        throw await this.#error('list', err);
      }
      for (const key of page) yield key;
      if (page.length < 1000) return;
      after = page[page.length - 1];
    }
  }

  /**
   * Moves a record that failed to decode to the `websession:quarantine` database of the file, in
   * one transaction: no longer served nor listed, kept for inspection ({@link ShelfStore.quarantined}).
   * A later corrupt record of the same key replaces the one kept.
   */
  async quarantine(key: string): Promise<void> {
    assertKey(key, this.kind);
    const h = await this.#open();
    try {
      await this.#commit(h, () => {
        const data = h.data.get(key);
        if (data === undefined) return;
        h.quarantine.putSync(key, data);
        ShelfStore.#remove(h, key);
      });
    } catch (err) {
      throw await this.#error('quarantine', err);
    }
  }

  /** The codec text of a quarantined record (see {@link ShelfStore.quarantine}), or undefined. */
  async quarantined(key: string): Promise<string | undefined> {
    assertKey(key, this.kind);
    const h = await this.#open();
    try {
      return h.quarantine.get(key);
    } catch (err) {
      throw await this.#error('read', err);
    }
  }

  /** True once closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Waits for pending commits and closes the file. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // A cleanup in progress ends at its next batch: let it, so the file is not closed under it.
    await Promise.allSettled([...this.#cleaning]);
    // Leases still held are given up now, not left to lapse.
    await Promise.allSettled([...this.#leases].map((release) => release()));
    const pending = this.#handles;
    this.#handles = undefined;
    if (!pending) return;
    const h = await pending.catch(() => undefined);
    await h?.env.close();
  }
}
