/**
 * The MySQL / MariaDB dialect of DBStore, on a `mysql2` pool or connection. `atime` holds UTC,
 * written and read as text: no connection time zone shifts it.
 */
import { type Engine, hasMethods, isNetworkError, type Warn } from './common.js';
import { type Conn, type ConnectionEvents, sourceOf } from './sql.js';

/** The part of a mysql2 promise Pool or Connection DBStore uses. */
export interface MyPromiseApi {
  // `never[]`: any driver's own parameter type accepts it, so mysql2's overloads match.
  execute(sql: string, values?: never[]): Promise<[unknown, unknown]>;
  query(sql: string): Promise<[unknown, unknown]>;
  end(): Promise<void>;
  /** A pool's. */
  getConnection?(): Promise<MyPromiseApi & { release(): void; destroy(): void }>;
  /** A connection's: the callback connection underneath, an event emitter. */
  connection?: ConnectionEvents;
}
/** A mysql2 callback-API pool or connection: `.promise()` gives the promise API over it. */
export interface MyCallbackHandle {
  promise(): MyPromiseApi;
  execute: unknown;
  escapeId: unknown;
}
/** What DBStore takes of mysql2. */
export type Mysql = MyPromiseApi | MyCallbackHandle;

const isCallbackApi = (db: unknown): db is MyCallbackHandle =>
  hasMethods(db, 'promise', 'escapeId');
const isPool = (db: unknown) => hasMethods(db, 'getConnection', 'execute');
export const isMysql = (db: unknown) =>
  isCallbackApi(db) || isPool(db) || hasMethods(db, 'beginTransaction', 'execute');

const UNAVAILABLE =
  /^(PROTOCOL_CONNECTION_LOST|PROTOCOL_SEQUENCE_TIMEOUT|PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR|ER_CON_COUNT_ERROR|ER_SERVER_SHUTDOWN|ER_NORMAL_SHUTDOWN|ER_CONNECTION_KILLED)$/;
const isUnavailable = (err: unknown) =>
  isNetworkError(err) ||
  (err as { fatal?: unknown } | null)?.fatal === true ||
  UNAVAILABLE.test(String((err as { code?: unknown } | null)?.code)) ||
  /pool is closed|connection lost|closed state/i.test(String((err as Error | null)?.message));

function conn(c: MyPromiseApi): Conn {
  return {
    async query(sql, values) {
      const [result] = values ? await c.execute(sql, values as never[]) : await c.query(sql);
      if (Array.isArray(result)) return { rows: result, changed: 0 };
      return { rows: [], changed: (result as { affectedRows?: number }).affectedRows ?? 0 };
    },
  };
}

/** MySQL or MariaDB on a mysql2 pool or connection (closed with the store when `owned`). */
export function mysql(given: Mysql, owned: boolean, warn: Warn): Engine {
  const db = isCallbackApi(given) ? given.promise() : given;
  const checkout = async () => {
    const c = await db.getConnection!();
    return { conn: conn(c), release: (broken: boolean) => (broken ? c.destroy() : c.release()) };
  };
  const driver = { conn: conn(db), end: () => db.end(), events: db.connection, isUnavailable };
  const label = 'the mysql2 connection';
  const source = sourceOf(
    { ...driver, checkout: isPool(db) ? checkout : undefined, label },
    owned,
    warn,
  );
  return {
    source,
    isUnavailable,
  };
}
