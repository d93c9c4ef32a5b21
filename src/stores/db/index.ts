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
import { type Dbn, type Dialect, hasCode, type Query, recordOf, USER_COLUMN } from './common.js';
import { Database, dbnOf } from './database.js';
import { takeLease } from './lease.js';
import type { Mysql } from './mysql.js';
import * as my from './mysql.js';
import * as pg from './postgres.js';
import { type Conn, LostConnection } from './sql.js';
import { isSqliteDatabase, type SqliteDatabase, sqlite } from './sqlite.js';

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

const ENGINE_NAME = { sqlite: 'SQLite', postgres: 'PostgreSQL', mysql: 'MySQL' };
/** Operations that only read: their failure never says "refused the write". */
const READS = new Set(['get', 'keys', 'list user', 'inspect table']);
const CONNECT_FAILURE =
  /timeout exceeded when trying to connect|connect ETIMEDOUT|Connection terminated due to connection timeout/i;
const HANDLE_HELP =
  'DBStore needs a database: web.database({ dbn, db, … }), a postgres:// or mysql:// URL, a better-sqlite3 Database, a pg Pool or Client, or a mysql2 pool or connection';
/** Rows removed per cleanup statement, and keys read per page by `keys()`. */
const BATCH = 1000;
/** How long one cleanup statement may hold the event loop on SQLite (ms). */
const SQLITE_STEP_MS = 5;
/** Transactions tried (deadlocks, lost insert races), and conditional writes before them. */
const [MAX_ATTEMPTS, OPTIMISTIC_TRIES] = [8, 3];
/** Errors of a mutator (or of the record it returned) pass through unchanged. */
const mutatorErrors = new WeakSet<object>();
class RowVanished extends Error {}

function engineOf(db: unknown): Dbn {
  if (db instanceof Database) return db.dbn;
  if (isSqliteDatabase(db)) return 'sqlite';
  if (my.isMysql(db)) return 'mysql';
  if (pg.isPg(db)) return 'postgres';
  throw new errors.ConfigError(HANDLE_HELP);
}

/** What to do about a failure no retry mends (a driver missing or built for another Node.js). */
function permanentFailure(err: unknown): string | undefined {
  const causes: unknown[] = [];
  for (let e = err; e && causes.length < 5; e = (e as { cause?: unknown }).cause) causes.push(e);
  if (causes.some((e) => (e as { code?: unknown }).code === 'ERR_STORE_DRIVER_MISSING'))
    return (err as Error).message.replace(/^\[websession\] (\[\w+\] )?/, '');
  const abi = causes.find((e) =>
    /NODE_MODULE_VERSION|ERR_DLOPEN_FAILED/.test(
      `${(e as { code?: unknown }).code} ${(e as Error).message}`,
    ),
  );
  if (abi)
    return `better-sqlite3 was built for another version of Node.js than this one (${process.version}): run npm rebuild better-sqlite3`;
  return undefined;
}

function errorText(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0)
    return err.errors.map(errorText).join('; ');
  if (err instanceof Error) return err.message || (err as { code?: string }).code || err.name;
  return String(err);
}

/** ` at host:port` of a connection failure, from the error or else the database's parameters. */
function whereOf(err: unknown, db: unknown): string {
  const e = err as { address?: unknown; port?: unknown; errors?: unknown[] } | null;
  const first = (e?.errors?.[0] ?? e) as { address?: unknown; port?: unknown } | null;
  if (typeof first?.address === 'string' && first.port !== undefined)
    return ` at ${first.address}:${first.port}`;
  return db instanceof Database && db.where ? ` at ${db.where}` : '';
}

/**
 * The record of the caller's mutator (or the caller's record), checked: one to write, null to
 * delete, undefined to keep. Its errors, and a bad record's, pass through the store as they are.
 */
function checked(fn: () => S.StoredSession | null | undefined) {
  try {
    const next = fn();
    if (next && (typeof next.data !== 'string' || !Number.isFinite(next.atime)))
      throw new TypeError(
        '[websession] a store mutator must return { data: string, atime: number }, null or undefined',
      );
    return next;
  } catch (err) {
    if (err && typeof err === 'object') mutatorErrors.add(err);
    throw err;
  }
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
  #dialect: Promise<Dialect> | undefined;
  /** The dialect once made (even while its table is still being created). */
  #made: Dialect | undefined;
  /** Whether the table has the `user_id` column; undefined until a table is found. */
  #userColumn: boolean | undefined;
  /**
   * MySQL: `atime` keeps whole seconds only (web.py's `DATETIME`): access times are written
   * rounded up to the second, so that neither a load nor cleanup finds a session idle early.
   */
  #wholeSeconds = false;
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
    const warn = this.#options.onError ?? common.warnOf(kind);
    const engine =
      kind === 'sqlite'
        ? sqlite(handle as SqliteDatabase, owned)
        : (kind === 'postgres' ? pg.postgres : my.mysql)(handle as never, owned, warn);
    this.#made = { ...common.statements(kind, table), ...engine };
    if (this.#options.createTable) await this.#createTable(this.#made);
    return this.#made;
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
      this.#userColumn ??= await this.#hasUserColumn(d);
      return await fn(d);
    } catch (err) {
      throw this.#fail(op, err);
    }
  }

  #fail(op: string, err: unknown): Error {
    if (err instanceof errors.WebSessionError || mutatorErrors.has(err as object))
      return err as Error;
    const [kind, text, t] = [this.kind, errorText(err), this.table];
    const unavailable = (why: string) =>
      new errors.StoreUnavailableError(kind, `${op} failed: ${why} (${text})`, { cause: err });
    if (!this.#made || err instanceof LostConnection || this.#made.isUnavailable(err))
      // In the user's words: a connection that could not be made says so and where; otherwise a
      // read says the database is unavailable, a write that it may also have refused the write.
      return unavailable(
        common.isNetworkError(err) || CONNECT_FAILURE.test(text)
          ? `cannot reach ${ENGINE_NAME[kind]}${whereOf(err, this.db)}`
          : `the database is unavailable${READS.has(op) ? '' : ' or refused the write'}`,
      );
    if (hasCode('timeout', err))
      return unavailable('the database did not finish it in time, nothing was written');
    const missing = hasCode('missingTable', err) || /no such table/i.test(text);
    const why = missing ? `: ${this.#noTable()}` : ` on table "${t}": ${text}`;
    return new errors.StoreError(kind, `${op} failed${why}`, { cause: err });
  }

  /** What to say of a missing table: that it is missing and how to make it, in one sentence. */
  #noTable(): string {
    const t = this.table;
    return `table "${t}" does not exist (create it with createSessionTable(db, '${t}'), the option { createTable: true }, or the DDL in docs/stores.md, "The table")`;
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
    if (!exists) throw new errors.ConfigError(`[${this.kind}] ${this.#noTable()}`);
  }

  /** The INSERT of a record, ending with `tail` (given the columns written but the key). */
  #insert(d: Dialect, key: string, r: S.StoredSession, tail: (cols: string[]) => string): Query {
    const cols = ['session_id', 'atime', 'data', ...(this.#userColumn ? [USER_COLUMN] : [])];
    const values = [key, this.#time(d, r.atime), r.data, r.user ?? null].slice(0, cols.length);
    return [
      `INSERT INTO ${d.t} (${cols}) VALUES (${cols.map(() => '?')}) ${tail(cols.slice(1))}`,
      values,
    ];
  }

  /** The UPDATE of a record's row (where `extra` holds too). */
  #rewrite(d: Dialect, key: string, r: S.StoredSession, extra = '', more: unknown[] = []): Query {
    const [, values] = this.#insert(d, key, r, () => '');
    // The columns of the INSERT but the key: atime, data, and user_id when the table has it.
    const set = ['atime = ?', 'data = ?', `${USER_COLUMN} = ?`].slice(0, values.length - 1);
    const sql = `UPDATE ${d.t} SET ${set} WHERE session_id = ?${extra}`;
    return [sql, [...values.slice(1), key, ...more]];
  }

  /** An access time as the table keeps it. */
  #time = (d: Dialect, ms: number) => d.time(this.#wholeSeconds ? Math.ceil(ms / 1000) * 1000 : ms);

  #select = (d: Dialect, key: string, lock = ''): Query => [
    `SELECT ${d.cols} FROM ${d.t} WHERE session_id = ?${lock}`,
    [key],
  ];
  #delete = (d: Dialect, key: string): Query => [`DELETE FROM ${d.t} WHERE session_id = ?`, [key]];
  #upsert = (d: Dialect, key: string, r: S.StoredSession) => this.#insert(d, key, r, d.upsert);
  #read = async (c: Conn, d: Dialect, key: string, lock = '') =>
    recordOf((await c.query(...this.#select(d, key, lock))).rows[0]);

  get(key: string): Promise<S.StoredSession | undefined> {
    return this.#run('get', key, (d) => this.#read(d.source, d, key));
  }

  set(key: string, record: S.StoredSession): Promise<void> {
    return this.#run('set', key, async (d) => {
      this.#written.note(key, undefined);
      await d.source.query(...this.#upsert(d, key, checked(() => record)!));
    });
  }

  /** Inserts the row only if the key is free (false when taken): never an upsert. */
  create(key: string, record: S.StoredSession): Promise<boolean> {
    return this.#run('create', key, async (d) => {
      this.#written.note(key, undefined);
      const insert = this.#insert(d, key, checked(() => record)!, () => d.keep);
      const added = await d.source.query(...insert).catch((err: unknown) => {
        if (hasCode('duplicate', err)) return { changed: 0 };
        throw err;
      });
      return added.changed > 0;
    });
  }

  /** Reads, changes and writes the row under its lock (SQLite: in one synchronous transaction). */
  async #transaction(d: Dialect, key: string, mutator: S.StoreMutator) {
    if (d.transaction)
      return d.transaction((run) => {
        const current = recordOf(run(this.#select(d, key)).rows[0]);
        const next = mutator(current);
        if (next !== undefined) run(next ? this.#upsert(d, key, next) : this.#delete(d, key));
        return next === undefined ? current : (next ?? undefined);
      });
    return d.source.exclusive(async (c) => {
      await c.query('BEGIN');
      try {
        const result = await this.#locked(c, d, key, mutator);
        await c.query('COMMIT');
        return result;
      } catch (err) {
        await c.query('ROLLBACK').catch(() => {});
        throw err;
      }
    });
  }

  async #locked(c: Conn, d: Dialect, key: string, mutator: S.StoreMutator) {
    let current = await this.#read(c, d, key, d.forUpdate);
    if (!current) {
      const created = mutator(undefined);
      if (!created) return undefined; // nothing there, nothing to write
      if ((await c.query(...this.#insert(d, key, created, () => d.keep))).changed) return created;
      // Another process inserted it since our read: its row is committed and now ours to lock.
      current = await this.#read(c, d, key, d.forUpdate);
      if (!current) throw new RowVanished('row inserted and deleted meanwhile');
    }
    const next = mutator(current);
    if (next !== undefined)
      await c.query(...(next ? this.#rewrite(d, key, next) : this.#delete(d, key)));
    return next === undefined ? current : (next ?? undefined);
  }

  update(key: string, mutator: S.StoreMutator, expected?: S.StoredSession) {
    const change: S.StoreMutator = (current) => checked(() => mutator(current));
    // One update per key at a time from this process (the row lock orders other processes).
    return this.#run('update', key, (d) =>
      this.#mutex.run(key, () => this.#update(d, key, change, expected)),
    );
  }

  async #update(d: Dialect, key: string, mutator: S.StoreMutator, expected?: S.StoredSession) {
    // Optimistic: one conditional UPDATE in autocommit, which re-checks its WHERE on the latest
    // committed row, so it changes nothing when another writer got there first; then read the
    // row again and retry a few times, and only then take the locked transaction.
    let basis = expected && this.#written.basis(key, expected);
    for (let tries = 0; basis && tries < OPTIMISTIC_TRIES; tries++) {
      const next = mutator(basis);
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
        const stored = await this.#transaction(d, key, mutator);
        this.#written.note(key, stored);
        return stored;
      } catch (err) {
        if (attempt >= MAX_ATTEMPTS || !(err instanceof RowVanished || hasCode('retryable', err)))
          throw err;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt));
      }
    }
  }

  touch(key: string, atime: number): Promise<void> {
    const sql = 'SET atime = ? WHERE session_id = ?';
    return this.#run('touch', key, async (d) => {
      await d.source.query(`UPDATE ${d.t} ${sql}`, [this.#time(d, atime), key]);
    });
  }

  delete(key: string): Promise<void> {
    return this.#run('delete', key, async (d) => {
      this.#written.note(key, undefined);
      await d.source.query(...this.#delete(d, key));
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
    // A cleanup racing close() stops quietly between statements instead of failing as "closed".
    while (!this.#closed) {
      const started = performance.now();
      const expire = (d: Dialect) => d.source.query(...d.expire(cutoff, batch));
      const n = (await this.#run('cleanup', undefined, expire)).changed;
      removed += n;
      onProgress?.({ scanned: removed, removed });
      if (n < batch) break;
      const ms = performance.now() - started;
      if (inThread && ms > SQLITE_STEP_MS) batch = Math.max(10, Math.floor(batch / 2));
      else if (inThread && ms < SQLITE_STEP_MS / 4) batch = Math.min(BATCH, batch * 2);
      await new Promise((resolve) => setImmediate(resolve));
    }
    return removed;
  }

  /** Moves an undecodable record to the row `quarantine:<key>`, kept until cleanup removes it. */
  quarantine(key: string): Promise<void> {
    return this.#run('quarantine', key, async (d) => {
      const record = await this.#read(d.source, d, key);
      if (!record) return;
      const aside = { data: record.data, atime: Date.now() };
      await d.source.query(...this.#upsert(d, `quarantine:${key}`, aside));
      await d.source.query(...this.#delete(d, key));
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
      if (this.#userColumn) return this.#keys(d, `${USER_COLUMN} = ?`, user);
      throw new errors.UnsupportedError(
        this.kind,
        `table "${this.table}" has no user_id column, so it keeps no user index; add it (ALTER TABLE ${this.table} ADD COLUMN user_id VARCHAR(256), plus an index on it: see the README) or create the table with createSessionTable, then restart`,
      );
    });
  }

  /** True when the table has the `user_id` column (the user index). */
  hasUserIndex(): Promise<boolean> {
    return this.#run('inspect table', undefined, async () => !!this.#userColumn);
  }

  /** True when the table exists (connects to look; creates nothing). */
  tableExists(): Promise<boolean> {
    const look = async (d: Dialect) => (await this.#hasUserColumn(d)) !== undefined;
    return this.#run('inspect table', undefined, look);
  }

  /** Whether the table has `user_id`; undefined when there is no table (yet). */
  async #hasUserColumn(d: Dialect) {
    const { rows } = await d.source.query(...d.columns);
    const names = rows.map((r) => String(r.name).toLowerCase());
    this.#wholeSeconds = rows.some(
      (r) => /^atime$/i.test(String(r.name)) && Number(r.fraction ?? -1) === 0,
    );
    return names.length === 0 ? undefined : names.includes(USER_COLUMN);
  }

  async #createTable(d: Dialect) {
    const { ddl } = d;
    const create = (sql: string) =>
      d.source.query(sql).catch((err: unknown) => {
        if (!hasCode('alreadyThere', err)) throw err;
      });
    for (const sql of ddl.table) await create(sql);
    if (await this.#hasUserColumn(d)) for (const sql of ddl.user) await create(sql);
    await this.#leaseTable(d);
  }

  /** Creates the table (with `user_id`) and its indexes if missing; leaves one that exists. */
  async createTable(): Promise<void> {
    await this.#run('create table', undefined, (d) => this.#createTable(d));
    this.#userColumn = undefined; // look again: the table may be new
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
