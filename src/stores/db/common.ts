/**
 * What the three SQL dialects share: the backend interface DBStore drives, table-name checks,
 * UTC time text, and lazy loading of optional driver packages.
 * @module
 */
import { ConfigError, StoreError } from '../../core/errors.js';
import type { StoredSession, StoreMutator } from '../store.js';

/** The engines DBStore speaks to. */
export type Dbn = 'sqlite' | 'postgres' | 'mysql';

/** Rows removed per cleanup statement. */
export const CLEANUP_BATCH = 1000;
/** Keys read per page by `keys()`. */
export const KEYS_PAGE = 1000;

/** One engine's implementation of the store operations on one table (keys already checked). */
export interface Backend {
  readonly kind: Dbn;
  get(key: string): Promise<StoredSession | undefined>;
  set(key: string, record: StoredSession): Promise<void>;
  /** Inserts the row only if there is none (no upsert); false when the key is taken. */
  create?(key: string, record: StoredSession): Promise<boolean>;
  update(
    key: string,
    mutator: StoreMutator,
    expected?: StoredSession,
  ): Promise<StoredSession | undefined>;
  touch(key: string, atime: number): Promise<void>;
  delete(key: string): Promise<void>;
  /** Deletes at most `limit` rows whose atime is before `cutoff` (ms); returns how many. */
  deleteExpired(cutoff: number, limit: number): Promise<number>;
  /** Up to `limit` keys greater than `after`, in order. */
  keysAfter(after: string, limit: number): Promise<string[]>;
  /** Creates the table and its atime index if missing (and the user_id index when the column exists). */
  createTable(): Promise<void>;
  /**
   * Whether the table has the optional `user_id` column (the user index): undefined when the
   * table does not exist (yet).
   */
  hasUserColumn(): Promise<boolean | undefined>;
  /** Switches the writes to maintain `user_id` (true) or to web.py's three columns (false). */
  useUserColumn(on: boolean): void;
  /** Keys of the rows whose `user_id` is `user` (through the user_id index). */
  userKeys(user: string): Promise<string[]>;
  /** True when `err` means the database cannot be reached (→ StoreUnavailableError). */
  isUnavailable(err: unknown): boolean;
  /** Closes the connection or pool if the store opened it; leaves the application's own alone. */
  close(): Promise<void>;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,47}$/;

/**
 * Checks a table name: a plain SQL identifier (letters, digits, underscore; at most 48
 * characters, so the index name derived from it fits every engine). Nothing else reaches SQL.
 */
export function checkTableName(name: unknown): string {
  if (typeof name !== 'string' || !IDENTIFIER.test(name)) {
    throw new ConfigError(
      `bad session table name ${JSON.stringify(name)}: expected an identifier like sessions ([A-Za-z_][A-Za-z0-9_]*, at most 48 characters)`,
    );
  }
  return name;
}

/** Name of the optional user index column. */
export const USER_COLUMN = 'user_id';

/** The user_id value of a record: NULL when the session is bound to no user. */
export const userOf = (record: StoredSession): string | null => record.user ?? null;

/** `YYYY-MM-DD HH:MM:SS.mmm` in UTC: how DBStore writes `atime` (SQLite's current_timestamp form). */
export function utcText(ms: number): string {
  if (!Number.isFinite(ms))
    throw new TypeError(`[websession] atime must be a finite number of ms, got ${ms}`);
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 23);
}

/**
 * Reads an `atime` value back as ms since epoch. Text without a zone is UTC (what DBStore
 * writes); a Date or a number is taken as it is. An unreadable value reads as 0 (expired).
 */
export function parseAtime(value: unknown): number {
  if (typeof value === 'number') return Number.isFinite(value) ? value : 0;
  if (value instanceof Date) return Number.isFinite(value.getTime()) ? value.getTime() : 0;
  if (typeof value === 'string') {
    let text = value.trim().replace(' ', 'T');
    if (/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?$/.test(text)) text += 'Z';
    const ms = Date.parse(text);
    return Number.isFinite(ms) ? ms : 0;
  }
  return 0;
}

/** Imports an optional driver package, or fails naming the package to install. */
export async function importDriver<T>(kind: Dbn, pkg: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new StoreError(
        kind,
        `the ${kind} store needs the "${pkg}" package: npm install ${pkg}`,
        { cause: err },
      );
    }
    throw err;
  }
}

/** Runs callbacks one after another: a single connection must never interleave a transaction. */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#tail.then(fn, fn);
    this.#tail = next.catch(() => {});
    return next;
  }
}

/** The record a mutator returned, checked: a record to write, null to delete, undefined to keep. */
export function checkMutation(
  next: StoredSession | null | undefined,
): StoredSession | null | undefined {
  if (next === undefined || next === null) return next;
  if (typeof next.data !== 'string' || !Number.isFinite(next.atime)) {
    throw new TypeError(
      '[websession] a store mutator must return { data: string, atime: number }, null or undefined',
    );
  }
  return next;
}
