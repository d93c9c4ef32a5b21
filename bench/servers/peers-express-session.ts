// The peer on Express: express-session, on its MemoryStore and on the stores others wrote for it,
// serving the same counter.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  count,
  listen,
  loadUntyped,
  MYSQL_URL,
  POSTGRES_URL,
  REDIS_URL,
  type Running,
  SECRET,
  type ServerSpec,
  type Service,
  type StoreKind,
} from './common.js';

/**
 * express-session with `store` (undefined: its MemoryStore), the same handler; `module` names the
 * middleware (`websession/express-session`, the drop-in replacement, runs the same app).
 */
export async function expressSession(
  makeStore: (session: unknown) => Promise<{ store?: unknown; close?: () => Promise<void> }>,
  module = 'express-session',
): Promise<Running> {
  const express = (await import('express')).default;
  const session = (await loadUntyped(module)).default;
  const { store, close } = await makeStore(session);
  const memory = store ?? new session.MemoryStore();
  const app = express();
  app.use(session({ secret: SECRET, resave: false, saveUninitialized: false, store: memory }));
  app.get(['/', '/visit'], (req, res) => {
    const s = (req as unknown as { session: Record<string, number> }).session;
    res.send(
      count(
        req.path,
        () => s.count,
        (v) => {
          s.count = v;
        },
      ),
    );
  });
  const server = await listen(app.listen(0, '127.0.0.1'));
  return {
    server,
    records: () =>
      new Promise((resolve, reject) =>
        memory.length((err: unknown, length: number) => (err ? reject(err) : resolve(length))),
      ),
    ...(close ? { close } : {}),
  };
}

function peer(
  label: string,
  storeKind: StoreKind,
  start: (tmp: string) => Promise<Running>,
  needs?: Service,
): ServerSpec {
  return {
    label,
    framework: 'express',
    store: storeKind,
    kind: 'peer',
    ...(needs ? { needs } : {}),
    start,
  };
}

export const EXPRESS_SESSION: Record<string, ServerSpec> = {
  'peer-express-session': peer('express-session + MemoryStore', 'memory', () =>
    expressSession(async () => ({})),
  ),
  'express-session-compat': {
    ...peer(
      'websession/express-session (the same app, one import changed) + MemoryStore',
      'memory',
      () => expressSession(async () => ({}), 'websession/express-session'),
    ),
    kind: 'ours',
  },
  'peer-session-file-store': peer('express-session + session-file-store', 'disk', async (tmp) => {
    const dir = join(tmp, 'session-file-store');
    const running = await expressSession(async (session) => {
      const FileStore = (await loadUntyped('session-file-store')).default(session);
      return { store: new FileStore({ path: dir, logFn: () => {}, reapInterval: -1 }) };
    });
    return {
      ...running,
      records: async () => readdirSync(dir).filter((f) => f.endsWith('.json')).length,
    };
  }),
  'peer-connect-redis': peer(
    'express-session + connect-redis',
    'redis',
    () =>
      expressSession(async () => {
        const { RedisStore } = await loadUntyped('connect-redis');
        const { createClient } = await loadUntyped('redis');
        const client = createClient({ url: REDIS_URL });
        client.on('error', () => {});
        await client.connect();
        const prefix = `bench-connect-redis:${process.pid}:`;
        return {
          store: new RedisStore({ client, prefix }),
          close: async () => {
            const keys = await client.keys(`${prefix}*`);
            if (keys.length > 0) await client.del(keys);
            await client.quit();
          },
        };
      }),
    'redis',
  ),
  'peer-connect-pg-simple': peer(
    'express-session + connect-pg-simple',
    'postgres',
    () =>
      expressSession(async (session) => {
        const PgStore = (await loadUntyped('connect-pg-simple')).default(session);
        const pg = (await import('pg')).default;
        const pool = new pg.Pool({ connectionString: POSTGRES_URL });
        pool.on('error', () => {});
        await pool.query(
          'CREATE TABLE IF NOT EXISTS bench_connect_pg ("sid" varchar NOT NULL PRIMARY KEY, "sess" json NOT NULL, "expire" timestamp(6) NOT NULL)',
        );
        await pool.query('DELETE FROM bench_connect_pg');
        return {
          store: new PgStore({ pool, tableName: 'bench_connect_pg', pruneSessionInterval: false }),
          close: () => pool.end(),
        };
      }),
    'postgres',
  ),
  'peer-better-sqlite3-session-store': peer(
    'express-session + better-sqlite3-session-store (WAL, synchronous NORMAL)',
    'sqlite',
    (tmp) =>
      expressSession(async (session) => {
        const SqliteStore = (await loadUntyped('better-sqlite3-session-store')).default(session);
        const Database = (await import('better-sqlite3')).default;
        const db = new Database(join(tmp, 'peer-sessions.db'));
        // The settings DBStore gives a file it opens (the peer sets none itself): WAL, with
        // commits not flushed to the disk one by one.
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = NORMAL');
        return {
          store: new SqliteStore({ client: db, expired: { clear: false } }),
          close: async () => {
            db.close();
          },
        };
      }),
  ),
  'peer-express-mysql-session': peer(
    'express-session + express-mysql-session',
    'mysql',
    () =>
      expressSession(async (session) => {
        const MySQLStore = (await loadUntyped('express-mysql-session')).default(session);
        const u = new URL(MYSQL_URL);
        const store = new MySQLStore({
          host: u.hostname,
          port: Number(u.port || 3306),
          user: decodeURIComponent(u.username),
          password: decodeURIComponent(u.password),
          database: u.pathname.slice(1),
          clearExpired: false,
          createDatabaseTable: true,
          schema: { tableName: 'bench_express_mysql' },
        });
        await store.onReady();
        await store.clear();
        return { store, close: () => store.close() };
      }),
    'mysql',
  ),
};
