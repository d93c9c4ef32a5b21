/**
 * What DBStore's dialects share: table names and DDL, UTC time text, error kinds.
 * @module
 */
import { ConfigError } from '../../core/errors.js';
import type { StoredSession } from '../store.js';

/** The engines DBStore speaks to. */
export type Dbn = 'sqlite' | 'postgres' | 'mysql';

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
