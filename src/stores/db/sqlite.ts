/**
 * The SQLite dialect of DBStore, on a better-sqlite3 `Database`: a synchronous driver, so a
 * statement, and `update`'s `BEGIN IMMEDIATE` transaction (the file's write lock), runs whole.
 */
import { randomUUID } from 'node:crypto';
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
export function sqlite(db: SqliteDatabase, table: string, owned: boolean): Engine {
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
    keep: async () => ({ conn: source, release() {} }), // unused: a lease is a row
    close: async () => void (owned && db.open && db.close()),
  };
  const lease = `"${table}_lease"`;
  return {
    source,
    // A row of `<table>_lease` names its owner until it expires: every process sees it.
    async lease(name, ttlMs) {
      const create = `CREATE TABLE IF NOT EXISTS ${lease} (name TEXT PRIMARY KEY, owner TEXT NOT NULL, expires INTEGER NOT NULL)`;
      run([create, []]);
      const [owner, now] = [randomUUID(), Date.now()];
      const take = `INSERT INTO ${lease} (name, owner, expires) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires = excluded.expires WHERE expires <= ?`;
      if (!run([take, [name, owner, now + ttlMs, now]]).changed) return undefined;
      const renew = `UPDATE ${lease} SET expires = ? WHERE name = ? AND owner = ?`;
      const release = `DELETE FROM ${lease} WHERE name = ? AND owner = ?`;
      return {
        renew: async () => !!run([renew, [Date.now() + ttlMs, name, owner]]).changed,
        release: async () => void run([release, [name, owner]]),
      };
    },
    transaction: (fn) => db.transaction(() => fn(run)).immediate(),
    isUnavailable: (err) =>
      UNAVAILABLE.test(String((err as { code?: unknown } | null)?.code)) ||
      (err instanceof TypeError && /database connection is not open/i.test(err.message)),
  };
}
