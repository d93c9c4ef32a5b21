/**
 * The store interface every backend implements. Stores see only store keys (64 lowercase hex
 * characters, the SHA-256 of a session id) and opaque codec text; they never see a raw id.
 * @module
 */

import type { Awaitable } from './awaitable.js';

export type { Awaitable };

/** One stored session as a store keeps it. */
export interface StoredSession {
  /** Codec text (data plus metadata). Stores keep it as it is. */
  data: string;
  /** Last access, ms since epoch. Stores keep it themselves (never the file system's atime). */
  atime: number;
  /**
   * The user the session is bound to, given on writes so that stores with a user index
   * ({@link Store.userSessions}) can maintain it in the same step. Stores may omit it on reads.
   */
  user?: string | undefined;
}

/**
 * The function given to {@link Store.update}. It receives the current record (undefined when
 * there is none) and returns the record to write, `null` to delete it, or `undefined` to leave
 * the store as it is. It must be synchronous and free of side effects: optimistic stores may run
 * it more than once.
 */
export type StoreMutator = (current: StoredSession | undefined) => StoredSession | null | undefined;

/** Progress of a cleanup pass: records looked at, records removed, and the total when known. */
export type CleanupProgress = (progress: {
  scanned: number;
  removed: number;
  total?: number;
  /** Entries that are not records of the store (a stray file or folder), left as they are. */
  skipped?: number;
  /** Temp files left by a process killed mid-write, removed (not sessions). */
  tempRemoved?: number;
}) => void;

/** A store-wide lease taken with {@link Store.lease}. */
export interface StoreLease {
  /** Extends the lease by its ttl; false when it was lost meanwhile (expired and taken over). */
  renew(): Promise<boolean>;
  /**
   * Gives the lease up. Never throws. `passEndedAt` (ms since epoch), given when the holder ran a
   * cleanup pass, is recorded beside the lease for the next holder ({@link lastPassEndedAt}).
   */
  release(passEndedAt?: number): Promise<void>;
  /**
   * ms since epoch when the last pass by any process ended, as recorded by
   * `release(passEndedAt)`, or undefined (none recorded, or a store that keeps no such record).
   */
  readonly lastPassEndedAt?: number | undefined;
}

/** How far a store's {@link Store.update} lock reaches. */
export type LockScope =
  /** Atomic against every process using the same store (file lock, row lock, transaction…). */
  | 'cross-process'
  /** Atomic within this process only (e.g. MemoryStore, whose data lives in one process). */
  | 'process';

/** What a store can do beyond the required methods. */
export interface StoreCapabilities {
  /** The reach of `update`'s lock. */
  readonly lock: LockScope;
  /** True when the store expires records by itself (e.g. Redis TTL) so `cleanup` is free. */
  readonly nativeTtl: boolean;
  /**
   * True when one write costs enough (DiskStore: a file created and renamed) that the manager
   * should gather the saves of one session made in the same event-loop turn into one write.
   */
  readonly gatherWrites?: boolean;
}

/**
 * A session store. Every method takes a validated store key. The five record methods (`get`,
 * `set`, `update`, `touch`, `delete`) may answer at once with a plain value (a store that keeps
 * its records in this process) or with a promise; they never throw: a failure is a rejected
 * promise. The others always return promises.
 */
export interface Store {
  /** Short name of the backend, used in errors and logs: `memory`, `disk`, … */
  readonly kind: string;
  /** What this store declares it can do. */
  readonly capabilities: StoreCapabilities;
  /** The record under `key`, or undefined. Does not change its access time. */
  get(key: string): Awaitable<StoredSession | undefined>;
  /** Writes (creates or replaces) the record under `key`, atomically: never a torn record. */
  set(key: string, record: StoredSession): Awaitable<void>;
  /**
   * Writes the record under `key` only if there is none (create-only, atomic against every
   * writer the store's lock reaches: an insert without upsert, SET NX, an exclusive file
   * create). Returns false, writing nothing, when a record is there: the manager then draws a
   * new id. Every built-in store has it; a store without it is written with `set`.
   */
  create?(key: string, record: StoredSession): Awaitable<boolean>;
  /**
   * Read-modify-write of one record under a per-key lock (see `capabilities.lock`). Returns
   * the record now stored (undefined when none).
   *
   * `expected`, when given, is the record as the caller last read it. A store may first apply
   * the mutator to it and write the result in one conditional step ("only if the stored data is
   * still exactly `expected.data`", one round trip instead of a locked transaction), falling back
   * to the locked read-modify-write when the record changed meanwhile. The mutator may therefore
   * run more than once, and must not have side effects.
   */
  update(
    key: string,
    mutator: StoreMutator,
    expected?: StoredSession,
  ): Awaitable<StoredSession | undefined>;
  /** Sets the access time of an existing record without rewriting its data; no-op when absent. */
  touch(key: string, atime: number): Awaitable<void>;
  /** Removes the record; no-op when absent. */
  delete(key: string): Awaitable<void>;
  /**
   * Removes records idle for more than `maxIdleSeconds`; returns how many it removed. Runs in
   * bounded steps that yield to the event loop; may report progress (for tools).
   */
  cleanup(maxIdleSeconds: number, onProgress?: CleanupProgress): Promise<number>;
  /**
   * Optional: takes the store-wide lease `name` for `ttlMs`, held in the store itself so that it
   * reaches every process sharing the store (a cleanup pass takes `cleanup`: one pass at a time
   * per store). Resolves undefined at once when another holder has it. A lease whose holder died
   * is free again after `ttlMs`, or at once where the store ties it to a connection. A closed
   * store resolves undefined. Stores whose records live in one process (MemoryStore) or expire by
   * themselves need none.
   */
  lease?(name: string, ttlMs: number): Promise<StoreLease | undefined>;
  /** Every key in the store, for tools (CLI, migrate). Order is unspecified. */
  keys(): AsyncIterable<string>;
  /**
   * Optional: moves a record that failed to decode out of the way (kept for inspection, no
   * longer served). Stores without it leave the record in place until cleanup removes it.
   */
  quarantine?(key: string): Promise<void>;
  /**
   * Optional user index: keys of the sessions bound to `user` (written with `record.user`).
   * May include keys whose record expired or vanished since; callers check each. Maintained by
   * the store on set/update/delete/cleanup, without scanning all sessions.
   */
  userSessions?(user: string): Promise<string[]>;
  /**
   * Optional: told the session manager's idle timeout (seconds) and its `store_timeout` (ms) at
   * construction, for stores that expire records by themselves (e.g. Redis TTL) or time their
   * own commands out (Redis).
   */
  configure?(options: { timeout: number; store_timeout?: number }): void;
  /**
   * Optional: checks at start-up that the store can serve (its driver loads, its table is
   * there). Rejects with a `ConfigError` that says what to do when it never could (a missing
   * table or driver, a driver built for another Node.js); resolves while the store is only
   * unreachable, an outage whose calls answer 503 until it ends.
   */
  ready?(): Promise<void>;
  /** Releases files, connections and timers. */
  close(): Promise<void>;
  /**
   * Optional: true once `close()` was called. Background cleanup stops for a closed store
   * (without it, a closed store's refused leases would look like another process's pass).
   */
  readonly closed?: boolean;
}
