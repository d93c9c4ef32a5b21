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
import { KeyedMutex } from '../../core/lock.js';
import { assertKey } from '../key.js';
import type {
  Store,
  StoreCapabilities,
  StoredSession,
  StoreLease,
  StoreMutator,
} from '../store.js';
import { LastWritten } from '../written.js';
import {
  checkMutation,
  checkTableName,
  type Dbn,
  type Dialect,
  isNetworkError,
  type Query,
  recordOf,
  tableDDL,
  USER_COLUMN,
} from './common.js';
import { Database, dbnOf } from './database.js';
import * as my from './mysql.js';
import * as pg from './postgres.js';
import { type Conn, LostConnection } from './sql.js';
import { isSqliteDatabase, type SqliteDatabase, sqlite } from './sqlite.js';

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
const MAX_ATTEMPTS = 8;
/** Conditional writes tried before the locked transaction (with an `expected` record). */
const OPTIMISTIC_TRIES = 3;
class RowVanished extends Error {}

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
  readonly #mutex = new KeyedMutex();
  readonly #written = new LastWritten();
  readonly #leases = new Set<StoreLease>();
  #dialect: Promise<Dialect> | undefined;
  /** The dialect once made (even while its table is still being created). */
  #made: Dialect | undefined;
  /** Whether the table's user_id column has been looked for, and found. */
  #userKnown = false;
  #userColumn = false;
  #closed = false;

  constructor(db: DatabaseHandle, tableName = 'sessions', options: DBStoreOptions = {}) {
    this.table = checkTableName(tableName);
    this.db = typeof db === 'string' ? new Database({ dbn: db.split(':')[0]!, url: db }) : db;
    this.kind = engineOf(this.db);
    this.#options = typeof db === 'string' ? { ...options, closeDatabase: true } : options;
  }

  async #open(): Promise<Dialect> {
    const { db, table, kind } = this;
    const owned = !(db instanceof Database) && !!this.#options.closeDatabase;
    const handle = db instanceof Database ? await db.handle() : db;
    const warn =
      this.#options.onError ??
      ((err: Error) => console.warn(`[websession] [${kind}] connection error: ${err.message}`));
    if (engineOf(handle) !== kind) throw new errors.ConfigError(HANDLE_HELP);
    this.#made =
      kind === 'sqlite'
        ? sqlite(handle as SqliteDatabase, table, owned)
        : kind === 'postgres'
          ? pg.postgres(handle as pg.PgPool, table, owned, warn)
          : my.mysql(handle as my.MyPool, table, owned, warn);
    if (this.#options.createTable) await this.#createTable(this.#made);
    return this.#made;
  }

  async #ready(): Promise<Dialect> {
    if (this.#closed) throw new errors.StoreUnavailableError(this.kind, 'this store is closed');
    this.#dialect ??= this.#open().catch((err: unknown) => {
      this.#dialect = undefined; // the next call tries again (the database may be back)
      throw err;
    });
    const d = await this.#dialect;
    // Looks whether the table has `user_id` and has the writes keep it; again while no table.
    if (!this.#userKnown) {
      const found = await this.#hasUserColumn(d);
      [this.#userColumn, this.#userKnown] = [found === true, found !== undefined];
    }
    return d;
  }

  #isUnavailable = (err: unknown) =>
    err instanceof LostConnection || !!this.#made?.isUnavailable(err);

  #fail(op: string, err: unknown): Error {
    if (err instanceof errors.WebSessionError) return err;
    if (err && typeof err === 'object' && mutatorErrors.has(err)) return err as Error;
    const [kind, text, cause] = [this.kind, errorText(err), { cause: err }];
    if (!this.#made || this.#isUnavailable(err)) {
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

  /** Runs `fn` on the dialect once `key` and `record` are checked, mapping its errors. */
  async #run<T>(
    op: string,
    key: string | undefined,
    fn: (d: Dialect) => Promise<T>,
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

  /** The columns a record is written to, and their values. */
  #row(d: Dialect, key: string, r: StoredSession) {
    const user = this.#userColumn ? [USER_COLUMN] : [];
    return {
      cols: ['session_id', 'atime', 'data', ...user],
      values: [key, d.time(r.atime), r.data, ...(user.length ? [r.user ?? null] : [])],
    };
  }

  /** The INSERT of a record, ending with `tail` (given the columns written but the key). */
  #insert(d: Dialect, key: string, r: StoredSession, tail: (cols: string[]) => string): Query {
    const { cols, values } = this.#row(d, key, r);
    const marks = cols.map(() => '?');
    return [`INSERT INTO ${d.t} (${cols}) VALUES (${marks}) ${tail(cols.slice(1))}`, values];
  }

  /** The UPDATE of a record's row (where `extra` holds too). */
  #rewrite(d: Dialect, key: string, r: StoredSession, extra = '', more: unknown[] = []): Query {
    const { cols, values } = this.#row(d, key, r);
    const set = cols.slice(1).map((col) => `${col} = ?`);
    return [
      `UPDATE ${d.t} SET ${set} WHERE session_id = ?${extra}`,
      [...values.slice(1), key, ...more],
    ];
  }

  #select = (d: Dialect, key: string, lock = ''): Query => [
    `SELECT ${d.cols} FROM ${d.t} WHERE session_id = ?${lock}`,
    [key],
  ];
  #delete = (d: Dialect, key: string): Query => [`DELETE FROM ${d.t} WHERE session_id = ?`, [key]];
  #upsert = (d: Dialect, key: string, r: StoredSession) => this.#insert(d, key, r, d.upsert);

  async #read(c: Conn, d: Dialect, key: string, lock = '') {
    return recordOf((await c.query(...this.#select(d, key, lock))).rows[0]);
  }

  get(key: string): Promise<StoredSession | undefined> {
    return this.#run('get', key, (d) => this.#read(d.source, d, key));
  }

  set(key: string, record: StoredSession): Promise<void> {
    return this.#run(
      'set',
      key,
      async (d) => {
        this.#written.note(key, undefined);
        await d.source.query(...this.#upsert(d, key, record));
      },
      record,
    );
  }

  /** Inserts the row only if the key is free (false when taken): never an upsert. */
  create(key: string, record: StoredSession): Promise<boolean> {
    return this.#run(
      'create',
      key,
      async (d) => {
        this.#written.note(key, undefined);
        const insert = this.#insert(d, key, record, () => d.keep);
        return d.source.query(...insert).then(
          (r) => r.changed > 0,
          (err: unknown) => {
            if (d.isDuplicate(err)) return false;
            throw err;
          },
        );
      },
      record,
    );
  }

  /**
   * Reads, changes and writes the row under its lock: in one synchronous transaction on SQLite,
   * else after `SELECT … FOR UPDATE` in a transaction of a connection of its own.
   */
  async #transaction(d: Dialect, key: string, mutator: StoreMutator) {
    if (d.transaction)
      return d.transaction((run) => {
        const current = recordOf(run(this.#select(d, key)).rows[0]);
        const next = mutator(current);
        if (next === undefined) return current;
        run(next === null ? this.#delete(d, key) : this.#upsert(d, key, next));
        return next ?? undefined;
      });
    return d.source.exclusive(async (c) => {
      await c.query('BEGIN');
      try {
        let current = await this.#read(c, d, key, d.forUpdate);
        if (!current) {
          const created = mutator(undefined);
          if (!created) return void (await c.query('COMMIT')); // nothing there, nothing to write
          if ((await c.query(...this.#insert(d, key, created, () => d.keep))).changed > 0)
            return (await c.query('COMMIT'), created);
          // Another process inserted it since our read: its row is committed and now ours to lock.
          current = await this.#read(c, d, key, d.forUpdate);
          if (!current) throw new RowVanished('row inserted and deleted meanwhile');
        }
        const next = mutator(current);
        if (next !== undefined)
          await c.query(...(next ? this.#rewrite(d, key, next) : this.#delete(d, key)));
        await c.query('COMMIT');
        return next === undefined ? current : (next ?? undefined);
      } catch (err) {
        await c.query('ROLLBACK').catch(() => {});
        throw err;
      }
    }, this.#isUnavailable);
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
    // One update per key at a time from this process (the row lock orders other processes).
    return this.#run('update', key, (d) =>
      this.#mutex.run(key, async () => {
        // Optimistic: one conditional UPDATE in autocommit, which re-checks its WHERE on the latest
        // committed row, so it changes nothing when another writer got there first; then read the
        // row again and retry a few times, and only then take the locked transaction.
        let basis = expected && this.#written.basis(key, expected);
        for (let tries = 0; basis && tries < OPTIMISTIC_TRIES; tries++) {
          const next = checked(basis);
          if (!next) break; // keep or delete: the transaction decides on the locked row
          const q = this.#rewrite(d, key, next, ` AND ${d.sameData}`, [basis.data]);
          if ((await d.source.query(...q)).changed > 0) {
            this.#written.note(key, next);
            return next;
          }
          basis = await this.#read(d.source, d, key);
        }
        for (let attempt = 1; ; attempt++) {
          try {
            const stored = await this.#transaction(d, key, checked);
            this.#written.note(key, stored);
            return stored;
          } catch (err) {
            if (attempt >= MAX_ATTEMPTS || !(err instanceof RowVanished || d.isRetryable(err)))
              throw err;
            await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt));
          }
        }
      }),
    );
  }

  touch(key: string, atime: number): Promise<void> {
    return this.#run('touch', key, async (d) => {
      await d.source.query(`UPDATE ${d.t} SET atime = ? WHERE session_id = ?`, [
        d.time(atime),
        key,
      ]);
    });
  }

  delete(key: string): Promise<void> {
    return this.#run('delete', key, async (d) => {
      this.#written.note(key, undefined);
      await d.source.query(...this.#delete(d, key));
    });
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
      const run = (d: Dialect) => d.source.query(...d.expire(cutoff, batch));
      const n = (await this.#run('cleanup', undefined, run)).changed;
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
    return this.#run('quarantine', key, async (d) => {
      const record = await this.#read(d.source, d, key);
      if (!record) return;
      await d.source.query(
        ...this.#upsert(d, `quarantine:${key}`, { data: record.data, atime: Date.now() }),
      );
      await d.source.query(...this.#delete(d, key));
    });
  }

  #keys = (d: Dialect, where: string, value: string) =>
    d.source
      .query(`SELECT session_id FROM ${d.t} WHERE ${where}`, [value])
      .then(({ rows }) => rows.map((r) => String(r.session_id).trim()));

  async *keys(): AsyncIterable<string> {
    let after = '';
    for (;;) {
      // LIMIT is our own integer, inlined: mysqld rejects a LIMIT placeholder in some versions.
      const next = `session_id > ? ORDER BY session_id LIMIT ${BATCH}`;
      const page = await this.#run('keys', undefined, (d) => this.#keys(d, next, after));
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
    return this.#run('list user', undefined, async (d) => {
      if (this.#userColumn) return this.#keys(d, `${USER_COLUMN} = ?`, user);
      throw new errors.UnsupportedError(
        this.kind,
        `table "${this.table}" has no user_id column, so it keeps no user index; add it (ALTER TABLE ${this.table} ADD COLUMN user_id VARCHAR(256), plus an index on it: see the README) or create the table with createSessionTable, then restart`,
      );
    });
  }

  /** True when the table has the `user_id` column (the user index). */
  hasUserIndex(): Promise<boolean> {
    return this.#run('inspect table', undefined, async () => this.#userColumn);
  }

  /** Whether the table has `user_id`; undefined when there is no table (yet). */
  async #hasUserColumn(d: Dialect) {
    const names = (await d.source.query(...d.columns)).rows.map((r) =>
      String(r.name).toLowerCase(),
    );
    return names.length === 0 ? undefined : names.includes(USER_COLUMN);
  }

  /** True when the table exists (connects to look; creates nothing). */
  tableExists(): Promise<boolean> {
    return this.#run(
      'inspect table',
      undefined,
      async (d) => (await this.#hasUserColumn(d)) !== undefined,
    );
  }

  async #createTable(d: Dialect) {
    const ddl = tableDDL(d.dbn, this.table);
    const run = async (statements: string[]) => {
      for (const sql of statements)
        await d.source.query(sql).catch((err: unknown) => {
          if (!d.isAlreadyThere(err)) throw err;
        });
    };
    await run(ddl.table);
    if (await this.#hasUserColumn(d)) await run(ddl.user);
  }

  /** Creates the table (with `user_id`) and its indexes if missing; leaves an existing one as it is. */
  async createTable(): Promise<void> {
    await this.#run('create table', undefined, (d) => this.#createTable(d));
    this.#userKnown = false; // look again: the table may be new
  }

  /**
   * Takes the store-wide lease `name`. PostgreSQL (`pg_try_advisory_lock`) and MySQL (`GET_LOCK`)
   * hold it on a connection kept until release: it frees with that connection, whatever `ttlMs`.
   * SQLite keeps a row of `<table>_lease` (made on first use) until `ttlMs` after the last renewal.
   */
  lease(name: string, ttlMs: number): Promise<StoreLease | undefined> {
    return this.#run('lease', undefined, async (d) => {
      const held = await d.lease(name, ttlMs);
      if (!held) return undefined;
      let live = true;
      const lease: StoreLease = {
        renew: async () => live && held.renew().catch(() => false),
        release: async () => {
          if (!live) return;
          live = false;
          this.#leases.delete(lease);
          await held.release().catch(() => {});
        },
      };
      this.#leases.add(lease);
      return lease;
    });
  }

  /** Gives up the leases it holds, and closes the database if the store owns it. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const lease of [...this.#leases]) await lease.release();
    const d = await this.#dialect?.catch(() => undefined);
    // Quietly: ending a pool whose connection is still failing to connect (an outage) rejects
    // with that stale error in the drivers, yet the pool is closed.
    await d?.source.close().catch(() => {});
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
