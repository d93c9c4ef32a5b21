/**
 * `database({ dbn, db, … })`: web.py's `web.database(dbn=…, db=…)` for DBStore. It returns at
 * once; the driver (an optional package) is imported and the pool opened on first use.
 * @module
 */
import { closeSync, openSync } from 'node:fs';
import { ConfigError } from '../../core/errors.js';
import { checkDatabaseUrl } from '../database-url.js';
import { loadOptional } from '../optional.js';
import { type Dbn, warnOf } from './common.js';
import { checkpointOffThread } from './sqlite-checkpoints.js';

/** What {@link database} takes, after web.py's `web.database` keywords. */
export interface DatabaseParams {
  /** The engine: `sqlite`, `postgres` (or `postgresql`), `mysql` (or `mariadb`). */
  dbn: string;
  /** SQLite: the file (`:memory:` for none); PostgreSQL and MySQL: the database name. */
  db?: string;
  user?: string;
  /** The password (web.py's name; `password` is the drivers'). */
  pw?: string;
  password?: string;
  host?: string;
  port?: number | string;
  /** A connection URL (`postgres://…`, `mysql://…`) instead of the fields above. */
  url?: string;
  /** Most pooled connections (PostgreSQL, MySQL). Default 10. */
  max?: number;
  /** Told of errors on idle pooled connections (the pool replaces them). Default: console.warn. */
  onError?: (err: Error) => void;
  /**
   * ms a statement may wait (MySQL: for a lock, in whole seconds) or run on the server; below
   * `store_timeout`, a write answered 503 is cancelled instead of landing later. URLs set 4000.
   */
  statementTimeout?: number;
  /**
   * SQLite: flush the log to the disk at every commit (`synchronous = FULL`), so that a saved
   * session also survives a power cut; each write then holds the event loop while the disk
   * flushes (a few hundred µs on an SSD). Default false: `synchronous = NORMAL`, which in WAL
   * mode keeps every committed write through a crash of the process and never corrupts the file.
   */
  fsync?: boolean;
  /** Extra options passed as they are to `pg.Pool`, `mysql2.createPool` or `better-sqlite3`. */
  options?: Record<string, unknown>;
}

/** Normalises an engine name (`postgresql` → `postgres`, `mariadb` → `mysql`). */
export function dbnOf(name: unknown): Dbn {
  const n = String(name).toLowerCase();
  if (/^sqlite3?$/.test(n)) return 'sqlite';
  if (/^postgres(ql)?$/.test(n)) return 'postgres';
  if (/^(mysql|mariadb)$/.test(n)) return 'mysql';
  throw new ConfigError(`unknown dbn ${JSON.stringify(name)}: expected sqlite, postgres or mysql`);
}

const CONNECT_MS = 5000;

/**
 * Creates a new SQLite file readable by its owner only (0600, whatever the umask), as SQLite
 * would create it 0644 under the usual umask 022; its `-wal` and `-shm` files take the mode of
 * the database file. An existing file keeps its mode; `:memory:` and temporary (`''`) are left.
 */
function createPrivate(file: string): void {
  if (file === ':memory:' || file === '' || file.startsWith('file:')) return;
  try {
    closeSync(openSync(file, 'wx', 0o600));
  } catch {
    // There already (kept as it is), or not creatable: better-sqlite3 says why when it opens.
  }
}

/** A database as web.py's `web.database` gives one, for DBStore and the application. */
export class Database {
  /** The engine. */
  readonly dbn: Dbn;
  readonly #params: DatabaseParams;
  #opening: Promise<unknown> | undefined;
  #close: (() => Promise<void>) | undefined;
  #closed = false;

  constructor(params: DatabaseParams) {
    if (!params || typeof params !== 'object')
      throw new ConfigError('database() needs { dbn, db, … }');
    this.dbn = dbnOf(params.dbn);
    if (this.dbn === 'sqlite' && !params.db)
      throw new ConfigError("database({ dbn: 'sqlite' }) needs db: the file name (or ':memory:')");
    if (this.dbn !== 'sqlite' && !params.db && !params.url)
      throw new ConfigError(`database({ dbn: '${this.dbn}' }) needs db (the database name) or url`);
    if (params.url !== undefined && this.dbn !== 'sqlite') checkDatabaseUrl(this.dbn, params.url);
    if (params.fsync !== undefined && (this.dbn !== 'sqlite' || typeof params.fsync !== 'boolean'))
      throw new ConfigError(
        "database() fsync is true or false, for dbn: 'sqlite' (a server database keeps its own durability settings)",
      );
    const st = params.statementTimeout;
    if (st !== undefined && (!Number.isFinite(st) || st <= 0))
      throw new ConfigError('database() statementTimeout must be a positive number of ms');
    this.#params = { ...params };
  }

  /** `host:port` of a PostgreSQL or MySQL server, for messages (undefined for SQLite). */
  get where(): string | undefined {
    if (this.dbn === 'sqlite') return undefined;
    const p = this.#params;
    const url = URL.canParse(p.url ?? '') ? new URL(p.url!) : undefined;
    const host = p.host ?? (url?.hostname || 'localhost');
    return `${host}:${p.port ?? (url?.port || (this.dbn === 'postgres' ? 5432 : 3306))}`;
  }

  /** The driver's handle, opened on first call: better-sqlite3's, or a pg or mysql2 Pool. */
  handle(): Promise<unknown> {
    if (this.#closed) return Promise.reject(new ConfigError(`this ${this.dbn} database is closed`));
    this.#opening ??= this.#open().catch((err: unknown) => {
      this.#opening = undefined; // try again on the next call
      throw err;
    });
    return this.#opening;
  }

  async #open() {
    const p = this.#params;
    if (this.dbn === 'sqlite') {
      const mod = await loadOptional('better-sqlite3', 'sqlite', () => import('better-sqlite3'));
      if (!p.options?.readonly) createPrivate(p.db!);
      const db = new mod.default(p.db!, p.options);
      if (p.db !== ':memory:' && !db.readonly) {
        try {
          db.pragma('journal_mode = WAL');
        } catch (err) {
          // A file SQLite can only read (a read-only mount): reads are served, writes fail (503).
          if (!/^SQLITE_READONLY/.test(String((err as { code?: unknown }).code))) throw err;
        }
        // WAL's recommended pairing: a commit is not flushed to the disk (FULL flushes each one).
        db.pragma(`synchronous = ${p.fsync ? 'FULL' : 'NORMAL'}`);
      }
      const inWal = !db.readonly && String(db.pragma('journal_mode', { simple: true })) === 'wal';
      const checkpoints = inWal ? checkpointOffThread(db, p.db!) : undefined;
      this.#close = async () => {
        await checkpoints?.stop();
        db.close();
      };
      return db;
    }
    const onError = p.onError ?? warnOf(this.dbn);
    // Unset fields stay undefined: the drivers then take the URL's, or their defaults.
    const { host, user, db: database, max = 10, statementTimeout: timeout } = p;
    const port = p.port === undefined ? undefined : Number(p.port);
    const where = { host, port, user, password: p.pw ?? p.password, database };
    if (this.dbn === 'postgres') {
      const { default: pg } = await loadOptional('pg', 'postgres', () => import('pg'));
      const statement_timeout = timeout && Math.ceil(timeout);
      const options = { connectionString: p.url, ...where, max, statement_timeout };
      const pool = new pg.Pool({ ...options, connectionTimeoutMillis: CONNECT_MS, ...p.options });
      pool.on('error', onError);
      this.#close = () => pool.end();
      return pool;
    }
    const mysql = await loadOptional('mysql2', 'mysql', () => import('mysql2/promise'));
    const options = { uri: p.url, ...where, connectionLimit: max, charset: 'utf8mb4' };
    const keepAlive = { enableKeepAlive: true, connectTimeout: CONNECT_MS };
    const pool = mysql.createPool({ ...options, ...keepAlive, ...p.options });
    pool.pool.on('error', onError);
    // Each new connection runs this before anything else it is given.
    const wait = `SET SESSION innodb_lock_wait_timeout = ${Math.max(1, Math.ceil((timeout ?? 0) / 1000))}`;
    if (timeout) pool.pool.on('connection', (c) => c.query(wait, () => {}));
    this.#close = () => pool.end();
    return pool;
  }

  /**
   * Closes the pool (or file) if it was opened. It succeeds even after an outage, when ending a
   * pool still failing to connect rejects with that stale error in the driver, yet closes it.
   */
  async close(): Promise<void> {
    this.#closed = true;
    const opening = this.#opening;
    this.#opening = undefined;
    if (!opening) return;
    await opening.catch(() => {});
    await this.#close?.().catch(() => {});
  }
}

/**
 * web.py's `web.database(dbn=…, db=…)`, opened on first use with its driver (an optional package).
 * @example
 * const db = web.database({ dbn: 'postgres', db: 'app', user: 'app', pw: 'secret', host: '127.0.0.1' });
 */
export function database(params: DatabaseParams): Database {
  return new Database(params);
}
