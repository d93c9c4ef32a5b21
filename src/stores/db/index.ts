/**
 * DBStore: web.py's DBStore on SQLite (better-sqlite3), PostgreSQL (pg) or MySQL/MariaDB (mysql2):
 * columns `session_id`, `atime` (UTC), `data` (codec text), and optionally `user_id`.
 * @module
 */
import * as errors from '../../core/errors.js';
import type * as S from '../../core/store.js';
import { assertKey, isStoreKey } from '../key.js';
import { KeyedMutex } from '../keyed-mutex.js';
import { LastWritten } from '../written.js';
import * as common from './common.js';
import { type Dbn, type Dialect, hasCode, USER_COLUMN } from './common.js';
import { Database, dbnOf } from './database.js';
import { type Deadline, WriteDeadlines, write } from './deadline.js';
import { checked, failure, noTable, permanentFailure } from './failures.js';
import { takeLease } from './lease.js';
import type { Mysql } from './mysql.js';
import * as my from './mysql.js';
import * as pg from './postgres.js';
import { SessionRows } from './rows.js';
import { isSqliteDatabase, type SqliteDatabase, sqlite } from './sqlite.js';
import { holdCheckpoints } from './sqlite-checkpoints.js';
import { updateRow } from './update.js';

export type { Dbn } from './common.js';
export { Database, type DatabaseParams, database } from './database.js';

/**
 * What {@link database} returns, a `postgres://` or `mysql://` URL (the store owns a pool), or a
 * driver's pool or connection (a connection once lost fails as unavailable, 503).
 */
export type DatabaseHandle = Database | string | SqliteDatabase | pg.PgPool | pg.PgClient | Mysql;

/** Options of {@link DBStore}. */
export interface DBStoreOptions {
  /** Create the table and its indexes before first use, if missing. Default false (web.py's). */
  createTable?: boolean;
  /** Close the database with the store. Default false; a pool made from a URL always is. */
  closeDatabase?: boolean;
  /** Told of idle connection errors of a pool given, or the loss of a connection given. */
  onError?: (err: Error) => void;
}

const HANDLE_HELP =
  'DBStore needs a database: web.database({ dbn, db, … }), a postgres:// or mysql:// URL, a better-sqlite3 Database, a pg Pool or Client, or a mysql2 pool or connection';
/** Rows removed per cleanup statement, and keys read per page by `keys()`. */
const BATCH = 1000;
/** How long one cleanup statement may hold the event loop on SQLite (ms). */
const SQLITE_STEP_MS = 5;

function engineOf(db: unknown): Dbn {
  if (db instanceof Database) return db.dbn;
  if (isSqliteDatabase(db)) return 'sqlite';
  if (my.isMysql(db)) return 'mysql';
  if (pg.isPg(db)) return 'postgres';
  throw new errors.ConfigError(HANDLE_HELP);
}

/**
 * Keeps sessions in one table of a SQL database. `update` holds the row's lock in a transaction
 * (SQLite: `BEGIN IMMEDIATE`; else `SELECT … FOR UPDATE`), so it is atomic across processes.
 * @example
 * new DBStore(database({ dbn: 'sqlite', db: './sessions.db' }), 'sessions', { createTable: true });
 * new DBStore(pgPool, 'sessions'); // the application's pg Pool (or mysql2 pool)
 * new DBStore('postgres://app@db/app', 'sessions'); // a pool of the store's own
 */
export class DBStore implements S.Store {
  /** `sqlite`, `postgres` or `mysql`. */
  readonly kind: Dbn;
  readonly capabilities: S.StoreCapabilities = { lock: 'cross-process', nativeTtl: false };
  readonly table: string;
  /** What the store was given (a URL as the Database made of it). */
  readonly db: Exclude<DatabaseHandle, string>;
  readonly #options: DBStoreOptions;
  readonly #mutex = new KeyedMutex();
  readonly #written = new LastWritten();
  readonly #leases = new Set<S.StoreLease>();
  readonly #rows = new SessionRows();
  readonly #deadlines = new WriteDeadlines();
  #dialect: Promise<Dialect> | undefined;
  /** The dialect once made (even while its table is still being created). */
  #made: Dialect | undefined;
  /** The driver's handle once opened (a better-sqlite3 Database, or a pool). */
  #handle: object | undefined;
  /** The lease table, made once. */
  #leaseReady: Promise<void> | undefined;
  #closed = false;

  constructor(db: DatabaseHandle, tableName = 'sessions', options: DBStoreOptions = {}) {
    this.table = common.checkTableName(tableName);
    this.db = typeof db === 'string' ? new Database({ dbn: db.split(':')[0]!, url: db }) : db;
    this.kind = engineOf(this.db);
    this.#options = typeof db === 'string' ? { ...options, closeDatabase: true } : options;
  }

  async #open(): Promise<Dialect> {
    const { db, table, kind } = this;
    const owned = !(db instanceof Database) && !!this.#options.closeDatabase;
    const handle = db instanceof Database ? await db.handle() : db;
    this.#handle = handle as object;
    const warn = this.#options.onError ?? common.warnOf(kind);
    const engine =
      kind === 'sqlite'
        ? sqlite(handle as SqliteDatabase, owned)
        : (kind === 'postgres' ? pg.postgres : my.mysql)(handle as never, owned, warn);
    this.#made = { ...common.statements(kind, table), ...engine };
    if (this.#options.createTable) await this.#createTable(this.#made);
    return this.#made;
  }

  /**
   * Takes the SessionManager's `store_timeout` as the time a write may take (the optional
   * `Store.configure`, which the manager calls at construction): past it, the server refuses it.
   */
  configure(options: { timeout: number; store_timeout?: number }): void {
    const ms = options.store_timeout;
    if (ms !== undefined && ms >= 0) this.#deadlines.timeout = ms > 0 ? ms : Infinity;
  }

  /** Runs write `op` with the deadline of a write started now (none on SQLite). */
  #write<T>(op: string, key: string, fn: (d: Dialect, deadline?: Deadline) => Promise<T>) {
    const started = Date.now();
    return this.#run(op, key, async (d) =>
      fn(d, await this.#deadlines.deadline(d, this.kind, op, started)),
    );
  }

  /** Runs `fn` on the dialect once `key` is checked, mapping its errors to the store's. */
  async #run<T>(op: string, key: string | undefined, fn: (d: Dialect) => Promise<T>) {
    try {
      if (key !== undefined) assertKey(key, this.kind);
      if (this.#closed) throw new errors.StoreUnavailableError(this.kind, 'this store is closed');
      this.#dialect ??= this.#open().catch((err: unknown) => {
        this.#dialect = undefined; // the next call tries again (the database may be back)
        throw err;
      });
      const d = await this.#dialect;
      // Looks whether the table has `user_id`, to keep it in writes; again while there is no table.
      this.#rows.userColumn ??= await this.#rows.inspect(d);
      return await fn(d);
    } catch (err) {
      const { kind, table, db } = this;
      throw failure({ kind, table, db, dialect: this.#made }, op, err);
    }
  }

  /**
   * Checks at start-up that the store can serve: its driver loads and its table exists (made
   * first with `createTable`). Rejects with a ConfigError saying what to do when the table or the
   * driver is missing, or better-sqlite3 was built for another Node.js; resolves while the
   * database is only unreachable (an outage: calls answer 503 until it is back).
   */
  async ready(): Promise<void> {
    const exists = await this.tableExists().catch((err: unknown) => {
      const permanent = permanentFailure(err);
      if (permanent) throw new errors.ConfigError(`[${this.kind}] ${permanent}`);
      if (err instanceof errors.StoreUnavailableError) return true; // an outage, not a mistake
      throw err;
    });
    if (!exists) throw new errors.ConfigError(`[${this.kind}] ${noTable(this.table)}`);
  }

  get(key: string): Promise<S.StoredSession | undefined> {
    return this.#run('get', key, (d) => this.#rows.read(d.source, d, key));
  }

  set(key: string, record: S.StoredSession): Promise<void> {
    return this.#write('set', key, async (d, deadline) => {
      this.#written.note(key, undefined);
      const upsert = this.#rows.upsert(d, key, checked(() => record)!, deadline);
      await write(d.source, upsert, deadline);
    });
  }

  /** Inserts the row only if the key is free (false when taken): never an upsert. */
  create(key: string, record: S.StoredSession): Promise<boolean> {
    return this.#write('create', key, async (d, deadline) => {
      this.#written.note(key, undefined);
      const insert = this.#rows.insert(d, key, checked(() => record)!, () => d.keep, deadline);
      const added = await write(d.source, insert, deadline).catch((err: unknown) => {
        if (hasCode('duplicate', err)) return { changed: 0 };
        throw err;
      });
      return added.changed > 0;
    });
  }

  update(key: string, mutator: S.StoreMutator, expected?: S.StoredSession) {
    const change: S.StoreMutator = (current) => checked(() => mutator(current));
    // One update per key at a time from this process (the row lock orders other processes).
    return this.#write('update', key, (d, deadline) =>
      this.#mutex.run(key, () =>
        updateRow({
          d,
          rows: this.#rows,
          written: this.#written,
          key,
          mutator: change,
          expected,
          deadline,
        }),
      ),
    );
  }

  touch(key: string, atime: number): Promise<void> {
    return this.#write('touch', key, async (d, deadline) => {
      await write(d.source, this.#rows.touch(d, key, atime, deadline), deadline);
    });
  }

  delete(key: string): Promise<void> {
    return this.#run('delete', key, async (d) => {
      this.#written.note(key, undefined);
      await d.source.query(...this.#rows.delete(d, key));
    });
  }

  /**
   * Deletes rows idle over `maxIdleSeconds`, at most 1000 a statement (on SQLite as many as take
   * about 5 ms), yielding between statements; `onProgress` is told the count after each.
   */
  async cleanup(maxIdleSeconds: number, onProgress?: S.CleanupProgress): Promise<number> {
    const cutoff = Date.now() - maxIdleSeconds * 1000;
    // SQLite runs on this thread: statements sized to take about SQLITE_STEP_MS keep every pause
    // of the event loop far below 50 ms whatever the disk.
    const inThread = this.kind === 'sqlite';
    let [batch, removed] = [inThread ? BATCH / 10 : BATCH, 0];
    // The serving connection's own WAL checkpoint waits until the pass is over (see
    // sqlite-checkpoints.ts): its flushes would queue behind the pass's writes.
    let release: (() => void) | undefined;
    try {
      // A cleanup racing close() stops quietly between statements instead of failing as "closed".
      while (!this.#closed) {
        const started = performance.now();
        const expire = (d: Dialect) => d.source.query(...d.expire(cutoff, batch));
        const n = (await this.#run('cleanup', undefined, expire)).changed;
        if (inThread && !release && this.#handle) release = holdCheckpoints(this.#handle);
        removed += n;
        onProgress?.({ scanned: removed, removed });
        if (n < batch) break;
        const ms = performance.now() - started;
        if (inThread && ms > SQLITE_STEP_MS) batch = Math.max(10, Math.floor(batch / 2));
        else if (inThread && ms < SQLITE_STEP_MS / 4) batch = Math.min(BATCH, batch * 2);
        await new Promise((resolve) => setImmediate(resolve));
      }
    } finally {
      release?.();
    }
    return removed;
  }

  /** Moves an undecodable record to the row `quarantine:<key>`, kept until cleanup removes it. */
  quarantine(key: string): Promise<void> {
    return this.#run('quarantine', key, async (d) => {
      const record = await this.#rows.read(d.source, d, key);
      if (!record) return;
      const aside = { data: record.data, atime: Date.now() };
      await d.source.query(...this.#rows.upsert(d, `quarantine:${key}`, aside));
      await d.source.query(...this.#rows.delete(d, key));
    });
  }

  async #keys(d: Dialect, where: string, value: string) {
    const { rows } = await d.source.query(`SELECT session_id FROM ${d.t} WHERE ${where}`, [value]);
    return rows.map((r) => String(r.session_id).trim());
  }

  async *keys(): AsyncIterable<string> {
    // LIMIT is our own integer, inlined: mysqld rejects a LIMIT placeholder in some versions.
    const next = `session_id > ? ORDER BY session_id LIMIT ${BATCH}`;
    for (let after = ''; ; ) {
      const page = await this.#run('keys', undefined, (d) => this.#keys(d, next, after));
      for (const k of page) if (isStoreKey(k)) yield k;
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
      if (this.#rows.userColumn) return this.#keys(d, `${USER_COLUMN} = ?`, user);
      throw new errors.UnsupportedError(
        this.kind,
        `table "${this.table}" has no user_id column, so it keeps no user index; add it (ALTER TABLE ${this.table} ADD COLUMN user_id VARCHAR(256), plus an index on it: see the README) or create the table with createSessionTable, then restart`,
      );
    });
  }

  /** True when the table has the `user_id` column (the user index). */
  hasUserIndex(): Promise<boolean> {
    return this.#run('inspect table', undefined, async () => !!this.#rows.userColumn);
  }

  /** True when the table exists (connects to look; creates nothing). */
  tableExists(): Promise<boolean> {
    const look = async (d: Dialect) => (await this.#rows.inspect(d)) !== undefined;
    return this.#run('inspect table', undefined, look);
  }

  async #createTable(d: Dialect) {
    const { ddl } = d;
    const create = (sql: string) =>
      d.source.query(sql).catch((err: unknown) => {
        if (!hasCode('alreadyThere', err)) throw err;
      });
    for (const sql of ddl.table) await create(sql);
    if (await this.#rows.inspect(d)) for (const sql of ddl.user) await create(sql);
    await this.#leaseTable(d);
  }

  /** Creates the table (with `user_id`) and its indexes if missing; leaves one that exists. */
  async createTable(): Promise<void> {
    await this.#run('create table', undefined, (d) => this.#createTable(d));
    this.#rows.userColumn = undefined; // look again: the table may be new
  }

  /** Creates the lease table if missing (SQLite: adds `ended` to one made before it had it). */
  async #leaseTable(d: Dialect) {
    for (const sql of d.ddl.lease)
      await d.source.query(sql).catch((err: unknown) => {
        if (!hasCode('alreadyThere', err)) throw err;
      });
    if (this.kind === 'sqlite' && !(await d.source.query(...d.leaseEnded)).rows.length)
      await d.source.query(`ALTER TABLE ${d.leaseT} ADD COLUMN ended BIGINT`);
  }

  /**
   * Takes the store-wide lease `name`: a row of `<table>_lease` (made on first use), held until
   * `ttlMs` (at most a minute) after its last renewal.
   */
  lease(name: string, ttlMs: number): Promise<S.StoreLease | undefined> {
    if (this.#closed) return Promise.resolve(undefined); // a closed store runs no more passes
    const taking = this.#run('lease', undefined, async (d) => {
      this.#leaseReady ??= this.#leaseTable(d).catch((err: unknown) => {
        this.#leaseReady = undefined;
        throw err;
      });
      await this.#leaseReady;
      const held = await takeLease(d.source, this.kind === 'mysql', d.leaseT, name, ttlMs);
      if (!held) return undefined;
      const lease: S.StoreLease = {
        lastPassEndedAt: held.lastPassEndedAt,
        renew: async () => this.#leases.has(lease) && held.renew().catch(() => false),
        release: async (passEndedAt) => {
          if (this.#leases.delete(lease)) await held.release(passEndedAt).catch(() => {});
        },
      };
      this.#leases.add(lease);
      if (this.#closed) await lease.release(); // closed meanwhile: close() has released the rest
      return this.#closed ? undefined : lease;
    });
    // A pass racing close() ends quietly instead of failing as "closed".
    return taking.catch((err: unknown) => (this.#closed ? undefined : Promise.reject(err)));
  }

  /** True once closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Gives up the leases it holds, and closes the database if the store owns it. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const lease of [...this.#leases]) await lease.release();
    const d = await this.#dialect?.catch(() => undefined);
    await d?.source.close().catch(() => {}); // quietly, as Database.close()
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
  const { table, user, lease } = common.statements(
    dbnOf(dbn),
    common.checkTableName(tableName),
  ).ddl;
  return [...table, ...lease, ...user];
}
