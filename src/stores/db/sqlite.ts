/**
 * The SQLite dialect of DBStore, on a better-sqlite3 `Database` (synchronous driver, one
 * connection). `update` runs in a `BEGIN IMMEDIATE` transaction, which takes SQLite's write lock
 * at once, so it is atomic against every process using the file.
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { StoredSession, StoreLease, StoreMutator } from '../store.js';
import { type Engine, parseAtime, rowOf, tableDDL, USER_COLUMN, utcText } from './common.js';

type UpdateFn = (key: string, mutator: StoreMutator) => StoredSession | undefined;
interface SqliteStatement {
  all(...params: unknown[]): unknown[];
  run(...params: unknown[]): { changes: number };
}
/** The part of a better-sqlite3 `Database` DBStore uses (detected structurally). */
export interface SqliteDatabase {
  prepare(sql: string): SqliteStatement;
  exec(sql: string): unknown;
  transaction(fn: UpdateFn): { immediate: UpdateFn };
  pragma(source: string, options?: { simple?: boolean }): unknown;
  close(): unknown;
  readonly open: boolean;
}

export const isSqliteDatabase = (db: unknown): db is SqliteDatabase =>
  typeof (db as SqliteDatabase | null)?.prepare === 'function' &&
  typeof (db as SqliteDatabase).transaction === 'function' &&
  typeof (db as SqliteDatabase).pragma === 'function';

const UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|CANTOPEN|IOERR|FULL|NOMEM|PROTOCOL|NOTADB|READONLY)/;
type Row = { data: string | null; atime: unknown; session_id: string };
const keysOf = (rows: unknown[]) => (rows as Row[]).map((r) => r.session_id.trim());

/** SQLite on one table; `owned` closes the database with the store. */
export class SqliteEngine implements Engine {
  userColumn = false;
  readonly #t: string;
  /** Statements, prepared on first use (the table may be created after the store). */
  readonly #prepared = new Map<string, SqliteStatement>();
  readonly #leases = new Set<StoreLease>();
  #updater: UpdateFn | undefined;

  constructor(
    private readonly db: SqliteDatabase,
    private readonly table: string,
    private readonly owned: boolean,
  ) {
    this.#t = `"${table}"`;
  }

  #statement(sql: string): SqliteStatement {
    const s = this.#prepared.get(sql) ?? this.db.prepare(sql);
    this.#prepared.set(sql, s);
    return s;
  }
  #run = (sql: string, ...params: unknown[]) => this.#statement(sql).run(...params).changes;
  #all = (sql: string, ...params: unknown[]) => this.#statement(sql).all(...params);

  #read(key: string): StoredSession | undefined {
    const sql = `SELECT data, atime FROM ${this.#t} WHERE session_id = ?`;
    const row = this.#all(sql, key)[0] as Row | undefined;
    return row && { data: row.data ?? '', atime: parseAtime(row.atime) };
  }

  /** An INSERT of the record that, for a taken key, does `onConflict`. */
  #insert(key: string, r: StoredSession, onConflict: (cols: string[]) => string): number {
    const { cols, values } = rowOf(key, r, utcText(r.atime), this.userColumn);
    const marks = cols.map(() => '?').join(', ');
    const sql = `INSERT INTO ${this.#t} (${cols.join(', ')}) VALUES (${marks}) ON CONFLICT (session_id) DO ${onConflict(cols.slice(1))}`;
    return this.#run(sql, ...values);
  }

  #write = (key: string, r: StoredSession) =>
    this.#insert(key, r, (cols) => `UPDATE SET ${cols.map((c) => `${c} = excluded.${c}`)}`);

  async get(key: string) {
    return this.#read(key);
  }

  async set(key: string, record: StoredSession) {
    this.#write(key, record);
  }

  async create(key: string, record: StoredSession) {
    return this.#insert(key, record, () => 'NOTHING') > 0;
  }

  async update(key: string, mutator: StoreMutator, expected?: StoredSession) {
    const next = expected && mutator(expected);
    if (next) {
      // One autocommit statement when the row still holds what the caller read (TEXT compares
      // byte for byte under SQLite's default BINARY collation); else the transaction below.
      const { cols, values } = rowOf(key, next, utcText(next.atime), this.userColumn);
      const set = cols.slice(1).map((c) => `${c} = ?`);
      const sql = `UPDATE ${this.#t} SET ${set} WHERE session_id = ? AND data = ?`;
      if (this.#run(sql, ...values.slice(1), key, expected.data) > 0) return next;
    }
    this.#updater ??= this.db.transaction((k: string, fn: StoreMutator) => {
      const current = this.#read(k);
      const result = fn(current);
      if (result === undefined) return current;
      if (result === null) this.#run(`DELETE FROM ${this.#t} WHERE session_id = ?`, k);
      else this.#write(k, result);
      return result ?? undefined;
    }).immediate;
    return this.#updater(key, mutator);
  }

  async touch(key: string, atime: number) {
    this.#run(`UPDATE ${this.#t} SET atime = ? WHERE session_id = ?`, utcText(atime), key);
  }

  async delete(key: string) {
    this.#run(`DELETE FROM ${this.#t} WHERE session_id = ?`, key);
  }

  async deleteExpired(cutoff: number, limit: number) {
    const at = utcText(cutoff);
    const inner = `SELECT session_id FROM ${this.#t} WHERE atime < ? LIMIT ?`;
    const sql = `DELETE FROM ${this.#t} WHERE session_id IN (${inner}) AND atime < ?`;
    return this.#run(sql, at, limit, at);
  }

  async keysAfter(after: string, limit: number) {
    const sql = `SELECT session_id FROM ${this.#t} WHERE session_id > ? ORDER BY session_id LIMIT ?`;
    return keysOf(this.#all(sql, after, limit));
  }

  async userKeys(user: string) {
    return keysOf(this.#all(`SELECT session_id FROM ${this.#t} WHERE ${USER_COLUMN} = ?`, user));
  }

  async createTable() {
    const ddl = tableDDL('sqlite', this.table);
    for (const sql of ddl.table) this.db.exec(sql);
    if (await this.hasUserColumn()) for (const sql of ddl.user) this.db.exec(sql);
  }

  async hasUserColumn() {
    // Not cached as a statement: its answer changes when the table is made.
    const rows = this.db.prepare('SELECT name FROM pragma_table_info(?)').all(this.table);
    const names = (rows as { name: string }[]).map((r) => r.name);
    return names.length === 0 ? undefined : names.includes(USER_COLUMN);
  }

  /**
   * A row of `<table>_lease` naming its owner until it expires, which reaches every process
   * sharing the file: taken when absent or expired, in one statement.
   */
  async lease(name: string, ttlMs: number): Promise<StoreLease | undefined> {
    const t = `"${this.table}_lease"`;
    this.db.exec(
      `CREATE TABLE IF NOT EXISTS ${t} (name TEXT PRIMARY KEY, owner TEXT NOT NULL, expires INTEGER NOT NULL)`,
    );
    const owner = randomUUID();
    const now = Date.now();
    const take = `INSERT INTO ${t} (name, owner, expires) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires = excluded.expires WHERE expires <= ?`;
    if (this.#run(take, name, owner, now + ttlMs, now) === 0) return undefined;
    let held = true;
    const renew = `UPDATE ${t} SET expires = ? WHERE name = ? AND owner = ?`;
    const lease: StoreLease = {
      renew: async () => {
        try {
          return held && this.#run(renew, Date.now() + ttlMs, name, owner) > 0;
        } catch {
          return false; // busy or closed: the holder stops, and the row expires
        }
      },
      release: async () => {
        if (!held) return;
        held = false;
        this.#leases.delete(lease);
        try {
          this.#run(`DELETE FROM ${t} WHERE name = ? AND owner = ?`, name, owner);
        } catch {
          // the row expires by itself
        }
      },
    };
    this.#leases.add(lease);
    return lease;
  }

  isUnavailable(err: unknown) {
    if (UNAVAILABLE.test(String((err as { code?: unknown } | null)?.code))) return true;
    return err instanceof TypeError && /database connection is not open/i.test(err.message);
  }

  async close() {
    for (const lease of [...this.#leases]) await lease.release();
    if (this.owned && this.db.open) this.db.close();
  }
}
