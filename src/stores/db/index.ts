/**
 * DBStore: web.py's DBStore, sessions in a table of the application's own database, on SQLite
 * (better-sqlite3), PostgreSQL (pg) and MySQL/MariaDB (mysql2). The table is web.py's:
 *
 *     session_id CHAR(128) UNIQUE NOT NULL,
 *     atime DATETIME NOT NULL default current_timestamp,
 *     data TEXT
 *
 * `session_id` holds the store key (SHA-256 of the session id, 64 hex), `atime` the last access
 * in UTC, `data` the codec text as it is. Tables made by `createSessionTable` (and from store
 * URLs) have a fourth, optional column `user_id VARCHAR(256)` with an index: the user index,
 * written by the same statement as the session. On a table without it the store works as
 * web.py's, and `userSessions` throws UnsupportedError.
 * @module
 */
import {
  ConfigError,
  StoreError,
  StoreUnavailableError,
  UnsupportedError,
  WebSessionError,
} from '../../core/errors.js';
import { assertKey } from '../key.js';
import type { Store, StoreCapabilities, StoredSession, StoreMutator } from '../store.js';
import {
  type Backend,
  CLEANUP_BATCH,
  checkMutation,
  checkTableName,
  type Dbn,
  KEYS_PAGE,
} from './common.js';
import { Database, dbnOf } from './database.js';
import {
  isMysqlCallbackHandle,
  isMysqlConnection,
  isMysqlPool,
  type MyCallbackHandle,
  type MyConnection,
  type MyPool,
  mysqlBackend,
  mysqlDDL,
  mysqlUserDDL,
} from './mysql.js';
import {
  isPgClient,
  isPgPool,
  type PgClient,
  type PgPool,
  postgresBackend,
  postgresDDL,
  postgresUserDDL,
} from './postgres.js';
import { isNetworkError } from './sql.js';
import {
  isSqliteDatabase,
  type SqliteDatabase,
  sqliteBackend,
  sqliteDDL,
  sqliteUserDDL,
} from './sqlite.js';

export type { Dbn } from './common.js';
export { Database, type DatabaseParams, database } from './database.js';
export type { MyCallbackHandle, MyConnection, MyPool } from './mysql.js';
export type { PgClient, PgPool } from './postgres.js';
export type { SqliteDatabase } from './sqlite.js';

/**
 * What DBStore accepts: what {@link database} returns, or the handle the application already
 * has (a better-sqlite3 `Database`, a `pg` Pool or connected Client, a `mysql2` pool or
 * connection of either API), recognised by shape.
 */
export type DatabaseHandle =
  | Database
  | SqliteDatabase
  | PgPool
  | PgClient
  | MyPool
  | MyConnection
  | MyCallbackHandle;

/** Options of {@link DBStore}. */
export interface DBStoreOptions {
  /**
   * Create the table and its `atime` index before first use, if missing. Default false: like
   * web.py's, the store expects the table (see {@link createSessionTable} and the README's DDL).
   */
  createTable?: boolean;
  /**
   * Close the database when the store closes. Default false: the application's handle stays the
   * application's. A connection the store opened itself (to replace a lost single connection) is
   * always closed with the store.
   */
  closeDatabase?: boolean;
  /**
   * Told of errors on idle connections of a pool given directly (the pool replaces them), and
   * once each time a single connection given directly (a pg Client, a mysql2 connection) is found
   * lost (the store replaces it with its own). Default: console.warn. For `database(…)`, pass
   * `onError` there.
   */
  onError?: (err: Error) => void;
}

const ENGINE_NAME: Record<Dbn, string> = {
  sqlite: 'SQLite',
  postgres: 'PostgreSQL',
  mysql: 'MySQL',
};
/** Operations that only read: their failure never says "refused the write". */
const READS = new Set(['get', 'keys', 'list user', 'inspect table']);

/** A connection that could not be made (refused, timed out, no route, unknown host). */
function isConnectFailure(err: unknown, text: string): boolean {
  if (isNetworkError(err)) return true;
  return /timeout exceeded when trying to connect|connect ETIMEDOUT|Connection terminated due to connection timeout/i.test(
    text,
  );
}

const HANDLE_HELP =
  'DBStore needs a database: web.database({ dbn, db, … }), a better-sqlite3 Database, a pg Pool or Client, or a mysql2 pool or connection';

function engineOf(db: unknown): Dbn {
  if (db instanceof Database) return db.dbn;
  if (isSqliteDatabase(db)) return 'sqlite';
  if (isMysqlCallbackHandle(db) || isMysqlPool(db) || isMysqlConnection(db)) return 'mysql';
  if (isPgPool(db) || isPgClient(db)) return 'postgres';
  throw new ConfigError(HANDLE_HELP);
}

function backendFor(
  dbn: Dbn,
  handle: unknown,
  table: string,
  owned: boolean,
  warn: (err: Error) => void,
): Backend {
  if (dbn === 'sqlite' && isSqliteDatabase(handle)) return sqliteBackend(handle, table, owned);
  if (dbn === 'postgres' && (isPgPool(handle) || isPgClient(handle)))
    return postgresBackend(handle, table, owned, warn);
  if (
    dbn === 'mysql' &&
    (isMysqlCallbackHandle(handle) || isMysqlPool(handle) || isMysqlConnection(handle))
  )
    return mysqlBackend(handle, table, owned, warn);
  throw new ConfigError(HANDLE_HELP);
}

/** Where {@link DBStore.quarantine} moves a row: `session_id = 'quarantine:<key>'`. */
const QUARANTINE_PREFIX = 'quarantine:';
const STORE_KEY = /^[0-9a-f]{64}$/;

/** Errors thrown by a mutator pass through the store unchanged. */
const mutatorErrors = new WeakSet<object>();

function errorText(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0)
    return err.errors.map(errorText).join('; ');
  if (err instanceof Error) return err.message || (err as { code?: string }).code || err.name;
  return String(err);
}

/** How long one cleanup statement may hold the event loop on SQLite (ms). */
const SQLITE_STEP_MS = 5;

/**
 * Keeps sessions in one table of a SQL database. `update` holds the row's lock in a transaction
 * (SQLite: `BEGIN IMMEDIATE`; PostgreSQL and MySQL: `SELECT … FOR UPDATE`), so it is atomic
 * across processes; `set` is a one-statement upsert.
 *
 * @example
 * const store = new DBStore(database({ dbn: 'sqlite', db: './sessions.db' }), 'sessions', { createTable: true });
 * const store = new DBStore(pgPool, 'sessions');          // the pg Pool the application has
 * const store = new DBStore(mysql2Pool, 'sessions');      // a mysql2 pool, promise or callback API
 */
export class DBStore implements Store {
  /** `sqlite`, `postgres` or `mysql`. */
  readonly kind: Dbn;
  readonly capabilities: StoreCapabilities = { lock: 'cross-process', nativeTtl: false };
  /** The table name. */
  readonly table: string;
  /** What the store was given. */
  readonly db: DatabaseHandle;
  readonly #options: DBStoreOptions;
  #backend: Promise<Backend> | undefined;
  /** The backend once built (even while its table is still being created). */
  #built: Backend | undefined;
  /** Whether the table's user_id column has been looked for (and found or not). */
  #userKnown = false;
  #userIndex = false;
  #closed = false;

  constructor(db: DatabaseHandle, tableName = 'sessions', options: DBStoreOptions = {}) {
    this.table = checkTableName(tableName);
    this.kind = engineOf(db);
    this.db = db;
    this.#options = options;
  }

  #ready(): Promise<Backend> {
    if (this.#closed)
      return Promise.reject(new StoreUnavailableError(this.kind, 'this store is closed'));
    this.#backend ??= (async () => {
      const db = this.db;
      const warn =
        this.#options.onError ??
        ((err: Error) =>
          console.warn(`[websession] [${this.kind}] connection error: ${err.message}`));
      const backend =
        db instanceof Database
          ? backendFor(this.kind, await db.handle(), this.table, false, warn)
          : backendFor(this.kind, db, this.table, this.#options.closeDatabase ?? false, warn);
      this.#built = backend;
      if (this.#options.createTable) await backend.createTable();
      return backend;
    })().catch((err: unknown) => {
      this.#backend = undefined; // the next call tries again (the database may be back)
      throw err;
    });
    return this.#userKnown ? this.#backend : this.#backend.then((b) => this.#detectUser(b));
  }

  /**
   * Looks once whether the table has the `user_id` column (the user index) and switches the
   * writes to keep it. While the table is missing it looks again on the next call.
   */
  async #detectUser(b: Backend): Promise<Backend> {
    const found = await b.hasUserColumn();
    b.useUserColumn(found === true);
    this.#userIndex = found === true;
    if (found !== undefined) this.#userKnown = true;
    return b;
  }

  #fail(op: string, err: unknown, backend: Backend | undefined): Error {
    if (err instanceof WebSessionError) return err;
    if (err && typeof err === 'object' && mutatorErrors.has(err)) return err as Error;
    const text = errorText(err);
    if (!backend || backend.isUnavailable(err)) {
      // In the user's words: a connection that could not be made says so and where; otherwise a
      // read says the database is unavailable, a write that it may also have refused the write.
      const why = isConnectFailure(err, text)
        ? `cannot reach ${ENGINE_NAME[this.kind]}${this.#where(err)}`
        : READS.has(op)
          ? 'the database is unavailable'
          : 'the database is unavailable or refused the write';
      return new StoreUnavailableError(this.kind, `${op} failed: ${why} (${text})`, {
        cause: err,
      });
    }
    const code = (err as { code?: unknown; errno?: unknown } | null) ?? {};
    // The server gave up a statement (statement_timeout, lock_timeout, innodb_lock_wait_timeout,
    // max_execution_time, max_statement_time): nothing of it was written.
    if (
      ['57014', '55P03'].includes(String(code.code)) ||
      [1205, 3024, 1969].includes(Number(code.errno))
    ) {
      return new StoreUnavailableError(
        this.kind,
        `${op} failed: the database did not finish it in time, nothing was written (${text})`,
        { cause: err },
      );
    }
    if (code.code === '42P01' || code.errno === 1146 || /no such table/i.test(text)) {
      return new StoreError(
        this.kind,
        `${op} failed: table "${this.table}" does not exist; create it with createSessionTable(db, '${this.table}') or the DDL in the README`,
        { cause: err },
      );
    }
    return new StoreError(this.kind, `${op} failed on table "${this.table}": ${text}`, {
      cause: err,
    });
  }

  /** ` at host:port` of a connection failure, from the error or the database's parameters. */
  #where(err: unknown): string {
    const e = err as { address?: unknown; port?: unknown; errors?: unknown[] } | null;
    const first = (e?.errors?.[0] ?? e) as { address?: unknown; port?: unknown } | null;
    if (typeof first?.address === 'string' && first.port !== undefined)
      return ` at ${first.address}:${first.port}`;
    if (this.db instanceof Database && this.db.where) return ` at ${this.db.where}`;
    return '';
  }

  async #run<T>(op: string, fn: (b: Backend) => Promise<T>): Promise<T> {
    try {
      return await fn(await this.#ready());
    } catch (err) {
      throw this.#fail(op, err, this.#built);
    }
  }

  async get(key: string): Promise<StoredSession | undefined> {
    assertKey(key, this.kind);
    return this.#run('get', (b) => b.get(key));
  }

  async set(key: string, record: StoredSession): Promise<void> {
    assertKey(key, this.kind);
    checkMutation(record);
    return this.#run('set', (b) => b.set(key, record));
  }

  /**
   * Inserts the row only if the key is free (false when taken). Engines without a dedicated
   * insert run it as the locked update whose mutator writes only when there is no row.
   */
  async create(key: string, record: StoredSession): Promise<boolean> {
    assertKey(key, this.kind);
    checkMutation(record);
    return this.#run('create', async (b) => {
      if (b.create) return b.create(key, record);
      let created = false;
      await b.update(key, (current) => {
        created = current === undefined;
        return created ? record : undefined;
      });
      return created;
    });
  }

  async update(
    key: string,
    mutator: StoreMutator,
    expected?: StoredSession,
  ): Promise<StoredSession | undefined> {
    assertKey(key, this.kind);
    const checked: StoreMutator = (current) => {
      try {
        return checkMutation(mutator(current));
      } catch (err) {
        if (err && typeof err === 'object') mutatorErrors.add(err);
        throw err;
      }
    };
    return this.#run('update', (b) => b.update(key, checked, expected));
  }

  async touch(key: string, atime: number): Promise<void> {
    assertKey(key, this.kind);
    return this.#run('touch', (b) => b.touch(key, atime));
  }

  async delete(key: string): Promise<void> {
    assertKey(key, this.kind);
    return this.#run('delete', (b) => b.delete(key));
  }

  /**
   * Deletes rows idle longer than `maxIdleSeconds` through the `atime` index, at most 1000 per
   * statement (on SQLite, whose driver runs on the event loop, as many as take about 5 ms),
   * yielding to other work between statements; returns how many it deleted.
   * `onProgress` is told the running count after each statement.
   */
  async cleanup(
    maxIdleSeconds: number,
    onProgress?: (progress: { scanned: number; removed: number }) => void,
  ): Promise<number> {
    // A closed store has nothing left to clean (a background cleanup racing close() stops
    // quietly between statements instead of failing as "closed").
    if (this.#closed) return 0;
    const cutoff = Date.now() - maxIdleSeconds * 1000;
    // SQLite runs on this thread: each statement is sized so that it takes about
    // SQLITE_STEP_MS, so no pause of the event loop comes near 50 ms whatever the disk.
    const inThread = this.kind === 'sqlite';
    let batch = inThread ? CLEANUP_BATCH / 10 : CLEANUP_BATCH;
    let removed = 0;
    for (;;) {
      const started = performance.now();
      const n = await this.#run('cleanup', (b) => b.deleteExpired(cutoff, batch));
      removed += n;
      onProgress?.({ scanned: removed, removed });
      if (n < batch) return removed;
      if (inThread) {
        const ms = performance.now() - started;
        if (ms > SQLITE_STEP_MS) batch = Math.max(10, Math.floor(batch / 2));
        else if (ms < SQLITE_STEP_MS / 4) batch = Math.min(CLEANUP_BATCH, batch * 2);
      }
      await new Promise((resolve) => setImmediate(resolve));
      if (this.#closed) return removed;
    }
  }

  /**
   * Moves a record that failed to decode aside: its row is renamed `quarantine:<key>` (atime set
   * to now), so it is no longer served nor listed by `keys()`, and stays for inspection
   * (`SELECT data FROM sessions WHERE session_id = 'quarantine:<key>'`) until cleanup removes it
   * with the rows idle past the timeout.
   */
  async quarantine(key: string): Promise<void> {
    assertKey(key, this.kind);
    return this.#run('quarantine', async (b) => {
      const record = await b.get(key);
      if (!record) return;
      await b.set(QUARANTINE_PREFIX + key, { data: record.data, atime: Date.now() });
      await b.delete(key);
    });
  }

  async *keys(): AsyncIterable<string> {
    let after = '';
    for (;;) {
      const page = await this.#run('keys', (b) => b.keysAfter(after, KEYS_PAGE));
      for (const k of page) if (STORE_KEY.test(k)) yield k;
      if (page.length < KEYS_PAGE) return;
      after = page[page.length - 1]!;
    }
  }

  /**
   * Keys of the sessions bound to `user`: `SELECT session_id … WHERE user_id = ?` through the
   * `<table>_user_idx` index. The `user_id` column is written by the same statement as the
   * session (so it is atomic with it) and goes with the row on delete and cleanup.
   * @throws UnsupportedError when the table has no `user_id` column (web.py's three-column
   *   table): add it with the README's ALTER TABLE, or create the table with `createSessionTable`.
   */
  async userSessions(user: string): Promise<string[]> {
    return this.#run('list user', async (b) => {
      if (!this.#userIndex)
        throw new UnsupportedError(
          this.kind,
          `table "${this.table}" has no user_id column, so it keeps no user index; add it (ALTER TABLE ${this.table} ADD COLUMN user_id VARCHAR(256), plus an index on it: see the README) or create the table with createSessionTable, then restart`,
        );
      return b.userKeys(user);
    });
  }

  /** True when the table has the `user_id` column (the user index); looks it up on first call. */
  async hasUserIndex(): Promise<boolean> {
    await this.#run('inspect table', async () => undefined);
    return this.#userIndex;
  }

  /** True when the table exists (connects to the database to look; creates nothing). */
  async tableExists(): Promise<boolean> {
    return this.#run('inspect table', async (b) => (await b.hasUserColumn()) !== undefined);
  }

  /**
   * Creates the table (with the `user_id` column) and its `atime` and `user_id` indexes if
   * missing (idempotent). An existing table is left as it is (a table without `user_id` keeps
   * working, without the user index).
   */
  async createTable(): Promise<void> {
    await this.#run('create table', (b) => b.createTable());
    this.#userKnown = false; // look again: the table may be new
  }

  /**
   * Closes the database if the store owns it (`closeDatabase`, or a store made from a URL), and
   * the connection it opened itself to replace a lost single connection, if any.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const backend = await this.#backend?.catch(() => undefined);
    // Closing succeeds quietly: a driver that ends a pool while one of its connections is still
    // failing to connect (an outage) rejects with that stale error, yet the pool is closed.
    await backend?.close().catch(() => {});
    if (this.#options.closeDatabase && this.db instanceof Database) await this.db.close();
  }
}

/**
 * Creates the session table and its `atime` index if missing, in the engine's dialect.
 * @example await createSessionTable(web.database({ dbn: 'sqlite', db: './sessions.db' }), 'sessions');
 */
export async function createSessionTable(
  db: DatabaseHandle,
  tableName = 'sessions',
): Promise<void> {
  await new DBStore(db, tableName).createTable();
}

/** The CREATE statements {@link createSessionTable} runs, for reading or for a migration file. */
export function sessionTableDDL(dbn: string, tableName = 'sessions'): string[] {
  const table = checkTableName(tableName);
  const engine = dbnOf(dbn);
  return engine === 'sqlite'
    ? [...sqliteDDL(table), ...sqliteUserDDL(table)]
    : engine === 'postgres'
      ? [...postgresDDL(table), ...postgresUserDDL(table)]
      : [...mysqlDDL(table), ...mysqlUserDDL(table)];
}
