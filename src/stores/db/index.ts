/**
 * DBStore: web.py's DBStore, sessions in a table of the application's own database, on SQLite
 * (better-sqlite3), PostgreSQL (pg) and MySQL/MariaDB (mysql2). The table is web.py's
 * (`session_id CHAR(128) UNIQUE NOT NULL, atime DATETIME NOT NULL default current_timestamp,
 * data TEXT`): `session_id` holds the store key, `atime` the last access in UTC, `data` the codec
 * text. Tables made by `createSessionTable` have a fourth column `user_id VARCHAR(256)` with an
 * index, the user index; without it the store works as web.py's and `userSessions` throws.
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
import { checkMutation, checkTableName, type Dbn, isNetworkError, tableDDL } from './common.js';
import { Database, dbnOf } from './database.js';
import * as my from './mysql.js';
import * as pg from './postgres.js';
import type { SqlEngine as Engine } from './sql.js';
import { isSqliteDatabase, type SqliteDatabase, SqliteEngine } from './sqlite.js';

export type { Dbn } from './common.js';
export { Database, type DatabaseParams, database } from './database.js';
export type { MyCallbackHandle, MyConnection, MyPool } from './mysql.js';
export type { PgClient, PgPool } from './postgres.js';
export type { SqliteDatabase } from './sqlite.js';

/**
 * What DBStore takes: what {@link database} returns; a `postgres://` or `mysql://` URL (the store
 * owns a pool); or the application's handle, recognised by shape: a better-sqlite3 `Database`, a
 * `pg` Pool or Client, a `mysql2` pool or connection. A single connection is used as it is: once
 * lost, calls fail as unavailable (503) with a message to give a pool instead.
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
  /** Create the table and its indexes before first use, if missing. Default false (web.py's). */
  createTable?: boolean;
  /** Close the database with the store. Default false; a pool made from a URL always is. */
  closeDatabase?: boolean;
  /**
   * Told of errors on idle connections of a pool given directly, and once when a single
   * connection given directly is lost. Default: console.warn (`database(…)` takes its own).
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
const STORE_KEY = /^[0-9a-f]{64}$/;
/** Rows removed per cleanup statement, and keys read per page by `keys()`. */
const BATCH = 1000;
/** How long one cleanup statement may hold the event loop on SQLite (ms). */
const SQLITE_STEP_MS = 5;
/** Errors thrown by a mutator pass through the store unchanged. */
const mutatorErrors = new WeakSet<object>();

function engineOf(db: unknown): Dbn {
  if (db instanceof Database) return db.dbn;
  if (isSqliteDatabase(db)) return 'sqlite';
  if (my.isMysqlCallbackHandle(db) || my.isMysqlPool(db) || my.isMysqlConnection(db))
    return 'mysql';
  if (pg.isPgPool(db) || pg.isPgClient(db)) return 'postgres';
  throw new errors.ConfigError(HANDLE_HELP);
}

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
 * @example
 * new DBStore(database({ dbn: 'sqlite', db: './sessions.db' }), 'sessions', { createTable: true });
 * new DBStore(pgPool, 'sessions'); // the application's pg Pool (or mysql2 pool)
 * new DBStore('postgres://app@db/app', 'sessions'); // a pool of the store's own
 */
export class DBStore implements Store {
  /** `sqlite`, `postgres` or `mysql`. */
  readonly kind: Dbn;
  readonly capabilities: StoreCapabilities = { lock: 'cross-process', nativeTtl: false };
  readonly table: string;
  /** What the store was given (a URL as the Database made of it). */
  readonly db: Exclude<DatabaseHandle, string>;
  readonly #options: DBStoreOptions;
  #engine: Promise<Engine> | undefined;
  /** The engine once made (even while its table is still being created). */
  #made: Engine | undefined;
  /** Whether the table's user_id column has been looked for (and found or not). */
  #userKnown = false;
  #closed = false;

  constructor(db: DatabaseHandle, tableName = 'sessions', options: DBStoreOptions = {}) {
    this.table = checkTableName(tableName);
    this.db = typeof db === 'string' ? new Database({ dbn: db.split(':')[0]!, url: db }) : db;
    this.kind = engineOf(this.db);
    this.#options = typeof db === 'string' ? { ...options, closeDatabase: true } : options;
  }

  async #open(): Promise<Engine> {
    const { db, table, kind } = this;
    const owned = !(db instanceof Database) && !!this.#options.closeDatabase;
    const handle = db instanceof Database ? await db.handle() : db;
    const warn =
      this.#options.onError ??
      ((err: Error) => console.warn(`[websession] [${kind}] connection error: ${err.message}`));
    if (engineOf(handle) !== kind) throw new errors.ConfigError(HANDLE_HELP);
    const engine =
      kind === 'sqlite'
        ? new SqliteEngine(handle as SqliteDatabase, table, owned)
        : kind === 'postgres'
          ? pg.postgresEngine(handle as pg.PgPool, table, owned, warn)
          : my.mysqlEngine(handle as my.MyPool, table, owned, warn);
    this.#made = engine;
    if (this.#options.createTable) await engine.createTable();
    return engine;
  }

  async #ready(): Promise<Engine> {
    if (this.#closed) throw new errors.StoreUnavailableError(this.kind, 'this store is closed');
    this.#engine ??= this.#open().catch((err: unknown) => {
      this.#engine = undefined; // the next call tries again (the database may be back)
      throw err;
    });
    const engine = await this.#engine;
    // Looks whether the table has `user_id` and has the writes keep it; again while no table.
    if (!this.#userKnown) {
      const found = await engine.hasUserColumn();
      engine.userColumn = found === true;
      this.#userKnown = found !== undefined;
    }
    return engine;
  }

  #fail(op: string, err: unknown): Error {
    if (err instanceof errors.WebSessionError) return err;
    if (err && typeof err === 'object' && mutatorErrors.has(err)) return err as Error;
    const [kind, text, cause] = [this.kind, errorText(err), { cause: err }];
    if (!this.#made || this.#made.isUnavailable(err)) {
      // In the user's words: a connection that could not be made says so and where; otherwise a
      // read says the database is unavailable, a write that it may also have refused the write.
      const why =
        isNetworkError(err) || CONNECT_FAILURE.test(text)
          ? `cannot reach ${ENGINE_NAME[kind]}${this.#where(err)}`
          : `the database is unavailable${READS.has(op) ? '' : ' or refused the write'}`;
      return new errors.StoreUnavailableError(kind, `${op} failed: ${why} (${text})`, cause);
    }
    const { code, errno } = err as { code?: unknown; errno?: unknown };
    // The server gave up a statement (statement_timeout, lock_timeout, innodb_lock_wait_timeout,
    // max_execution_time, max_statement_time): nothing of it was written.
    if (['57014', '55P03'].includes(String(code)) || [1205, 3024, 1969].includes(Number(errno))) {
      const late = `${op} failed: the database did not finish it in time, nothing was written`;
      return new errors.StoreUnavailableError(kind, `${late} (${text})`, cause);
    }
    if (code === '42P01' || errno === 1146 || /no such table/i.test(text)) {
      const t = this.table;
      const fix = `create it with createSessionTable(db, '${t}') or the DDL in the README`;
      return new errors.StoreError(
        kind,
        `${op} failed: table "${t}" does not exist; ${fix}`,
        cause,
      );
    }
    return new errors.StoreError(kind, `${op} failed on table "${this.table}": ${text}`, cause);
  }

  /** ` at host:port` of a connection failure, from the error or the database's parameters. */
  #where(err: unknown): string {
    const e = err as { address?: unknown; port?: unknown; errors?: unknown[] } | null;
    const first = (e?.errors?.[0] ?? e) as { address?: unknown; port?: unknown } | null;
    if (typeof first?.address === 'string' && first.port !== undefined)
      return ` at ${first.address}:${first.port}`;
    return this.db instanceof Database && this.db.where ? ` at ${this.db.where}` : '';
  }

  /** Runs `fn` on the engine once `key` and `record` are checked, mapping its errors. */
  async #run<T>(
    op: string,
    key: string | undefined,
    fn: (e: Engine) => Promise<T>,
    record?: StoredSession,
  ) {
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
   * yielding to other work between statements; `onProgress` is told the count after each.
   */
  async cleanup(
    maxIdleSeconds: number,
    onProgress?: (progress: { scanned: number; removed: number }) => void,
  ): Promise<number> {
    // A cleanup racing close() stops quietly between statements instead of failing as "closed".
    if (this.#closed) return 0;
    const cutoff = Date.now() - maxIdleSeconds * 1000;
    // SQLite runs on this thread: statements sized to take about SQLITE_STEP_MS keep every pause
    // of the event loop far below 50 ms whatever the disk.
    const inThread = this.kind === 'sqlite';
    let [batch, removed] = [inThread ? BATCH / 10 : BATCH, 0];
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
   * Moves a record that failed to decode aside, to the row `quarantine:<key>` (atime now): no
   * longer served nor listed, kept for inspection until cleanup removes it.
   */
  quarantine(key: string): Promise<void> {
    return this.#run('quarantine', key, async (e) => {
      const record = await e.get(key);
      if (!record) return;
      await e.set(`quarantine:${key}`, { data: record.data, atime: Date.now() });
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
   * Keys of the sessions bound to `user`, through the `user_id` index.
   * @throws UnsupportedError when the table has no `user_id` column (web.py's three columns)
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

  /** True when the table has the `user_id` column (the user index). */
  hasUserIndex(): Promise<boolean> {
    return this.#run('inspect table', undefined, async (e) => e.userColumn);
  }

  /** True when the table exists (connects to look; creates nothing). */
  tableExists(): Promise<boolean> {
    return this.#run(
      'inspect table',
      undefined,
      async (e) => (await e.hasUserColumn()) !== undefined,
    );
  }

  /** Creates the table (with `user_id`) and its indexes if missing; leaves an existing one as it is. */
  async createTable(): Promise<void> {
    await this.#run('create table', undefined, (e) => e.createTable());
    this.#userKnown = false; // look again: the table may be new
  }

  /**
   * Takes the store-wide lease `name`. PostgreSQL (`pg_try_advisory_lock`) and MySQL (`GET_LOCK`)
   * hold it on a connection kept until release: it frees with that connection, whatever `ttlMs`.
   * SQLite keeps a row of `<table>_lease` (made on first use) until `ttlMs` after the last renewal.
   */
  lease(name: string, ttlMs: number): Promise<StoreLease | undefined> {
    return this.#run('lease', undefined, (e) => e.lease(name, ttlMs));
  }

  /** Gives up the leases it holds, and closes the database if the store owns it. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const engine = await this.#engine?.catch(() => undefined);
    // Quietly: ending a pool whose connection is still failing to connect (an outage) rejects
    // with that stale error in the drivers, yet the pool is closed.
    await engine?.close().catch(() => {});
    if (this.#options.closeDatabase && this.db instanceof Database) await this.db.close();
  }
}

/** Creates the session table and its indexes if missing, in the engine's dialect. */
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
