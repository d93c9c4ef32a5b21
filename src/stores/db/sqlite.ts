/**
 * The SQLite dialect of DBStore, on a better-sqlite3 `Database` (synchronous driver, one
 * connection). `update` runs in a `BEGIN IMMEDIATE` transaction, which takes SQLite's write lock
 * at once, so it is atomic against every process using the file.
 * @module
 */
import type { StoredSession, StoreMutator } from '../store.js';
import { type Backend, parseAtime, utcText } from './common.js';

type UpdateFn = (key: string, mutator: StoreMutator) => StoredSession | undefined;

/** The part of a better-sqlite3 statement DBStore uses. */
export interface SqliteStatement {
  get(...params: unknown[]): unknown;
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

/** True for a better-sqlite3 Database. */
export function isSqliteDatabase(db: unknown): db is SqliteDatabase {
  const d = db as Partial<SqliteDatabase> | null;
  return (
    !!d &&
    typeof d.prepare === 'function' &&
    typeof d.transaction === 'function' &&
    typeof d.pragma === 'function'
  );
}

/** CREATE statements for the session table and its atime index (idempotent). */
export function sqliteDDL(table: string): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS "${table}" (\n  session_id CHAR(128) UNIQUE NOT NULL,\n  atime DATETIME NOT NULL DEFAULT current_timestamp,\n  data TEXT\n)`,
    `CREATE INDEX IF NOT EXISTS "${table}_atime_idx" ON "${table}" (atime)`,
  ];
}

const UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|CANTOPEN|IOERR|FULL|NOMEM|PROTOCOL|NOTADB|READONLY)/;

type Row = { data: string | null; atime: unknown };

export function sqliteBackend(db: SqliteDatabase, table: string, owned: boolean): Backend {
  const t = `"${table}"`;
  const sql = {
    get: `SELECT data, atime FROM ${t} WHERE session_id = ?`,
    upsert: `INSERT INTO ${t} (session_id, atime, data) VALUES (?, ?, ?) ON CONFLICT (session_id) DO UPDATE SET atime = excluded.atime, data = excluded.data`,
    touch: `UPDATE ${t} SET atime = ? WHERE session_id = ?`,
    delete: `DELETE FROM ${t} WHERE session_id = ?`,
    deleteExpired: `DELETE FROM ${t} WHERE session_id IN (SELECT session_id FROM ${t} WHERE atime < ? LIMIT ?) AND atime < ?`,
    keysAfter: `SELECT session_id FROM ${t} WHERE session_id > ? ORDER BY session_id LIMIT ?`,
  };
  // Statements are prepared on first use (the table may be created after the store).
  const cache = new Map<string, SqliteStatement>();
  const stmt = (text: string): SqliteStatement => {
    let s = cache.get(text);
    if (!s) {
      s = db.prepare(text);
      cache.set(text, s);
    }
    return s;
  };
  const read = (key: string): StoredSession | undefined => {
    const row = stmt(sql.get).get(key) as Row | undefined;
    return row ? { data: row.data ?? '', atime: parseAtime(row.atime) } : undefined;
  };
  const write = (key: string, record: StoredSession): void => {
    stmt(sql.upsert).run(key, utcText(record.atime), record.data);
  };
  let updater: UpdateFn | undefined;

  return {
    kind: 'sqlite',
    async get(key) {
      return read(key);
    },
    async set(key, record) {
      write(key, record);
    },
    async update(key, mutator) {
      updater ??= db.transaction((k: string, fn: StoreMutator): StoredSession | undefined => {
        const current = read(k);
        const next = fn(current);
        if (next === undefined) return current;
        if (next === null) {
          stmt(sql.delete).run(k);
          return undefined;
        }
        write(k, next);
        return next;
      }).immediate;
      return updater(key, mutator);
    },
    async touch(key, atime) {
      stmt(sql.touch).run(utcText(atime), key);
    },
    async delete(key) {
      stmt(sql.delete).run(key);
    },
    async deleteExpired(cutoff, limit) {
      const at = utcText(cutoff);
      return stmt(sql.deleteExpired).run(at, limit, at).changes;
    },
    async keysAfter(after, limit) {
      return (stmt(sql.keysAfter).all(after, limit) as { session_id: string }[]).map((r) =>
        r.session_id.trim(),
      );
    },
    async createTable() {
      for (const ddl of sqliteDDL(table)) db.exec(ddl);
    },
    isUnavailable(err) {
      const code = (err as { code?: unknown } | null)?.code;
      if (typeof code === 'string' && UNAVAILABLE.test(code)) return true;
      return err instanceof TypeError && /database connection is not open/i.test(err.message);
    },
    async close() {
      if (owned && db.open) db.close();
    },
  };
}
