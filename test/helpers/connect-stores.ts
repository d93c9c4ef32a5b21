// The express-session stores the connect-store wrapper and the express-session migration are
// tested with: connect-redis (Redis), connect-pg-simple (PostgreSQL), session-file-store (a temp
// folder) and memorystore, each made fresh and isolated (its own key prefix, table or folder)
// with a teardown that closes it and removes what it created.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RedisStore as ConnectRedis } from 'connect-redis';
import session from 'express-session';
import { createClient } from 'redis';
import type { ConnectStoreLike } from 'websession';
import { dropPrefix } from './redis.js';
import { POSTGRES_URL, postgresPool, REDIS_URL, serverSkip } from './servers.js';
import { uniqueTable } from './unique-table.js';

const require = createRequire(import.meta.url);

/** An express-session store made for one test or suite. */
export interface MadeConnectStore {
  /** The store object as express-session takes it. */
  store: session.Store & ConnectStoreLike;
  /** Closes the store's client and removes its keys, table or folder. */
  teardown(): Promise<void>;
}

export type ConnectKindName =
  | 'connect-redis'
  | 'connect-pg-simple'
  | 'session-file-store'
  | 'memorystore';

/** One express-session store package. */
export interface ConnectKind {
  name: ConnectKindName;
  /** A reason to skip (its server is down, outside CI), or false. */
  skip: string | false;
  make(): Promise<MadeConnectStore>;
}

async function makeConnectRedis(): Promise<MadeConnectStore> {
  const prefix = `wstest:connect:${process.pid}:${randomBytes(4).toString('hex')}:`;
  const client = createClient({ url: REDIS_URL });
  client.on('error', () => {});
  await client.connect();
  const store = new ConnectRedis({ client, prefix });
  return {
    store,
    teardown: async () => {
      await client.close().catch(() => {});
      await dropPrefix(prefix);
    },
  };
}

async function makeConnectPg(): Promise<MadeConnectStore> {
  const pool = postgresPool(POSTGRES_URL);
  const table = uniqueTable('ws_connect');
  // Made here: the package's own table.sql names its index and key constraint the same for
  // every table, which collides between tests running at once.
  await pool.query(
    `CREATE TABLE ${table} (sid varchar PRIMARY KEY, sess json NOT NULL, expire timestamp(6) NOT NULL)`,
  );
  const PgStore = require('connect-pg-simple')(session) as new (
    options: Record<string, unknown>,
  ) => session.Store & ConnectStoreLike & { close(): Promise<void> };
  const store = new PgStore({
    pool,
    tableName: table,
    createTableIfMissing: false,
    pruneSessionInterval: false,
  });
  return {
    store,
    teardown: async () => {
      await store.close();
      await pool.query(`DROP TABLE IF EXISTS ${table}`).catch(() => {});
      await pool.end();
    },
  };
}

async function makeFileStore(): Promise<MadeConnectStore> {
  const dir = await mkdtemp(join(tmpdir(), 'websession-file-store-'));
  const FileStore = require('session-file-store')(session) as new (
    options: Record<string, unknown>,
  ) => session.Store & ConnectStoreLike;
  const store = new FileStore({ path: dir, retries: 0, reapInterval: -1, logFn: () => {} });
  return { store, teardown: () => rm(dir, { recursive: true, force: true }) };
}

async function makeMemorystore(): Promise<MadeConnectStore> {
  const MemoryStore = require('memorystore')(session) as new (
    options: Record<string, unknown>,
  ) => session.Store & ConnectStoreLike & { stopInterval(): void };
  const store = new MemoryStore({ checkPeriod: 3600_000 });
  return { store, teardown: async () => store.stopInterval() };
}

/** The four express-session stores; only the servers of those asked for are checked. */
export async function connectKinds(...names: ConnectKindName[]): Promise<ConnectKind[]> {
  const all: ConnectKindName[] = [
    'connect-redis',
    'connect-pg-simple',
    'session-file-store',
    'memorystore',
  ];
  const asked = names.length === 0 ? all : names;
  const kinds: ConnectKind[] = [];
  for (const name of asked) {
    if (name === 'connect-redis')
      kinds.push({
        name,
        skip: await serverSkip('redis', REDIS_URL, 6379),
        make: makeConnectRedis,
      });
    if (name === 'connect-pg-simple')
      kinds.push({
        name,
        skip: await serverSkip('postgres', POSTGRES_URL, 5432),
        make: makeConnectPg,
      });
    if (name === 'session-file-store') kinds.push({ name, skip: false, make: makeFileStore });
    if (name === 'memorystore') kinds.push({ name, skip: false, make: makeMemorystore });
  }
  return kinds;
}
