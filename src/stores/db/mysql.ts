/**
 * The MySQL / MariaDB dialect of DBStore, on a `mysql2` pool or connection (promise or callback
 * API). Times: `atime` holds UTC wall-clock text (`YYYY-MM-DD HH:MM:SS`), written and read as
 * text, so no connection time zone ever shifts it. Statements go through `execute` (server-side
 * prepared, cached per connection).
 * @module
 */
import { type Backend, USER_COLUMN, utcText } from './common.js';
import {
  isNetworkError,
  type Link,
  linkOf,
  type Query,
  type SqlConn,
  type SqlDialect,
  type SqlSource,
  singleSource,
  sqlBackend,
} from './sql.js';

type Result = [unknown, unknown];
interface MyQueryable {
  // `never[]`: any driver's own parameter type accepts it, so mysql2's overloads match.
  execute(sql: string, values?: never[]): Promise<Result>;
  query(sql: string): Promise<Result>;
}
interface Emitter {
  on(event: 'error', fn: (err: Error) => void): unknown;
  listenerCount(event: string): number;
}
/** The part of a mysql2 promise PoolConnection DBStore uses. */
export interface MyPoolConnection extends MyQueryable {
  release(): void;
  destroy?(): void;
  connection?: { destroy?(): void };
}
/** The part of a mysql2 promise Pool DBStore uses (detected structurally). */
export interface MyPool extends MyQueryable {
  getConnection(): Promise<MyPoolConnection>;
  end(): Promise<void>;
}
/** The part of a mysql2 promise Connection DBStore uses (detected structurally). */
export interface MyConnection extends MyQueryable {
  beginTransaction(): Promise<void>;
  end(): Promise<void>;
  /** The callback connection underneath, an event emitter. */
  connection?: Emitter;
}
/** A mysql2 callback-API pool or connection: `.promise()` gives the promise API over it. */
export interface MyCallbackHandle {
  promise(): MyPool | MyConnection;
  execute: unknown;
  escapeId: unknown;
}

/** True for a mysql2 callback-API pool or connection (detected by shape). */
export function isMysqlCallbackHandle(db: unknown): db is MyCallbackHandle {
  const d = db as Partial<MyCallbackHandle> | null;
  return (
    !!d &&
    typeof d.promise === 'function' &&
    typeof d.execute === 'function' &&
    typeof d.escapeId === 'function'
  );
}

/** True for a mysql2 promise pool (detected by shape). */
export function isMysqlPool(db: unknown): db is MyPool {
  const d = db as Partial<MyPool> | null;
  return !!d && typeof d.getConnection === 'function' && typeof d.execute === 'function';
}

/** True for a single mysql2 promise connection (detected by shape). */
export function isMysqlConnection(db: unknown): db is MyConnection {
  const d = db as Partial<MyConnection> | null;
  return !!d && typeof d.execute === 'function' && typeof d.beginTransaction === 'function';
}

/** CREATE statements for the session table (with the user index column) and its atime index (idempotent). */
export function mysqlDDL(table: string): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS \`${table}\` (\n  session_id CHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL UNIQUE,\n  atime DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,\n  data MEDIUMTEXT,\n  ${USER_COLUMN} VARCHAR(256) COLLATE utf8mb4_bin,\n  INDEX \`${table}_atime_idx\` (atime),\n  INDEX \`${table}_user_idx\` (${USER_COLUMN})\n) DEFAULT CHARSET = utf8mb4`,
    `CREATE INDEX \`${table}_atime_idx\` ON \`${table}\` (atime)`,
  ];
}

/** The index of the user column (run only when the table has the column). */
export function mysqlUserDDL(table: string): string[] {
  return [`CREATE INDEX \`${table}_user_idx\` ON \`${table}\` (${USER_COLUMN})`];
}

const UNAVAILABLE_CODES = new Set([
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR',
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
  'ER_NORMAL_SHUTDOWN',
  'ER_CONNECTION_KILLED',
]);
const UNAVAILABLE_MESSAGE =
  /pool is closed|connection is in closed state|connection lost|closed state/i;

function mysqlDialect(table: string): SqlDialect {
  const t = `\`${table}\``;
  const q = (name: string, text: string, values: unknown[]): Query => ({ name, text, values });
  const cols = 'data, CAST(atime AS CHAR) AS atime';
  const errno = (err: unknown) => (err as { errno?: unknown } | null)?.errno;
  const U = USER_COLUMN;
  return {
    kind: 'mysql',
    get: (key) => q('get', `SELECT ${cols} FROM ${t} WHERE session_id = ?`, [key]),
    upsert: (key, atime, data, user) =>
      user === undefined
        ? q(
            'upsert',
            `INSERT INTO ${t} (session_id, atime, data) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE atime = VALUES(atime), data = VALUES(data)`,
            [key, utcText(atime), data],
          )
        : q(
            'upsert_user',
            `INSERT INTO ${t} (session_id, atime, data, ${U}) VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE atime = VALUES(atime), data = VALUES(data), ${U} = VALUES(${U})`,
            [key, utcText(atime), data, user],
          ),
    // A lost race fails with ER_DUP_ENTRY, and the transaction is run again (INSERT IGNORE
    // would also turn a too-long value into a silent truncation).
    insertNew: (key, atime, data, user) =>
      user === undefined
        ? q('insert', `INSERT INTO ${t} (session_id, atime, data) VALUES (?, ?, ?)`, [
            key,
            utcText(atime),
            data,
          ])
        : q('insert_user', `INSERT INTO ${t} (session_id, atime, data, ${U}) VALUES (?, ?, ?, ?)`, [
            key,
            utcText(atime),
            data,
            user,
          ]),
    lockRow: (key) => q('lock', `SELECT ${cols} FROM ${t} WHERE session_id = ? FOR UPDATE`, [key]),
    update: (key, atime, data, user) =>
      user === undefined
        ? q('update', `UPDATE ${t} SET atime = ?, data = ? WHERE session_id = ?`, [
            utcText(atime),
            data,
            key,
          ])
        : q('update_user', `UPDATE ${t} SET atime = ?, data = ?, ${U} = ? WHERE session_id = ?`, [
            utcText(atime),
            data,
            user,
            key,
          ]),
    // Compared as bytes: a case- or accent-insensitive collation (or PAD SPACE) must not take
    // another writer's data for the one read.
    updateIf(key, atime, data, user, expected) {
      const u = this.update(key, atime, data, user);
      const op = user === undefined ? 'update_if' : 'update_user_if';
      return q(op, `${u.text} AND CAST(data AS BINARY) = CAST(? AS BINARY)`, [
        ...u.values,
        expected,
      ]);
    },
    userKeys: (user) => q('user_keys', `SELECT session_id FROM ${t} WHERE ${U} = ?`, [user]),
    columns: () =>
      q(
        'columns',
        'SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?',
        [table],
      ),
    userDDL: () => mysqlUserDDL(table),
    touch: (key, atime) =>
      q('touch', `UPDATE ${t} SET atime = ? WHERE session_id = ?`, [utcText(atime), key]),
    delete: (key) => q('delete', `DELETE FROM ${t} WHERE session_id = ?`, [key]),
    // Our own integer, never input: mysqld rejects a LIMIT placeholder in some versions.
    deleteExpired: (cutoff, limit) =>
      q('expire', `DELETE FROM ${t} WHERE atime < ? ORDER BY atime LIMIT ${Math.trunc(limit)}`, [
        utcText(cutoff),
      ]),
    keysAfter: (after, limit) =>
      q(
        'keys',
        `SELECT session_id FROM ${t} WHERE session_id > ? ORDER BY session_id LIMIT ${Math.trunc(limit)}`,
        [after],
      ),
    begin: 'START TRANSACTION',
    ddl: () => mysqlDDL(table),
    // 1050 table exists, 1061 duplicate key name.
    isAlreadyThere: (err) => errno(err) === 1050 || errno(err) === 1061,
    // 1213 deadlock, 1062 duplicate entry (an insert race inside update).
    isRetryable: (err) => errno(err) === 1213 || errno(err) === 1062,
    isUnavailable: (err) => {
      if (isNetworkError(err)) return true;
      const e = err as { code?: unknown; fatal?: unknown } | null;
      if (e?.fatal === true) return true;
      if (typeof e?.code === 'string' && UNAVAILABLE_CODES.has(e.code)) return true;
      return err instanceof Error && UNAVAILABLE_MESSAGE.test(err.message);
    },
  };
}

function conn(c: MyQueryable): SqlConn {
  return {
    rows: async (q) =>
      (await c.execute(q.text, q.values as never[]))[0] as Record<string, unknown>[],
    run: async (q) =>
      ((await c.execute(q.text, q.values as never[]))[0] as { affectedRows?: number })
        .affectedRows ?? 0,
    exec: async (sql) => void (await c.query(sql)),
  };
}

function poolSource(pool: MyPool, owned: boolean): SqlSource {
  const direct = conn(pool);
  return {
    once: (fn) => fn(direct),
    async exclusive(fn, isBroken) {
      const c = await pool.getConnection();
      let broken = false;
      try {
        return await fn(conn(c));
      } catch (err) {
        broken = isBroken(err);
        throw err;
      } finally {
        if (broken && typeof c.destroy === 'function') c.destroy();
        else c.release();
      }
    },
    close: async () => {
      if (owned) await pool.end();
    },
  };
}

/** The promise API of any mysql2 handle. */
export function mysqlPromiseHandle(
  db: MyPool | MyConnection | MyCallbackHandle,
): MyPool | MyConnection {
  return isMysqlCallbackHandle(db) ? db.promise() : db;
}

/** What DBStore reads of a mysql2 (callback-API) connection to open another one like it. */
interface MyCore {
  config?: { stream?: unknown };
  promise?(): MyConnection;
  on(event: 'error' | 'end', fn: (err?: Error) => void): unknown;
  once(event: 'connect' | 'error', fn: (arg?: unknown) => void): unknown;
  destroy?(): void;
  /** Set on a connection taken from a pool (a PoolConnection). */
  _pool?: unknown;
  _closing?: unknown;
  _fatalError?: unknown;
  _protocolError?: unknown;
  addCommand?: unknown;
  _addCommandClosedState?: unknown;
}

/** True when the application ended or destroyed the connection (no error of the driver's). */
function closedByApplication(core: MyCore | undefined): boolean {
  if (!core || core._fatalError || core._protocolError) return false;
  return (
    core._closing === true ||
    (core.addCommand !== undefined && core.addCommand === core._addCommandClosedState)
  );
}

/**
 * Opens a connection of the same class and `config` as `core` (what a mysql2 pool does to add
 * one), for the store's own use.
 */
function reopenLike(core: MyCore | undefined): (() => Promise<Link>) | string {
  if (!core?.config || typeof core.promise !== 'function')
    return 'it shows no mysql2 connection config';
  const stream = core.config.stream;
  if (stream !== undefined && stream !== null && typeof stream !== 'function')
    return 'it was made on a stream the application supplied';
  const config = core.config;
  // A connection taken from a pool is a PoolConnection: open a plain Connection, its parent class.
  const ctor =
    core._pool === undefined ? core.constructor : Object.getPrototypeOf(core.constructor);
  const Connection = ctor as new (opts: { config: unknown }) => MyCore;
  return async () => {
    const next = new Connection({ config });
    next.on('error', () => {}); // until the store watches it
    await new Promise<void>((resolve, reject) => {
      next.once('connect', () => resolve());
      next.once('error', (err) => {
        next.destroy?.();
        reject(err);
      });
    });
    const handle = next.promise!();
    return linkOf(conn(handle), next, () => handle.end());
  };
}

/**
 * The Backend over a mysql2 pool or connection. `owned`: close it with the store. A connection
 * that is lost is replaced by one the store opens itself (see {@link singleSource}).
 */
export function mysqlBackend(
  db: MyPool | MyConnection | MyCallbackHandle,
  table: string,
  owned: boolean,
  warn: (err: Error) => void,
): Backend {
  const dialect = mysqlDialect(table);
  const handle = mysqlPromiseHandle(db);
  if (isMysqlPool(handle)) return sqlBackend(dialect, poolSource(handle, owned));
  // The store's own 'error' listener also keeps a lone connection's idle error (the server went
  // away) from killing Node.
  const core = handle.connection as MyCore | undefined;
  const source = singleSource({
    label: 'the mysql2 connection',
    app: linkOf(conn(handle), core, async () => {
      if (owned) await handle.end();
    }),
    closedByApplication: () => closedByApplication(core),
    reopen: reopenLike(core),
    isUnavailable: dialect.isUnavailable,
    warn,
  });
  return sqlBackend(dialect, source);
}
