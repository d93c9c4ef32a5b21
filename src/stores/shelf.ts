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
 *
 * Beside this file: the environment (shelf-env.ts), write transactions and errors
 * (shelf-commits.ts), the records (shelf-records.ts), the user index (shelf-users.ts), the
 * cleanup pass (shelf-cleanup.ts) and the lease (shelf-lease.ts).
 * @module
 */
import * as path from 'node:path';
import { ConfigError, StoreUnavailableError } from '../core/errors.js';
import type * as S from '../core/store.js';
import { assertKey } from './key.js';
import { KeyedMutex } from './keyed-mutex.js';
import { expireIdle } from './shelf-cleanup.js';
import { MutatorFailure, ShelfCommits } from './shelf-commits.js';
import { type Handles, openShelf } from './shelf-env.js';
import { takeShelfLease } from './shelf-lease.js';
import { putRecord, readRecord, removeRecord } from './shelf-records.js';
import { userKeys } from './shelf-users.js';
import { booleanOption, fileModeOption, optionsObject } from './store-options.js';

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
  readonly #commits: ShelfCommits;

  constructor(filename: string, options?: ShelfStoreOptions) {
    if (typeof filename !== 'string' || filename.length === 0)
      throw new ConfigError('ShelfStore needs a file name');
    const opts = optionsObject('ShelfStore', options);
    const batch = opts.cleanupBatch ?? 1000;
    if (!Number.isInteger(batch) || batch < 1)
      throw new ConfigError('ShelfStore cleanupBatch must be a positive integer');
    this.filename = path.resolve(filename);
    this.#options = {
      noSync: booleanOption('ShelfStore', 'noSync', opts.noSync, false),
      fileMode: fileModeOption('ShelfStore', opts.fileMode),
      cleanupBatch: batch,
    };
    this.#commits = new ShelfCommits(this.filename);
  }

  #open(): Promise<Handles> {
    if (this.#closed)
      return Promise.reject(
        new StoreUnavailableError(this.kind, `store ${this.filename} is closed`),
      );
    this.#handles ??= openShelf(this.filename, this.#options, () => {
      this.#handles = undefined;
    });
    return this.#handles;
  }

  async get(key: string): Promise<S.StoredSession | undefined> {
    assertKey(key, this.kind);
    const h = await this.#open();
    try {
      return readRecord(h, key);
    } catch (err) {
      throw await this.#commits.error('read', err);
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
      return await this.#commits.commit(h, () => {
        if (onlyNew && h.data.get(key) !== undefined) return false;
        putRecord(h, key, record);
        return true;
      });
    } catch (err) {
      throw await this.#commits.error('write', err);
    }
  }

  async update(key: string, mutator: S.StoreMutator): Promise<S.StoredSession | undefined> {
    assertKey(key, this.kind);
    const h = await this.#open();
    // The in-process mutex only keeps this process's callers in order; atomicity across
    // processes comes from LMDB's write transaction (one writer at a time, file-wide).
    return this.#mutex.run(key, async () => {
      try {
        const result = await this.#commits.commit(h, () => {
          const current = readRecord(h, key);
          let next: S.StoredSession | null | undefined;
          try {
            next = mutator(current && { ...current });
          } catch (error) {
            // Nothing was written yet: returning leaves the transaction empty.
            return new MutatorFailure(error);
          }
          if (next === undefined) return current;
          if (next === null) {
            removeRecord(h, key);
            return undefined;
          }
          putRecord(h, key, next);
          return { data: next.data, atime: next.atime };
        });
        if (result instanceof MutatorFailure) throw result;
        return result;
      } catch (err) {
        if (err instanceof MutatorFailure) throw err.error;
        throw await this.#commits.error('update', err);
      }
    });
  }

  async touch(key: string, atime: number): Promise<void> {
    assertKey(key, this.kind);
    const h = await this.#open();
    try {
      await this.#commits.commit(h, () => {
        if (h.data.doesExist(key)) h.atimes.putSync(key, atime);
      });
    } catch (err) {
      throw await this.#commits.error('touch', err);
    }
  }

  async delete(key: string): Promise<void> {
    assertKey(key, this.kind);
    const h = await this.#open();
    try {
      await this.#commits.commit(h, () => removeRecord(h, key));
    } catch (err) {
      throw await this.#commits.error('delete', err);
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
    const scope = {
      h,
      commit: <R>(fn: () => R) => this.#commits.commit(h, fn),
      batch: this.#options.cleanupBatch!,
      closed: () => this.#closed,
      onProgress,
    };
    try {
      return await expireIdle(scope, cutoff);
    } catch (err) {
      throw await this.#commits.error('cleanup', err);
    }
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
    return takeShelfLease(ttlMs, {
      write: (next) =>
        this.#commits.commit(h, () => {
          const lease = next(h.leases.get(name));
          if (lease) h.leases.putSync(name, lease);
          return lease;
        }),
      error: (err) => this.#commits.error('lease', err),
      closed: () => this.#closed,
      held: this.#leases,
    });
  }

  /** Keys of the sessions bound to `user`: one key-prefix range of the user index. */
  async userSessions(user: string): Promise<string[]> {
    const h = await this.#open();
    try {
      return userKeys(h, user);
    } catch (err) {
      throw await this.#commits.error('list user', err);
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
        throw await this.#commits.error('list', err);
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
      await this.#commits.commit(h, () => {
        const data = h.data.get(key);
        if (data === undefined) return;
        h.quarantine.putSync(key, data);
        removeRecord(h, key);
      });
    } catch (err) {
      throw await this.#commits.error('quarantine', err);
    }
  }

  /** The codec text of a quarantined record (see {@link ShelfStore.quarantine}), or undefined. */
  async quarantined(key: string): Promise<string | undefined> {
    assertKey(key, this.kind);
    const h = await this.#open();
    try {
      return h.quarantine.get(key);
    } catch (err) {
      throw await this.#commits.error('read', err);
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
    // Leases still held are given up now, not left to lapse, including one whose taking was
    // under way; then the file waits for its last commits and takes no more.
    do {
      await Promise.allSettled([...this.#leases].map((release) => release()));
      await this.#commits.settled();
    } while (this.#leases.size > 0);
    this.#commits.end();
    const pending = this.#handles;
    this.#handles = undefined;
    if (!pending) return;
    const h = await pending.catch(() => undefined);
    await h?.env.close();
  }
}
