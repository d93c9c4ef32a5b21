// Closing a store is quiet and succeeds: after an outage (a connection still failing to connect
// when the pool is ended), and while or after a background cleanup runs.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import mysql from 'mysql2/promise';
import pg from 'pg';
import {
  Database,
  DBStore,
  generateSessionId,
  SessionManager,
  ShelfStore,
  type Store,
  storeKey,
} from 'websession';
import { uniqueTable } from '../helpers/db-store.js';
import { MYSQL_URL, POSTGRES_URL, serverSkip } from '../helpers/servers.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';

const mysqlSkip = await serverSkip('MySQL', MYSQL_URL, 3306);
const postgresSkip = await serverSkip('Postgres', POSTGRES_URL, 5432);
const key = () => storeKey(generateSessionId());
const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
const tempDir = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'websession-close-'));
  dirs.push(dir);
  return dir;
};

/** What a warning logger collected. */
function spyLogger() {
  const warnings: string[] = [];
  return {
    warnings,
    logger: { warn: (m: string, e?: unknown) => void warnings.push(`${m} ${e}`) },
  };
}

const servers = [
  {
    name: 'MySQL',
    dbn: 'mysql',
    skip: mysqlSkip,
    target: new URL(MYSQL_URL),
    timeout: { connectTimeout: 500 },
    pool: (port: number, url: URL) =>
      mysql.createPool({
        host: '127.0.0.1',
        port,
        user: decodeURIComponent(url.username),
        database: url.pathname.slice(1),
        connectTimeout: 500,
      }),
  },
  {
    name: 'PostgreSQL',
    dbn: 'postgres',
    skip: postgresSkip,
    target: new URL(POSTGRES_URL),
    timeout: { connectionTimeoutMillis: 500 },
    pool: (port: number, url: URL) => {
      const pool = new pg.Pool({
        host: '127.0.0.1',
        port,
        user: decodeURIComponent(url.username),
        database: url.pathname.slice(1),
        connectionTimeoutMillis: 500,
      });
      pool.on('error', () => {});
      return pool;
    },
  },
];

/** web.database(…) of a server, reached through the proxy on `port`. */
const databaseOf = (server: (typeof servers)[number], port: number) =>
  new Database({
    dbn: server.dbn,
    host: '127.0.0.1',
    port,
    user: decodeURIComponent(server.target.username),
    db: server.target.pathname.slice(1),
    options: server.timeout,
    onError: () => {},
  });

for (const server of servers) {
  describe(`DBStore.close() on ${server.name} after an outage`, { skip: server.skip }, () => {
    for (const given of ['database', 'pool'] as const) {
      for (const outage of ['hung (no answer)', 'cut while connecting']) {
        it(`${given === 'database' ? 'web.database(…)' : 'a pool given with closeDatabase'}, server ${outage}: close() resolves`, async () => {
          const target = server.target;
          const proxy = await startTcpProxy({
            host: target.hostname,
            port: Number(target.port || (server.dbn === 'mysql' ? 3306 : 5432)),
          });
          try {
            proxy.freeze();
            const db =
              given === 'database'
                ? databaseOf(server, proxy.port)
                : server.pool(proxy.port, target);
            const store = new DBStore(db, uniqueTable(), {
              closeDatabase: true,
              onError: () => {},
            });
            // A call is connecting when the application shuts down.
            const call = store.get(key()).catch((err: Error) => err);
            await new Promise((resolve) => setTimeout(resolve, 100));
            if (outage.startsWith('cut')) setTimeout(() => void proxy.cut(), 50);
            await store.close();
            assert.ok((await call) instanceof Error, 'the call in flight failed');
            if (db instanceof Database) await db.close();
          } finally {
            await proxy.close();
          }
        });
      }
    }
  });
}

describe('a cleanup racing close() is quiet', () => {
  const stores: [string, (dir: string) => Store][] = [
    ['ShelfStore', (dir) => new ShelfStore(join(dir, 's.shelf'), { cleanupBatch: 100 })],
    [
      'DBStore on SQLite',
      (dir) =>
        new DBStore(new Database({ dbn: 'sqlite', db: join(dir, 's.db') }), 'sessions', {
          createTable: true,
          closeDatabase: true,
        }),
    ],
  ];
  for (const [name, make] of stores) {
    it(`${name}: cleanup after close() returns 0; the manager's background cleanup logs nothing`, async () => {
      const store = make(await tempDir());
      await store.set(key(), { data: 'x', atime: Date.now() - 7200_000 });
      await store.close();
      assert.equal(await store.cleanup(60), 0);
      const { warnings, logger } = spyLogger();
      const manager = new SessionManager(store, { cleanup_interval: 0.02, logger });
      await manager.load({}); // starts the background cleanup
      await new Promise((resolve) => setTimeout(resolve, 1200)); // its first pass is at 1 s
      await manager.close();
      assert.deepEqual(warnings, []);
    });

    it(`${name}: close() during a long cleanup: both succeed, the cleanup stops at its next batch`, async () => {
      const store = make(await tempDir());
      const old = Date.now() - 7200_000;
      for (let i = 0; i < 1500; i++) await store.set(key(), { data: 'x', atime: old });
      const cleaning = store.cleanup(60);
      await new Promise((resolve) => setImmediate(resolve));
      await store.close();
      const removed = await cleaning;
      assert.ok(removed >= 0 && removed <= 1500, `removed ${removed}`);
    });
  }
});
