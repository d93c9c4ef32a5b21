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
import * as errors from '../../core/errors.js';
import { assertKey } from '../key.js';
import type {
  Store,
  StoreCapabilities,
  StoredSession,
  StoreLease,
  StoreMutator,
} from '../store.js';
import {
  checkMutation,
  checkTableName,
  type Dbn,
  type Engine,
  isNetworkError,
  tableDDL,
} from './common.js';
import { Database, dbnOf } from './database.js';
import * as my from './mysql.js';
import * as pg from './postgres.js';
import { isSqliteDatabase, type SqliteDatabase, SqliteEngine } from './sqlite.js';

export type { Dbn } from './common.js';
export { Database, type DatabaseParams, database } from './database.js';
export type { MyCallbackHandle, MyConnection, MyPool } from './mysql.js';
export type { PgClient, PgPool } from './postgres.js';
export type { SqliteDatabase } from './sqlite.js';

/**
 * What DBStore accepts: what {@link database} returns; a `postgres://` or `mysql://` URL (the
 * store opens and owns a pool); or the handle the application has (a better-sqlite3 `Database`,
 * a `pg` Pool or connected Client, a `mysql2` pool or connection of either API), recognised by
 * shape. A single connection is used as it is: once lost, every call fails as unavailable (503)
 * with a message to give a pool instead.
 */
export type DatabaseHandle =
  | Database
  | string
  | SqliteDatabase
  | pg.PgPool
  | pg.PgClient
  | my.MyPool
  | my.MyConnection
  | my.MyCallbackHandle;

/** Options of {@link DBStore}. */
export interface DBStoreOptions {
  /**
   * Create the table and its `atime` index before first use, if missing. Default false: like
   * web.py's, the store expects the table (see {@link createSessionTable} and the README's DDL).
   */
  createTable?: boolean;
  /**
   * Close the database when the store closes. Default false: the application's handle stays the
   * application's. A pool the store opened from a URL is always closed with the store.
   */
  closeDatabase?: boolean;
  /**
   * Told of errors on idle connections of a pool given directly (the pool replaces them), and
   * once when a single connection given directly is found lost. Default: console.warn. For
   * `database(…)`, pass `onError` there.
   */
  onError?: (err: Error) => void;
}

const ENGINE_NAME = { sqlite: 'SQLite', postgres: 'PostgreSQL', mysql: 'MySQL' };
/** Operations that only read: their failure never says "refused the write". */
const READS = new Set(['get', 'keys', 'list user', 'inspect table']);
const CONNECT_FAILURE =
  /timeout exceeded when trying to connect|connect ETIMEDOUT|Connection terminated due to connection timeout/i;
const HANDLE_HELP =
  'DBStore needs a database: web.database({ dbn, db, … }), a postgres:// or mysql:// URL, a better-sqlite3 Database, a pg Pool or Client, or a mysql2 pool or connection';

function engineOf(db: unknown): Dbn {
  if (db instanceof Database) return db.dbn;
  if (isSqliteDatabase(db)) return 'sqlite';
  if (my.isMysqlCallbackHandle(db) || my.isMysqlPool(db) || my.isMysqlConnection(db))
    return 'mysql';
  if (pg.isPgPool(db) || pg.isPgClient(db)) return 'postgres';
  throw new errors.ConfigError(HANDLE_HELP);
}

function engineFor(dbn: Dbn, db: unknown, table: string, owned: boolean, warn: (e: Error) => void) {
  if (engineOf(db) !== dbn) throw new errors.ConfigError(HANDLE_HELP);
  if (dbn === 'sqlite') return new SqliteEngine(db as SqliteDatabase, table, owned);
  if (dbn === 'postgres') return pg.postgresEngine(db as pg.PgPool, table, owned, warn);
  return my.mysqlEngine(db as my.MyPool, table, owned, warn);
}

/** Where {@link DBStore.quarantine} moves a row: `session_id = 'quarantine:<key>'`. */
const QUARANTINE_PREFIX = 'quarantine:';
const STORE_KEY = /^[0-9a-f]{64}$/;
/** Rows removed per cleanup statement, and keys read per page by `keys()`. */
const BATCH = 1000;
/** How long one cleanup statement may hold the event loop on SQLite (ms). */
const SQLITE_STEP_MS = 5;

/** Errors thrown by a mutator pass through the store unchanged. */
const mutatorErrors = new WeakSet<object>();

function errorText(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0)
    return err.errors.map(errorText).join('; ');
  if (err instanceof Error) return err.message || (err as { code?: string }).code || err.name;
  return String(err);
}

/**
 * Keeps sessions in one table of a SQL database. `update` holds the row's lock in a transaction
 * (SQLite: `BEGIN IMMEDIATE`; PostgreSQL and MySQL: `SELECT … FOR UPDATE`), so it is atomic
 * across processes; `set` is a one-statement upsert.
 *
 * @example
 * const store = new DBStore(database({ dbn: 'sqlite', db: './sessions.db' }), 'sessions', { createTable: true });
 * const store = new DBStore(pgPool, 'sessions');          // the pg Pool the application has
 * const store = new DBStore('postgres://app@db/app');     // a pool of the store's own
 */
export class DBStore implements Store {
  /** `sqlite`, `postgres` or `mysql`. */
  readonly kind: Dbn;
  readonly capabilities: StoreCapabilities = { lock: 'cross-process', nativeTtl: false };
  /** The table name. */
  readonly table: string;
  /** What the store was given (a URL as the Database made of it). */
  readonly db: Exclude<DatabaseHandle, string>;
  readonly #options: DBStoreOptions;
  #engine: Promise<Engine> | undefined;
  /** The engine once built (even while its table is still being created). */
  #built: Engine | undefined;
  /** Whether the table's user_id column has been looked for (and found or not). */
  #userKnown = false;
  #closed = false;

  constructor(db: DatabaseHandle, tableName = 'sessions', options: DBStoreOptions = {}) {
    this.table = checkTableName(tableName);
    this.db = typeof db === 'string' ? new Database({ dbn: db.split(':')[0]!, url: db }) : db;
    this.kind = engineOf(this.db);
    this.#options = typeof db === 'string' ? { ...options, closeDatabase: true } : options;
  }

  #ready(): Promise<Engine> {
    if (this.#closed)
      return Promise.reject(new errors.StoreUnavailableError(this.kind, 'this store is closed'));
    this.#engine ??= (async () => {
      const { db, table, kind } = this;
      const warn =
        this.#options.onError ??
        ((err: Error) => console.warn(`[websession] [${kind}] connection error: ${err.message}`));
      const engine =
        db instanceof Database
          ? engineFor(kind, await db.handle(), table, false, warn)
          : engineFor(kind, db, table, this.#options.closeDatabase ?? false, warn);
      this.#built = engine;
      if (this.#options.createTable) await engine.createTable();
      return engine;
    })().catch((err: unknown) => {
      this.#engine = undefined; // the next call tries again (the database may be back)
      throw err;
    });
    // Looks once whether the table has `user_id` (the user index) and has the writes keep it;
    // while the table is missing it looks again on the next call.
    return this.#userKnown
      ? this.#engine
      : this.#engine.then(async (e) => {
          const found = await e.hasUserColumn();
          e.userColumn = found === true;
          this.#userKnown = found !== undefined;
          return e;
        });
  }

  #fail(op: string, err: unknown): Error {
    if (err instanceof errors.WebSessionError) return err;
    if (err && typeof err === 'object' && mutatorErrors.has(err)) return err as Error;
    const text = errorText(err);
    const kind = this.kind;
    if (!this.#built || this.#built.isUnavailable(err)) {
      // In the user's words: a connection that could not be made says so and where; otherwise a
      // read says the database is unavailable, a write that it may also have refused the write.
      const why =
        isNetworkError(err) || CONNECT_FAILURE.test(text)
          ? `cannot reach ${ENGINE_NAME[kind]}${this.#where(err)}`
          : `the database is unavailable${READS.has(op) ? '' : ' or refused the write'}`;
      return new errors.StoreUnavailableError(kind, `${op} failed: ${why} (${text})`, {
        cause: err,
      });
    }
    const { code, errno } = (err ?? {}) as { code?: unknown; errno?: unknown };
    // The server gave up a statement (statement_timeout, lock_timeout, innodb_lock_wait_timeout,
    // max_execution_time, max_statement_time): nothing of it was written.
    if (['57014', '55P03'].includes(String(code)) || [1205, 3024, 1969].includes(Number(errno)))
      return new errors.StoreUnavailableError(
        kind,
        `${op} failed: the database did not finish it in time, nothing was written (${text})`,
        { cause: err },
      );
    const message =
      code === '42P01' || errno === 1146 || /no such table/i.test(text)
        ? `${op} failed: table "${this.table}" does not exist; create it with createSessionTable(db, '${this.table}') or the DDL in the README`
        : `${op} failed on table "${this.table}": ${text}`;
    return new errors.StoreError(kind, message, { cause: err });
  }

  /** ` at host:port` of a connection failure, from the error or the database's parameters. */
  #where(err: unknown): string {
    const e = err as { address?: unknown; port?: unknown; errors?: unknown[] } | null;
    const first = (e?.errors?.[0] ?? e) as { address?: unknown; port?: unknown } | null;
    if (typeof first?.address === 'string' && first.port !== undefined)
      return ` at ${first.address}:${first.port}`;
    return this.db instanceof Database && this.db.where ? ` at ${this.db.where}` : '';
  }

  /** Runs `fn` on the engine (after checking `key` and `record`), mapping its errors. */
  async #run<T>(
    op: string,
    key: string | undefined,
    fn: (e: Engine) => Promise<T>,
    record?: StoredSession,
  ): Promise<T> {
    if (key !== undefined) assertKey(key, this.kind);
    if (record) checkMutation(record);
    try {
      return await fn(await this.#ready());
    } catch (err) {
      throw this.#fail(op, err);
    }
  }

  get(key: string): Promise<StoredSession | undefined> {
    return this.#run('get', key, (e) => e.get(key));
  }

  set(key: string, record: StoredSession): Promise<void> {
    return this.#run('set', key, (e) => e.set(key, record), record);
  }

  /** Inserts the row only if the key is free (false when taken): never an upsert. */
  create(key: string, record: StoredSession): Promise<boolean> {
    return this.#run('create', key, (e) => e.create(key, record), record);
  }

  update(key: string, mutator: StoreMutator, expected?: StoredSession) {
    const checked: StoreMutator = (current) => {
      try {
        return checkMutation(mutator(current));
      } catch (err) {
        if (err && typeof err === 'object') mutatorErrors.add(err);
        throw err;
      }
    };
    return this.#run('update', key, (e) => e.update(key, checked, expected));
  }

  touch(key: string, atime: number): Promise<void> {
    return this.#run('touch', key, (e) => e.touch(key, atime));
  }

  delete(key: string): Promise<void> {
    return this.#run('delete', key, (e) => e.delete(key));
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
    let batch = inThread ? BATCH / 10 : BATCH;
    let removed = 0;
    for (;;) {
      const started = performance.now();
      const n = await this.#run('cleanup', undefined, (e) => e.deleteExpired(cutoff, batch));
      removed += n;
      onProgress?.({ scanned: removed, removed });
      if (n < batch) return removed;
      if (inThread) {
        const ms = performance.now() - started;
        if (ms > SQLITE_STEP_MS) batch = Math.max(10, Math.floor(batch / 2));
        else if (ms < SQLITE_STEP_MS / 4) batch = Math.min(BATCH, batch * 2);
      }
      await new Promise((resolve) => setImmediate(resolve));
      if (this.#closed) return removed;
    }
  }

  /**
   * Moves a record that failed to decode aside: its row is renamed `quarantine:<key>` (atime set
   * to now), so it is no longer served nor listed by `keys()`, and stays for inspection until
   * cleanup removes it with the rows idle past the timeout.
   */
  quarantine(key: string): Promise<void> {
    return this.#run('quarantine', key, async (e) => {
      const record = await e.get(key);
      if (!record) return;
      await e.set(QUARANTINE_PREFIX + key, { data: record.data, atime: Date.now() });
      await e.delete(key);
    });
  }

  async *keys(): AsyncIterable<string> {
    let after = '';
    for (;;) {
      const page = await this.#run('keys', undefined, (e) => e.keysAfter(after, BATCH));
      for (const k of page) if (STORE_KEY.test(k)) yield k;
      if (page.length < BATCH) return;
      after = page.at(-1)!;
    }
  }

  /**
   * Keys of the sessions bound to `user`, through the `<table>_user_idx` index. The `user_id`
   * column is written by the same statement as the session and goes with the row.
   * @throws UnsupportedError when the table has no `user_id` column (web.py's three columns):
   *   add it with the README's ALTER TABLE, or create the table with `createSessionTable`.
   */
  userSessions(user: string): Promise<string[]> {
    return this.#run('list user', undefined, async (e) => {
      if (e.userColumn) return e.userKeys(user);
      throw new errors.UnsupportedError(
        this.kind,
        `table "${this.table}" has no user_id column, so it keeps no user index; add it (ALTER TABLE ${this.table} ADD COLUMN user_id VARCHAR(256), plus an index on it: see the README) or create the table with createSessionTable, then restart`,
      );
    });
  }

  /** True when the table has the `user_id` column (the user index); looks it up on first call. */
  hasUserIndex(): Promise<boolean> {
    return this.#run('inspect table', undefined, async (e) => e.userColumn);
  }

  /** True when the table exists (connects to the database to look; creates nothing). */
  tableExists(): Promise<boolean> {
    return this.#run(
      'inspect table',
      undefined,
      async (e) => (await e.hasUserColumn()) !== undefined,
    );
  }

  /**
   * Creates the table (with the `user_id` column) and its indexes if missing (idempotent). An
   * existing table is left as it is (without `user_id` it works without the user index).
   */
  async createTable(): Promise<void> {
    await this.#run('create table', undefined, (e) => e.createTable());
    this.#userKnown = false; // look again: the table may be new
  }

  /**
   * Takes the store-wide lease `name`. PostgreSQL: `pg_try_advisory_lock`, MySQL: `GET_LOCK`,
   * each on a connection kept until release, so a dead holder's lease frees with its connection
   * (`ttlMs` plays no part). SQLite: a row of `<table>_lease` (created on first use), owned until
   * `ttlMs` after the last renewal, which reaches every process sharing the file.
   */
  lease(name: string, ttlMs: number): Promise<StoreLease | undefined> {
    return this.#run('lease', undefined, (e) => e.lease(name, ttlMs));
  }

  /** Gives up the leases it holds, and closes the database if the store owns it. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const engine = await this.#engine?.catch(() => undefined);
    // Closing succeeds quietly: a driver that ends a pool while one of its connections is still
    // failing to connect (an outage) rejects with that stale error, yet the pool is closed.
    await engine?.close().catch(() => {});
    if (this.#options.closeDatabase && this.db instanceof Database) await this.db.close();
  }
}

/**
 * Creates the session table and its `atime` index if missing, in the engine's dialect.
 * @example await createSessionTable(web.database({ dbn: 'sqlite', db: './sessions.db' }), 'sessions');
 */
export async function createSessionTable(db: DatabaseHandle, tableName = 'sessions') {
  const store = new DBStore(db, tableName);
  await store.createTable();
  if (typeof db === 'string') await store.close();
}

/** The CREATE statements {@link createSessionTable} runs, for reading or for a migration file. */
export function sessionTableDDL(dbn: string, tableName = 'sessions'): string[] {
  const { table, user } = tableDDL(dbnOf(dbn), checkTableName(tableName));
  return [...table, ...user];
}
