/**
 * The PostgreSQL dialect of DBStore, on a `pg` Pool or Client. Times: `atime` holds UTC (written
 * as an ISO string with `Z`, read with `EXTRACT(EPOCH …)`), right for `TIMESTAMP` and
 * `TIMESTAMPTZ` columns whatever the connection's TimeZone. Statements are named, so each
 * connection prepares them once.
 * @module
 */
import { createHash } from 'node:crypto';
import { type Backend, USER_COLUMN } from './common.js';
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
  type UserValue,
} from './sql.js';

interface PgResult {
  rows: Record<string, unknown>[];
  rowCount: number | null;
}
interface PgQueryable {
  query(q: string | { name?: string; text: string; values?: unknown[] }): Promise<PgResult>;
}
interface PgEmitter {
  on(event: 'error', fn: (err: Error) => void): unknown;
  listenerCount(event: string): number;
}
/** The part of a `pg` PoolClient DBStore uses. */
export interface PgPoolClient extends PgQueryable {
  release(err?: Error | boolean): void;
}
/** The part of a `pg` Pool DBStore uses (detected structurally). */
export interface PgPool extends PgQueryable, PgEmitter {
  connect(): Promise<PgPoolClient>;
  end(): Promise<void>;
  readonly totalCount: number;
}
/** The part of a connected `pg` Client DBStore uses (detected structurally). */
export interface PgClient extends PgQueryable, PgEmitter {
  connect(): Promise<unknown>;
  end(): Promise<void>;
  escapeIdentifier(text: string): string;
}

/** True for a `pg` Pool (detected by shape). */
export function isPgPool(db: unknown): db is PgPool {
  const d = db as Partial<PgPool> | null;
  return (
    !!d &&
    typeof d.query === 'function' &&
    typeof d.connect === 'function' &&
    typeof d.totalCount === 'number'
  );
}

/** True for a connected `pg` Client (detected by shape). */
export function isPgClient(db: unknown): db is PgClient {
  const d = db as Partial<PgClient> | null;
  return !!d && typeof d.query === 'function' && typeof d.escapeIdentifier === 'function';
}

/** CREATE statements for the session table (with the user index column) and its atime index (idempotent). */
export function postgresDDL(table: string): string[] {
  const t = table.toLowerCase();
  return [
    `CREATE TABLE IF NOT EXISTS "${t}" (\n  session_id CHAR(128) UNIQUE NOT NULL,\n  atime TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),\n  data TEXT,\n  ${USER_COLUMN} VARCHAR(256)\n)`,
    `CREATE INDEX IF NOT EXISTS "${t}_atime_idx" ON "${t}" (atime)`,
  ];
}

/** The index of the user column (run only when the table has the column). */
export function postgresUserDDL(table: string): string[] {
  const t = table.toLowerCase();
  return [`CREATE INDEX IF NOT EXISTS "${t}_user_idx" ON "${t}" (${USER_COLUMN})`];
}

// SQLSTATE classes: 08 connection exception, 57P0x shutdown / cannot connect now, 53300 too many connections.
const UNAVAILABLE_STATE = /^(08...|57P0[1-4]|53300)$/;
const UNAVAILABLE_MESSAGE =
  /connection terminated|not queryable|timeout exceeded when trying to connect|cannot use a pool after calling end|connection refused|terminating connection/i;

function pgDialect(table: string): SqlDialect {
  // Unquoted identifiers fold to lower case in PostgreSQL; quoting the folded name keeps that
  // meaning and lets a table be called by a reserved word.
  const t = `"${table.toLowerCase()}"`;
  const tag = createHash('sha256').update(table).digest('hex').slice(0, 10);
  const q = (op: string, text: string, values: unknown[]): Query => ({
    name: `websession_${tag}_${op}`,
    text,
    values,
  });
  const iso = (ms: number) => new Date(ms).toISOString();
  const U = USER_COLUMN;
  const cols = 'data, (EXTRACT(EPOCH FROM atime) * 1000)::float8 AS atime';
  return {
    kind: 'postgres',
    get: (key) => q('get', `SELECT ${cols} FROM ${t} WHERE session_id = $1`, [key]),
    upsert: (key, atime, data, user) =>
      user === undefined
        ? q(
            'upsert',
            `INSERT INTO ${t} (session_id, atime, data) VALUES ($1, $2, $3) ON CONFLICT (session_id) DO UPDATE SET atime = EXCLUDED.atime, data = EXCLUDED.data`,
            [key, iso(atime), data],
          )
        : q(
            'upsert_user',
            `INSERT INTO ${t} (session_id, atime, data, ${U}) VALUES ($1, $2, $3, $4) ON CONFLICT (session_id) DO UPDATE SET atime = EXCLUDED.atime, data = EXCLUDED.data, ${U} = EXCLUDED.${U}`,
            [key, iso(atime), data, user],
          ),
    insertNew: (key, atime, data, user) =>
      user === undefined
        ? q(
            'insert',
            `INSERT INTO ${t} (session_id, atime, data) VALUES ($1, $2, $3) ON CONFLICT (session_id) DO NOTHING`,
            [key, iso(atime), data],
          )
        : q(
            'insert_user',
            `INSERT INTO ${t} (session_id, atime, data, ${U}) VALUES ($1, $2, $3, $4) ON CONFLICT (session_id) DO NOTHING`,
            [key, iso(atime), data, user],
          ),
    lockRow: (key) => q('lock', `SELECT ${cols} FROM ${t} WHERE session_id = $1 FOR UPDATE`, [key]),
    update: (key, atime, data, user: UserValue) =>
      user === undefined
        ? q('update', `UPDATE ${t} SET atime = $2, data = $3 WHERE session_id = $1`, [
            key,
            iso(atime),
            data,
          ])
        : q(
            'update_user',
            `UPDATE ${t} SET atime = $2, data = $3, ${U} = $4 WHERE session_id = $1`,
            [key, iso(atime), data, user],
          ),
    updateIf(key, atime, data, user, expected) {
      const u = this.update(key, atime, data, user);
      const op = user === undefined ? 'update_if' : 'update_user_if';
      return q(op, `${u.text} AND data = $${u.values.length + 1}`, [...u.values, expected]);
    },
    userKeys: (user) => q('user_keys', `SELECT session_id FROM ${t} WHERE ${U} = $1`, [user]),
    // to_regclass resolves the name as every statement here does (search_path); no rows when missing.
    columns: () =>
      q(
        'columns',
        'SELECT attname AS name FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped',
        [t],
      ),
    userDDL: () => postgresUserDDL(table),
    touch: (key, atime) =>
      q('touch', `UPDATE ${t} SET atime = $2 WHERE session_id = $1`, [key, iso(atime)]),
    delete: (key) => q('delete', `DELETE FROM ${t} WHERE session_id = $1`, [key]),
    // The outer `atime < $1` is re-checked on rows updated meanwhile: a session touched since the
    // inner select survives.
    deleteExpired: (cutoff, limit) =>
      q(
        'expire',
        `DELETE FROM ${t} WHERE session_id IN (SELECT session_id FROM ${t} WHERE atime < $1 LIMIT $2) AND atime < $1`,
        [iso(cutoff), limit],
      ),
    keysAfter: (after, limit) =>
      q('keys', `SELECT session_id FROM ${t} WHERE session_id > $1 ORDER BY session_id LIMIT $2`, [
        after,
        limit,
      ]),
    begin: 'BEGIN',
    ddl: () => postgresDDL(table),
    // 42P07 duplicate table, 42710 duplicate object, 23505 a concurrent CREATE won the catalog race.
    isAlreadyThere: (err) =>
      ['42P07', '42710', '23505'].includes(String((err as { code?: unknown })?.code)),
    isRetryable: (err) => ['40P01', '40001'].includes(String((err as { code?: unknown })?.code)),
    isUnavailable: (err) => {
      if (isNetworkError(err)) return true;
      const code = (err as { code?: unknown } | null)?.code;
      if (typeof code === 'string' && UNAVAILABLE_STATE.test(code)) return true;
      return err instanceof Error && UNAVAILABLE_MESSAGE.test(err.message);
    },
  };
}

function conn(c: PgQueryable): SqlConn {
  return {
    rows: async (q) => (await c.query(q)).rows,
    run: async (q) => (await c.query(q)).rowCount ?? 0,
    exec: async (sql) => void (await c.query(sql)),
  };
}

/** Without a listener, an idle connection's error (server restart, killed backend) kills Node. */
function guard(emitter: PgEmitter, warn: (err: Error) => void): void {
  if (emitter.listenerCount('error') === 0) emitter.on('error', warn);
}

function poolSource(pool: PgPool, owned: boolean): SqlSource {
  const direct = conn(pool);
  return {
    once: (fn) => fn(direct),
    async exclusive(fn, isBroken) {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        return await fn(conn(client));
      } catch (err) {
        if (isBroken(err)) broken = err as Error;
        throw err;
      } finally {
        client.release(broken);
      }
    },
    close: async () => {
      if (owned) await pool.end();
    },
  };
}

/** What DBStore reads of a `pg` Client to open another one like it (pg keeps no copy of the config). */
interface PgClientInternals {
  connectionParameters?: Record<string, unknown>;
  password?: unknown;
  binary?: unknown;
  enableChannelBinding?: unknown;
  scramMaxIterations?: unknown;
  _types?: unknown;
  _connectionTimeoutMillis?: unknown;
  _ending?: unknown;
  connection?: { _keepAlive?: unknown; _keepAliveInitialDelayMillis?: unknown };
  on(event: 'error' | 'end', fn: (err?: Error) => void): unknown;
}

/** The connection parameters `pg` resolved for this Client (copied from `client.connectionParameters`). */
const PG_PARAMETERS = [
  'user',
  'database',
  'host',
  'port',
  'ssl',
  'sslnegotiation',
  'options',
  'client_encoding',
  'replication',
  'application_name',
  'fallback_application_name',
  'statement_timeout',
  'lock_timeout',
  'idle_in_transaction_session_timeout',
  'query_timeout',
] as const;

/**
 * The settings of a connected `pg` Client, as a config for a new one: what `pg` resolved from the
 * application's config, connection string and environment (`client.connectionParameters`), the
 * password (a string or the application's password function), the connect timeout, keep-alive,
 * and the Client's type parsers. Undefined when the object keeps no connection parameters.
 */
export function pgClientConfig(client: PgClient): Record<string, unknown> | undefined {
  const c = client as unknown as PgClientInternals;
  const p = c.connectionParameters;
  if (!p || typeof p !== 'object') return undefined;
  const config: Record<string, unknown> = {};
  for (const name of PG_PARAMETERS) config[name] = p[name];
  Object.assign(config, {
    password: c.password ?? p.password,
    binary: c.binary,
    enableChannelBinding: c.enableChannelBinding,
    scramMaxIterations: c.scramMaxIterations,
    connectionTimeoutMillis: c._connectionTimeoutMillis,
    keepAlive: c.connection?._keepAlive,
    keepAliveInitialDelayMillis: c.connection?._keepAliveInitialDelayMillis,
    types: c._types,
  });
  for (const [name, value] of Object.entries(config))
    if (value === undefined || value === null) delete config[name];
  return config;
}

/** A pg Client as the emitter of its 'error' and 'end' events. */
const asEvents = (client: PgClient) => client as unknown as PgClientInternals;

/** Opens a Client of the same class and settings as `client`, for the store's own use. */
function reopenLike(client: PgClient): (() => Promise<Link>) | string {
  const config = pgClientConfig(client);
  if (!config) return 'it keeps no connection parameters (not a pg Client)';
  const Client = client.constructor as new (config: Record<string, unknown>) => PgClient;
  return async () => {
    const next = new Client(config);
    next.on('error', () => {}); // until the store watches it
    try {
      await next.connect();
    } catch (err) {
      await next.end().catch(() => {});
      throw err;
    }
    return linkOf(conn(next), asEvents(next), () => next.end());
  };
}

/**
 * The Backend over a pg Pool or a connected Client. `owned`: close it with the store. A Client
 * that loses its connection is replaced by one the store opens itself (see {@link singleSource}).
 */
export function postgresBackend(
  db: PgPool | PgClient,
  table: string,
  owned: boolean,
  warn: (err: Error) => void,
): Backend {
  const dialect = pgDialect(table);
  if (isPgPool(db)) {
    guard(db, warn);
    return sqlBackend(dialect, poolSource(db, owned));
  }
  // The store's own listener keeps an idle connection's 'error' from killing Node.
  const source = singleSource({
    label: 'the pg Client',
    app: linkOf(conn(db), asEvents(db), async () => {
      if (owned) await db.end();
    }),
    closedByApplication: () => (db as unknown as PgClientInternals)._ending === true,
    reopen: reopenLike(db),
    isUnavailable: dialect.isUnavailable,
    warn,
  });
  return sqlBackend(dialect, source);
}
