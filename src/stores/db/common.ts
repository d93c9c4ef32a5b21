/** What DBStore's engines share: the SQL they write, table names and DDL, UTC time, errors. */
import { ConfigError } from '../../core/errors.js';
import type { StoredSession } from '../../core/store.js';
import { leaseTable } from './lease.js';
import type { Row, Source } from './sql.js';

/** The engines DBStore speaks to. */
export type Dbn = 'sqlite' | 'postgres' | 'mysql';
/** A statement (`?` placeholders) and its parameters. */
export type Query = [string, unknown[]];

/** An engine's driver on one table; DBStore runs the rest. */
export interface Engine {
  readonly source: Source;
  /** SQLite: runs `fn` as one `BEGIN IMMEDIATE` transaction, whole, on this thread. */
  transaction?<T>(fn: (run: (q: Query) => { rows: Row[]; changed: number }) => T): T;
  isUnavailable(err: unknown): boolean;
}

/** What DBStore runs on: an engine's SQL and its driver. */
export type Dialect = Engine & ReturnType<typeof statements>;

/** The SQL that differs between the engines, on table `name`. */
export function statements(dbn: Dbn, name: string) {
  const mysql = dbn === 'mysql';
  const q = (s: string) => (mysql ? `\`${s}\`` : `"${s}"`);
  // PostgreSQL folds unquoted identifiers to lower case; quoting the folded name keeps that
  // meaning and lets a table be called by a reserved word.
  const folded = dbn === 'postgres' ? name.toLowerCase() : name;
  const t = q(folded);
  const index = (suffix: string, col: string) =>
    `CREATE INDEX ${mysql ? '' : 'IF NOT EXISTS '}${q(`${folded}_${suffix}`)} ON ${t} (${col})`;
  const columns = mysql
    ? `session_id CHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL UNIQUE,\n  atime DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),\n  data MEDIUMTEXT,\n  ${USER_COLUMN} VARCHAR(256) COLLATE utf8mb4_bin,\n  INDEX \`${folded}_atime_idx\` (atime),\n  INDEX \`${folded}_user_idx\` (${USER_COLUMN})\n) DEFAULT CHARSET = utf8mb4`
    : `session_id CHAR(128) UNIQUE NOT NULL,\n  atime ${dbn === 'sqlite' ? 'DATETIME NOT NULL DEFAULT current_timestamp' : "TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc')"},\n  data TEXT,\n  ${USER_COLUMN} VARCHAR(256)\n)`;
  // PostgreSQL reads ISO text with `Z` as UTC in TIMESTAMP and TIMESTAMPTZ whatever the TimeZone.
  const time = dbn === 'postgres' ? (ms: number) => new Date(ms).toISOString() : utcText;
  const lease = leaseTable(mysql, folded, q);
  return {
    t,
    time,
    /** The lease table (`<table>_lease`). */
    leaseT: lease.t,
    /** The table (with `user_id`) and its atime index; the index of `user_id`; the lease table. */
    ddl: {
      table: [`CREATE TABLE IF NOT EXISTS ${t} (\n  ${columns}`, index('atime_idx', 'atime')],
      user: [index('user_idx', USER_COLUMN)],
      lease: [lease.ddl],
    },
    /** The select list of a record; MySQL's `atime` as text, which no time zone shifts. */
    cols: {
      sqlite: 'data, atime',
      postgres: 'data, (EXTRACT(EPOCH FROM atime) * 1000)::float8 AS atime',
      mysql: 'data, CAST(atime AS CHAR) AS atime',
    }[dbn],
    /** Locks the row a transaction reads (SQLite's transaction holds the file's write lock). */
    forUpdate: dbn === 'sqlite' ? '' : ' FOR UPDATE',
    // Ends an INSERT that leaves a taken key alone; MySQL's fails on it with ER_DUP_ENTRY
    // (INSERT IGNORE would also turn a too-long value into a silent truncation).
    keep: mysql ? '' : 'ON CONFLICT (session_id) DO NOTHING',
    /** Ends an INSERT that replaces the row of a taken key. */
    upsert: (cols: string[]) =>
      mysql
        ? `ON DUPLICATE KEY UPDATE ${cols.map((c) => `${c} = VALUES(${c})`)}`
        : `ON CONFLICT (session_id) DO UPDATE SET ${cols.map((c) => `${c} = excluded.${c}`)}`,
    // Compares `data` with a parameter byte for byte, as SQLite's BINARY collation does: MySQL's
    // case- or accent-insensitive collation (or PAD SPACE) must not match another writer's data.
    sameData: mysql ? 'CAST(data AS BINARY) = CAST(? AS BINARY)' : 'data = ?',
    /** Deletes at most `limit` rows idle since `cutoff`; rows touched meanwhile stay. */
    expire: (cutoff: number, limit: number): Query => {
      const [n, at] = [Math.trunc(limit), time(cutoff)];
      if (mysql) return [`DELETE FROM ${t} WHERE atime < ? ORDER BY atime LIMIT ${n}`, [at]];
      const idle = `SELECT session_id FROM ${t} WHERE atime < ? LIMIT ${n}`;
      return [`DELETE FROM ${t} WHERE session_id IN (${idle}) AND atime < ?`, [at, at]];
    },
    /** Column names of the table as `name` (no rows when it does not exist). */
    columns: [
      {
        sqlite: 'SELECT name FROM pragma_table_info(?)',
        // to_regclass resolves the name as every statement here does (search_path).
        postgres: `SELECT attname AS name FROM pg_attribute WHERE attrelid = to_regclass(?) AND attnum > 0 AND NOT attisdropped`,
        // With the digits of seconds' fractions a DATETIME column keeps (0: whole seconds).
        mysql:
          'SELECT COLUMN_NAME AS name, CAST(DATETIME_PRECISION AS SIGNED) AS fraction FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?',
      }[dbn],
      [dbn === 'postgres' ? t : name],
    ] as Query,
    /**
     * A write's deadline, checked by the server against its own clock when it runs the write
     * (PostgreSQL: the time then; MySQL: when the statement started). SQLite has none: it runs
     * in this process, so no write can reach it after its caller gave up.
     */
    deadline:
      dbn === 'sqlite'
        ? undefined
        : {
            /** The condition, on the deadline as {@link time} writes it. */
            before: `${mysql ? 'UTC_TIMESTAMP(3)' : 'clock_timestamp()'} < ?`,
            /** What a SELECT of values only takes a WHERE after. */
            from: mysql ? ' FROM DUAL' : '',
            /** The server's clock now (`now`, ms since the epoch or UTC text). */
            clock: [
              mysql
                ? 'SELECT CAST(UTC_TIMESTAMP(3) AS CHAR) AS now'
                : 'SELECT (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::float8 AS now',
              [],
            ] as Query,
          },
    /** SQLite: the lease table's `ended` column (no row when the table predates it). */
    leaseEnded: [
      "SELECT name FROM pragma_table_info(?) WHERE name = 'ended'",
      [`${name}_lease`],
    ] as Query,
  };
}

/** Told of connection errors. */
export type Warn = (err: Error) => void;

/** Where connection errors go by default. */
export const warnOf =
  (dbn: Dbn): Warn =>
  (err) =>
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

/** `YYYY-MM-DD HH:MM:SS.mmm` in UTC: how DBStore writes `atime` (SQLite's current_timestamp form). */
export function utcText(ms: number): string {
  if (!Number.isFinite(ms))
    throw new TypeError(`[websession] atime must be a finite number of ms, got ${ms}`);
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 23);
}

/** A time as a driver returns it (ms, a Date, or text: without a zone, UTC) in ms; else NaN. */
export function msOf(value: unknown): number {
  let ms = value instanceof Date ? value.getTime() : value;
  const text = typeof ms === 'string' ? ms.trim().replace(' ', 'T') : undefined;
  if (text)
    ms = Date.parse(/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?$/.test(text) ? `${text}Z` : text);
  return Number.isFinite(ms) ? (ms as number) : Number.NaN;
}

/** A row read with a dialect's `cols` as a record. */
export function recordOf(row: Row | undefined): StoredSession | undefined {
  if (!row) return undefined;
  const ms = msOf(row.atime);
  // An unreadable atime reads as 0: expired.
  return { data: String(row.data ?? ''), atime: Number.isFinite(ms) ? ms : 0 };
}

const NET_CODES =
  /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|ECONNABORTED|EADDRNOTAVAIL)$/;

/** Socket-level failures of any client/server driver (or all of a dual-stack attempt's). */
export function isNetworkError(err: unknown): boolean {
  const e = err as { code?: unknown; errors?: unknown } | null;
  const nested = Array.isArray(e?.errors) && e.errors.some(isNetworkError);
  return nested || NET_CODES.test(String(e?.code));
}

/** What a server's error means to DBStore, by PostgreSQL's SQLSTATE `code` or MySQL's `errno`. */
const CODES = {
  // 42P07 duplicate table, 42710 duplicate object, 23505 a concurrent CREATE won the race;
  // 1050 table exists, 1061 duplicate key name.
  alreadyThere: ['42P07', '42710', '23505', 1050, 1061],
  /** The key is taken. */
  duplicate: ['23505', 1062],
  /** Deadlock, serialisation failure or a lost insert race: the transaction may run again. */
  retryable: ['40P01', '40001', 1213, 1062],
  // statement_timeout, lock_timeout; innodb_lock_wait_timeout, max_execution_time,
  // max_statement_time: the server gave up a statement, and nothing of it was written.
  timeout: ['57014', '55P03', 1205, 3024, 1969],
  missingTable: ['42P01', 1146],
};

/** True when `err` carries one of the codes of `kind` (SQLite's errors carry none of them). */
export function hasCode(kind: keyof typeof CODES, err: unknown): boolean {
  const { code, errno } = (err ?? {}) as { code?: unknown; errno?: unknown };
  return CODES[kind].some((c) => c === code || c === Number(errno));
}
