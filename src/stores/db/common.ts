/** What DBStore's dialects share: the dialect interface, table names and DDL, UTC time text. */
import { ConfigError } from '../../core/errors.js';
import type { StoredSession, StoreLease } from '../../core/store.js';
import type { Row, Source } from './sql.js';

/** The engines DBStore speaks to. */
export type Dbn = 'sqlite' | 'postgres' | 'mysql';
/** A statement (`?` placeholders) and its parameters. */
export type Query = [string, unknown[]];

/** What differs between the engines, on one table; DBStore runs the rest. */
export interface Dialect extends ReturnType<typeof onConflict> {
  readonly dbn: Dbn;
  readonly source: Source;
  /** The select list of a record (`data`, `atime`). */
  readonly cols: string;
  /** Locks the row a transaction reads. */
  readonly forUpdate: string;
  /** Column names of the table as `name` (no rows when it does not exist). */
  readonly columns: Query;
  lease(name: string, ttlMs: number): Promise<StoreLease | undefined>;
  /** SQLite: runs `fn` as one `BEGIN IMMEDIATE` transaction, whole, on this thread. */
  transaction?<T>(fn: (run: (q: Query) => { rows: Row[]; changed: number }) => T): T;
  isAlreadyThere?(err: unknown): boolean;
  isDuplicate?(err: unknown): boolean;
  /** Deadlock, serialisation failure or a lost insert race: the transaction may run again. */
  isRetryable?(err: unknown): boolean;
  isUnavailable(err: unknown): boolean;
}

/** The statements SQLite and PostgreSQL write alike on table `t` (quoted); MySQL has its own. */
export const onConflict = (t: string, time: (ms: number) => string) => ({
  t,
  time,
  /** Ends an INSERT that leaves a taken key alone (or fails on it); `upsert` one that replaces. */
  keep: 'ON CONFLICT (session_id) DO NOTHING',
  upsert: (cols: string[]) =>
    `ON CONFLICT (session_id) DO UPDATE SET ${cols.map((c) => `${c} = excluded.${c}`)}`,
  /** Compares `data` with a parameter byte for byte. */
  sameData: 'data = ?',
  /** Deletes at most `limit` rows idle since `cutoff`; rows touched since the inner select stay. */
  expire: (cutoff: number, limit: number): Query => [
    `DELETE FROM ${t} WHERE session_id IN (SELECT session_id FROM ${t} WHERE atime < ? LIMIT ${Math.trunc(limit)}) AND atime < ?`,
    [time(cutoff), time(cutoff)],
  ],
});

/** Where connection errors go by default. */
export const warnOf = (dbn: Dbn) => (err: Error) =>
  console.warn(`[websession] [${dbn}] connection error: ${err.message}`);

/** True when `db` has these methods: how DBStore recognises a driver's handle. */
export const hasMethods = (db: unknown, ...names: string[]) =>
  !!db && names.every((name) => typeof (db as Record<string, unknown>)[name] === 'function');

/** A plain SQL identifier of at most 48 characters (index names derived from it fit everywhere). */
export function checkTableName(name: unknown): string {
  if (typeof name === 'string' && /^[A-Za-z_][A-Za-z0-9_]{0,47}$/.test(name)) return name;
  throw new ConfigError(
    `bad session table name ${JSON.stringify(name)}: expected an identifier like sessions ([A-Za-z_][A-Za-z0-9_]*, at most 48 characters)`,
  );
}

export const USER_COLUMN = 'user_id';

/** The table (with `user_id`) and its atime index; then the user index, for tables with `user_id`. */
export function tableDDL(dbn: Dbn, table: string): { table: string[]; user: string[] } {
  const t = dbn === 'postgres' ? table.toLowerCase() : table;
  const q = (s: string) => (dbn === 'mysql' ? `\`${s}\`` : `"${s}"`);
  const index = (suffix: string, col: string) =>
    `CREATE INDEX ${dbn === 'mysql' ? '' : 'IF NOT EXISTS '}${q(`${t}_${suffix}`)} ON ${q(t)} (${col})`;
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

/** A row read with a dialect's `cols` as a record: `atime` text without a zone is UTC. */
export function recordOf(row: Row | undefined): StoredSession | undefined {
  if (!row) return undefined;
  let ms = row.atime instanceof Date ? row.atime.getTime() : row.atime;
  const text = typeof ms === 'string' ? ms.trim().replace(' ', 'T') : undefined;
  if (text)
    ms = Date.parse(/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?$/.test(text) ? `${text}Z` : text);
  // An unreadable atime reads as 0: expired.
  return { data: String(row.data ?? ''), atime: Number.isFinite(ms) ? (ms as number) : 0 };
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
  const e = err as { code?: unknown; errors?: unknown } | null;
  const nested = Array.isArray(e?.errors) && e.errors.some(isNetworkError);
  return nested || NET_CODES.test(String(e?.code));
}
