/**
 * What DBStore's engines share: the engine interface, table names and DDL, UTC time text.
 * @module
 */
import { ConfigError } from '../../core/errors.js';
import type { StoredSession, StoreLease, StoreMutator } from '../store.js';

/** The engines DBStore speaks to. */
export type Dbn = 'sqlite' | 'postgres' | 'mysql';

/** One engine on one table, as DBStore drives it (keys already checked). */
export interface Engine {
  /** Writes keep `user_id` too (false: web.py's three columns). */
  userColumn: boolean;
  get(key: string): Promise<StoredSession | undefined>;
  set(key: string, record: StoredSession): Promise<void>;
  /** Inserts the row only if there is none; false when the key is taken. */
  create(key: string, record: StoredSession): Promise<boolean>;
  update(
    key: string,
    fn: StoreMutator,
    expected?: StoredSession,
  ): Promise<StoredSession | undefined>;
  touch(key: string, atime: number): Promise<void>;
  delete(key: string): Promise<void>;
  /** Deletes at most `limit` rows idle since `cutoff` (ms); returns how many. */
  deleteExpired(cutoff: number, limit: number): Promise<number>;
  keysAfter(after: string, limit: number): Promise<string[]>;
  createTable(): Promise<void>;
  /** Whether the table has `user_id`; undefined when there is no table (yet). */
  hasUserColumn(): Promise<boolean | undefined>;
  userKeys(user: string): Promise<string[]>;
  lease(name: string, ttlMs: number): Promise<StoreLease | undefined>;
  /** True when `err` means the database cannot be reached (→ StoreUnavailableError). */
  isUnavailable(err: unknown): boolean;
  /** Gives up held leases, and closes the database if the store owns it. */
  close(): Promise<void>;
}

/**
 * Checks a table name: a plain SQL identifier of at most 48 characters (so the index names
 * derived from it fit every engine). Nothing else reaches SQL.
 */
export function checkTableName(name: unknown): string {
  if (typeof name === 'string' && /^[A-Za-z_][A-Za-z0-9_]{0,47}$/.test(name)) return name;
  throw new ConfigError(
    `bad session table name ${JSON.stringify(name)}: expected an identifier like sessions ([A-Za-z_][A-Za-z0-9_]*, at most 48 characters)`,
  );
}

/** Name of the optional user index column. */
export const USER_COLUMN = 'user_id';

/** The columns a record is written to, and their values. */
export function rowOf(key: string, r: StoredSession, time: unknown, withUser: boolean) {
  const cols = ['session_id', 'atime', 'data', ...(withUser ? [USER_COLUMN] : [])];
  return { cols, values: [key, time, r.data, ...(withUser ? [r.user ?? null] : [])] };
}

/**
 * The table (with the user column) and its atime index, then the user index (run only on a
 * table that has the column). Idempotent: MySQL's errors for what exists are ignored.
 */
export function tableDDL(dbn: Dbn, table: string): { table: string[]; user: string[] } {
  const t = dbn === 'postgres' ? table.toLowerCase() : table;
  const q = dbn === 'mysql' ? (s: string) => `\`${s}\`` : (s: string) => `"${s}"`;
  const ine = dbn === 'mysql' ? '' : 'IF NOT EXISTS ';
  const index = (suffix: string, col: string) =>
    `CREATE INDEX ${ine}${q(`${t}_${suffix}`)} ON ${q(t)} (${col})`;
  const columns =
    dbn === 'mysql'
      ? `session_id CHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL UNIQUE,\n  atime DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,\n  data MEDIUMTEXT,\n  ${USER_COLUMN} VARCHAR(256) COLLATE utf8mb4_bin,\n  INDEX \`${t}_atime_idx\` (atime),\n  INDEX \`${t}_user_idx\` (${USER_COLUMN})\n) DEFAULT CHARSET = utf8mb4`
      : `session_id CHAR(128) UNIQUE NOT NULL,\n  atime ${dbn === 'sqlite' ? 'DATETIME NOT NULL DEFAULT current_timestamp' : "TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc')"},\n  data TEXT,\n  ${USER_COLUMN} VARCHAR(256)\n)`;
  return {
    table: [`CREATE TABLE IF NOT EXISTS ${q(t)} (\n  ${columns}`, index('atime_idx', 'atime')],
    user: [index('user_idx', USER_COLUMN)],
  };
}

/** `YYYY-MM-DD HH:MM:SS.mmm` in UTC: how DBStore writes `atime` (SQLite's current_timestamp form). */
export function utcText(ms: number): string {
  if (!Number.isFinite(ms))
    throw new TypeError(`[websession] atime must be a finite number of ms, got ${ms}`);
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 23);
}

/**
 * Reads an `atime` back as ms since epoch: text without a zone is UTC (what DBStore writes), a
 * Date or a number is taken as it is, an unreadable value reads as 0 (expired).
 */
export function parseAtime(value: unknown): number {
  let ms = value instanceof Date ? value.getTime() : value;
  if (typeof value === 'string') {
    const text = value.trim().replace(' ', 'T');
    ms = Date.parse(/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?$/.test(text) ? `${text}Z` : text);
  }
  return typeof ms === 'number' && Number.isFinite(ms) ? ms : 0;
}

/** The record a mutator returned, checked: a record to write, null to delete, undefined to keep. */
export function checkMutation(next: StoredSession | null | undefined) {
  if (next && (typeof next.data !== 'string' || !Number.isFinite(next.atime)))
    throw new TypeError(
      '[websession] a store mutator must return { data: string, atime: number }, null or undefined',
    );
  return next;
}

const NET_CODES =
  /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|ECONNABORTED|EADDRNOTAVAIL)$/;

/** Socket-level failures of any client/server driver (or all of a dual-stack attempt's). */
export function isNetworkError(err: unknown): boolean {
  const e = err as { code?: unknown; errors?: unknown[] } | null;
  return (
    NET_CODES.test(String(e?.code)) || (Array.isArray(e?.errors) && e.errors.some(isNetworkError))
  );
}
