/**
 * The SQLite dialect of DBStore, on a better-sqlite3 `Database` (synchronous driver, one
 * connection, used in turns). `update` runs in a `BEGIN IMMEDIATE` transaction, which takes
 * SQLite's write lock at once, so it is atomic against every process using the file.
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { StoredSession, StoreLease, StoreMutator } from '../store.js';
import { utcText } from './common.js';
import { recordOf, SqlEngine } from './sql.js';

type UpdateFn = (key: string, mutator: StoreMutator) => StoredSession | undefined;

interface SqliteStatement {
  readonly reader: boolean;
  all(...params: unknown[]): unknown[];
  run(...params: unknown[]): { changes: number };
}
/** The part of a better-sqlite3 `Database` DBStore uses (detected structurally). */
export interface SqliteDatabase {
  prepare(sql: string): SqliteStatement;
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

/** Runs statements, each prepared once (on first use: the table may be made after the store). */
function runner(db: SqliteDatabase) {
  const prepared = new Map<string, SqliteStatement>();
  return (sql: string, values: unknown[] = []) => {
    const s = prepared.get(sql) ?? db.prepare(sql);
    prepared.set(sql, s);
    if (s.reader) return { rows: s.all(...values) as Record<string, unknown>[], changed: 0 };
    return { rows: [], changed: s.run(...values).changes };
  };
}

/** SQLite on one table; `owned` closes the database with the store. */
export class SqliteEngine extends SqlEngine {
  protected readonly cols = 'data, atime';
  protected readonly onConflictKeep = 'ON CONFLICT (session_id) DO NOTHING';
  // TEXT compares byte for byte under SQLite's default BINARY collation.
  protected readonly sameData = 'data = ?';
  protected time = utcText;

  readonly #run: ReturnType<typeof runner>;
  readonly #db: SqliteDatabase;
  #updater: UpdateFn | undefined;

  constructor(db: SqliteDatabase, table: string, owned: boolean) {
    const run = runner(db);
    const query = async (sql: string, values?: unknown[]) => run(sql, values);
    const close = async () => void (owned && db.open && db.close());
    // One connection on this thread: each statement runs whole when called.
    const source = {
      query,
      exclusive: () => Promise.reject(),
      keep: async () => ({ conn: source, release() {} }),
      close,
    };
    super(source, 'sqlite', table, `"${table}"`);
    this.#run = run;
    this.#db = db;
  }

  /**
   * One conditional statement when the row still holds `expected`, else a transaction that runs
   * whole on this thread, so that no other statement of the process lands inside it.
   */
  override async update(key: string, mutator: StoreMutator, expected?: StoredSession) {
    const next = expected && mutator(expected);
    if (next && this.#run(...this.rewriteSql(key, next, ' AND data = ?', [expected.data])).changed)
      return next;
    this.#updater ??= this.#db.transaction((k, fn) => {
      const current = recordOf(this.#run(...this.readSql(k)).rows[0]);
      const result = fn(current);
      if (result === undefined) return current;
      if (result === null) this.#run(...this.deleteSql(k));
      else this.#run(...this.insertSql(k, result, (cols) => this.onConflictUpdate(cols)));
      return result ?? undefined;
    }).immediate;
    return this.#updater(key, mutator);
  }

  protected onConflictUpdate(columns: string[]) {
    const set = columns.map((c) => `${c} = excluded.${c}`).join(', ');
    return `ON CONFLICT (session_id) DO UPDATE SET ${set}`;
  }
  // The outer `atime < ?` is checked again on rows touched since the inner select: they stay.
  protected expire(cutoff: number, limit: number): [string, unknown[]] {
    const inner = `SELECT session_id FROM ${this.t} WHERE atime < ? LIMIT ${Math.trunc(limit)}`;
    const at = utcText(cutoff);
    return [`DELETE FROM ${this.t} WHERE session_id IN (${inner}) AND atime < ?`, [at, at]];
  }
  protected columns(): [string, unknown[]] {
    return ['SELECT name FROM pragma_table_info(?)', [this.table]];
  }
  // Never called: SQLite's lease is a row (see `lease`), not a lock of a connection.
  protected lock = (): [string, string, unknown[]] => ['', '', []];
  protected isAlreadyThere = () => false;
  protected isDuplicate = () => false;
  protected isRetryable = () => false;
  protected isDialectUnavailable = (err: unknown) =>
    UNAVAILABLE.test(String((err as { code?: unknown } | null)?.code)) ||
    (err instanceof TypeError && /database connection is not open/i.test(err.message));

  /**
   * A row of `<table>_lease` naming its owner until it expires, which reaches every process
   * sharing the file: taken when absent or expired, in one statement.
   */
  override async lease(name: string, ttlMs: number): Promise<StoreLease | undefined> {
    const t = `"${this.table}_lease"`;
    const run = async (sql: string, ...values: unknown[]) =>
      (await this.source.query(sql, values)).changed > 0;
    await run(
      `CREATE TABLE IF NOT EXISTS ${t} (name TEXT PRIMARY KEY, owner TEXT NOT NULL, expires INTEGER NOT NULL)`,
    );
    const [owner, now] = [randomUUID(), Date.now()];
    const take = `INSERT INTO ${t} (name, owner, expires) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires = excluded.expires WHERE expires <= ?`;
    if (!(await run(take, name, owner, now + ttlMs, now))) return undefined;
    const renew = `UPDATE ${t} SET expires = ? WHERE name = ? AND owner = ?`;
    return this.held(
      // Busy or closed: the holder stops, and the row expires by itself.
      () => run(renew, Date.now() + ttlMs, name, owner).catch(() => false),
      async () => void (await run(`DELETE FROM ${t} WHERE name = ? AND owner = ?`, name, owner)),
    );
  }
}
