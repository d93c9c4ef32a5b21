/**
 * The MySQL / MariaDB dialect of DBStore, on a `mysql2` pool or connection. `atime` holds UTC,
 * written and read as text: no connection time zone shifts it.
 */
import { createHash } from 'node:crypto';
import { type Dialect, hasMethods, isNetworkError, utcText } from './common.js';
import { type Conn, type ConnectionEvents, lockLease, poolSource, singleSource } from './sql.js';

interface MyQueryable {
  // `never[]`: any driver's own parameter type accepts it, so mysql2's overloads match.
  execute(sql: string, values?: never[]): Promise<[unknown, unknown]>;
  query(sql: string): Promise<[unknown, unknown]>;
  end(): Promise<void>;
}
/** The part of a mysql2 promise Pool DBStore uses. */
export interface MyPool extends MyQueryable {
  getConnection(): Promise<MyQueryable & { release(): void; destroy(): void }>;
}
/** The part of a mysql2 promise Connection DBStore uses. */
export interface MyConnection extends MyQueryable {
  beginTransaction(): Promise<void>;
  /** The callback connection underneath, an event emitter. */
  connection?: ConnectionEvents;
}
/** A mysql2 callback-API pool or connection: `.promise()` gives the promise API over it. */
export interface MyCallbackHandle {
  promise(): MyPool | MyConnection;
  execute: unknown;
  escapeId: unknown;
}
/** What DBStore takes of mysql2. */
export type Mysql = MyPool | MyConnection | MyCallbackHandle;

const isCallbackApi = (db: unknown): db is MyCallbackHandle =>
  hasMethods(db, 'promise', 'escapeId');
const isPool = (db: unknown): db is MyPool => hasMethods(db, 'getConnection', 'execute');
export const isMysql = (db: unknown) =>
  isCallbackApi(db) || isPool(db) || hasMethods(db, 'beginTransaction', 'execute');

const UNAVAILABLE =
  /^(PROTOCOL_CONNECTION_LOST|PROTOCOL_SEQUENCE_TIMEOUT|PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR|ER_CON_COUNT_ERROR|ER_SERVER_SHUTDOWN|ER_NORMAL_SHUTDOWN|ER_CONNECTION_KILLED)$/;
const isUnavailable = (err: unknown) =>
  isNetworkError(err) ||
  (err as { fatal?: unknown } | null)?.fatal === true ||
  UNAVAILABLE.test(String((err as { code?: unknown } | null)?.code)) ||
  /pool is closed|connection lost|closed state/i.test(String((err as Error | null)?.message));

function conn(c: MyQueryable): Conn {
  return {
    async query(sql, values) {
      const [result] = values ? await c.execute(sql, values as never[]) : await c.query(sql);
      if (Array.isArray(result)) return { rows: result, changed: 0 };
      return { rows: [], changed: (result as { affectedRows?: number }).affectedRows ?? 0 };
    },
  };
}

/** MySQL or MariaDB on one table of a mysql2 pool or connection (closed with the store when `owned`). */
export function mysql(
  given: Mysql,
  table: string,
  owned: boolean,
  warn: (err: Error) => void,
): Dialect {
  const db = isCallbackApi(given) ? given.promise() : given;
  const end = () => db.end();
  const keep = async () => {
    const c = await (db as MyPool).getConnection();
    return { conn: conn(c), release: (broken: boolean) => (broken ? c.destroy() : c.release()) };
  };
  const single = { conn: conn(db), end, label: 'the mysql2 connection', isLost: isUnavailable };
  const source = isPool(db)
    ? poolSource(conn(db).query, keep, end, owned)
    : singleSource({ ...single, events: db.connection }, owned, warn);
  const t = `\`${table}\``;
  const errnos = (list: number[]) => (err: unknown) =>
    list.includes(Number((err as { errno?: unknown } | null)?.errno));
  return {
    dbn: 'mysql',
    source,
    t,
    cols: 'data, CAST(atime AS CHAR) AS atime',
    // A plain INSERT: a taken key fails with ER_DUP_ENTRY (INSERT IGNORE would also turn a
    // too-long value into a silent truncation).
    keep: '',
    upsert: (cols) => `ON DUPLICATE KEY UPDATE ${cols.map((c) => `${c} = VALUES(${c})`)}`,
    // Compared as bytes: a case- or accent-insensitive collation (or PAD SPACE) must not take
    // another writer's data for the one read.
    sameData: 'CAST(data AS BINARY) = CAST(? AS BINARY)',
    forUpdate: ' FOR UPDATE',
    time: utcText,
    expire: (cutoff, limit) => [
      `DELETE FROM ${t} WHERE atime < ? ORDER BY atime LIMIT ${Math.trunc(limit)}`,
      [utcText(cutoff)],
    ],
    columns: [
      'SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?',
      [table],
    ],
    // A named lock of the server (at most 64 characters), drawn from the table and lease names.
    lease(name) {
      const hash = createHash('sha256').update(`${table}\0${name}`).digest('hex').slice(0, 40);
      const [take, give] = ['SELECT GET_LOCK(?, 0) AS ok', 'SELECT RELEASE_LOCK(?)'];
      return lockLease(source, take, give, [`websession_${hash}`]);
    },
    // 1050 table exists, 1061 duplicate key name; 1062 duplicate entry; 1213 deadlock.
    isAlreadyThere: errnos([1050, 1061]),
    isDuplicate: errnos([1062]),
    isRetryable: errnos([1213, 1062]),
    isUnavailable,
  };
}
