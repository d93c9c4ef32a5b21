/**
 * The SQLite dialect of DBStore, on a better-sqlite3 `Database`: a synchronous driver, so a
 * statement, and `update`'s `BEGIN IMMEDIATE` transaction (the file's write lock), runs whole.
 */
import { type Engine, hasMethods, type Query } from './common.js';
import type { Row, Source } from './sql.js';

interface SqliteStatement {
  readonly reader: boolean;
  all(...params: unknown[]): unknown[];
  run(...params: unknown[]): { changes: number };
}
/** The part of a better-sqlite3 `Database` DBStore uses. */
export interface SqliteDatabase {
  prepare(sql: string): SqliteStatement;
  transaction<T>(fn: () => T): { immediate(): T };
  pragma(source: string, options?: { simple?: boolean }): unknown;
  close(): unknown;
  readonly open: boolean;
}

export const isSqliteDatabase = (db: unknown): db is SqliteDatabase =>
  hasMethods(db, 'prepare', 'transaction', 'pragma');

const UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|CANTOPEN|IOERR|FULL|NOMEM|PROTOCOL|NOTADB|READONLY)/;

/** SQLite on a better-sqlite3 Database (closed with the store when `owned`). */
export function sqlite(db: SqliteDatabase, owned: boolean): Engine {
  // Each statement is prepared once, on first use (the table may be made after the store).
  const prepared = new Map<string, SqliteStatement>();
  const run = ([sql, values]: Query) => {
    const s = prepared.get(sql) ?? db.prepare(sql);
    prepared.set(sql, s);
    if (s.reader) return { rows: s.all(...values) as Row[], changed: 0 };
    return { rows: [], changed: s.run(...values).changes };
  };
  const source: Source = {
    query: async (sql, values = []) => run([sql, values]),
    exclusive: (fn) => fn(source), // unused: `transaction` runs update
    close: async () => void (owned && db.open && db.close()),
  };
  return {
    source,
    transaction: (fn) => db.transaction(() => fn(run)).immediate(),
    isUnavailable: (err) =>
      UNAVAILABLE.test(String((err as { code?: unknown } | null)?.code)) ||
      (err instanceof TypeError && /database connection is not open/i.test(err.message)),
  };
}
