/**
 * The SQLite dialect of DBStore, on a better-sqlite3 `Database` (synchronous driver, one
 * connection). `update` runs in a `BEGIN IMMEDIATE` transaction, which takes SQLite's write lock
 * at once, so it is atomic against every process using the file.
 * @module
 */
import type { StoredSession, StoreMutator } from '../store.js';
import { type Backend, parseAtime, USER_COLUMN, userOf, utcText } from './common.js';

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

/** CREATE statements for the session table (with the user index column) and its atime index (idempotent). */
export function sqliteDDL(table: string): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS "${table}" (\n  session_id CHAR(128) UNIQUE NOT NULL,\n  atime DATETIME NOT NULL DEFAULT current_timestamp,\n  data TEXT,\n  ${USER_COLUMN} VARCHAR(256)\n)`,
    `CREATE INDEX IF NOT EXISTS "${table}_atime_idx" ON "${table}" (atime)`,
  ];
}

/** The index of the user column (run only when the table has the column). */
export function sqliteUserDDL(table: string): string[] {
  return [`CREATE INDEX IF NOT EXISTS "${table}_user_idx" ON "${table}" (${USER_COLUMN})`];
}

const UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|CANTOPEN|IOERR|FULL|NOMEM|PROTOCOL|NOTADB|READONLY)/;

type Row = { data: string | null; atime: unknown };

/** The DBStore backend over a better-sqlite3 Database; `owned` closes it with the store. */
export function sqliteBackend(db: SqliteDatabase, table: string, owned: boolean): Backend {
  const t = `"${table}"`;
  const sql = {
    get: `SELECT data, atime FROM ${t} WHERE session_id = ?`,
    upsert: `INSERT INTO ${t} (session_id, atime, data) VALUES (?, ?, ?) ON CONFLICT (session_id) DO UPDATE SET atime = excluded.atime, data = excluded.data`,
    upsertUser: `INSERT INTO ${t} (session_id, atime, data, ${USER_COLUMN}) VALUES (?, ?, ?, ?) ON CONFLICT (session_id) DO UPDATE SET atime = excluded.atime, data = excluded.data, ${USER_COLUMN} = excluded.${USER_COLUMN}`,
    userKeys: `SELECT session_id FROM ${t} WHERE ${USER_COLUMN} = ?`,
    columns: `SELECT name FROM pragma_table_info(?)`,
    updateIf: `UPDATE ${t} SET atime = ?, data = ? WHERE session_id = ? AND data = ?`,
    updateIfUser: `UPDATE ${t} SET atime = ?, data = ?, ${USER_COLUMN} = ? WHERE session_id = ? AND data = ?`,
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
  let withUser = false;
  const write = (key: string, record: StoredSession): void => {
    if (withUser) stmt(sql.upsertUser).run(key, utcText(record.atime), record.data, userOf(record));
    else stmt(sql.upsert).run(key, utcText(record.atime), record.data);
  };
  const keysOf = (rows: unknown[]) =>
    (rows as { session_id: string }[]).map((r) => r.session_id.trim());
  let updater: UpdateFn | undefined;

  return {
    kind: 'sqlite',
    async get(key) {
      return read(key);
    },
    async set(key, record) {
      write(key, record);
    },
    async update(key, mutator, expected) {
      if (expected) {
        // One autocommit statement when the row still holds what the caller read (TEXT compares
        // byte for byte under SQLite's default BINARY collation); else the transaction below.
        const next = mutator(expected);
        if (next) {
          const at = utcText(next.atime);
          const changes = withUser
            ? stmt(sql.updateIfUser).run(at, next.data, userOf(next), key, expected.data).changes
            : stmt(sql.updateIf).run(at, next.data, key, expected.data).changes;
          if (changes > 0) return next;
        }
      }
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
      return keysOf(stmt(sql.keysAfter).all(after, limit));
    },
    async createTable() {
      for (const ddl of sqliteDDL(table)) db.exec(ddl);
      if (await this.hasUserColumn()) for (const ddl of sqliteUserDDL(table)) db.exec(ddl);
    },
    async hasUserColumn() {
      // Not cached as a statement: its answer changes when the table is made.
      const names = (db.prepare(sql.columns).all(table) as { name: string }[]).map((r) => r.name);
      return names.length === 0 ? undefined : names.includes(USER_COLUMN);
    },
    useUserColumn(on) {
      withUser = on;
    },
    async userKeys(user) {
      return keysOf(stmt(sql.userKeys).all(user));
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
