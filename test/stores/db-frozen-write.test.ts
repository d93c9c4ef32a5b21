// A write answered 503 must not land later, on PostgreSQL and MySQL, when the network (not the
// server) held it: through a TCP proxy of the test's own that stops forwarding, new sessions and
// changes are answered 503 by the manager, and when the proxy forwards again the server receives
// every held statement. Each carries a deadline the server checks against its own clock, so none
// applies. (A server statement timeout cannot help: the server has not seen the statement yet.)
import assert from 'node:assert/strict';
import { after, describe, it, mock } from 'node:test';
import mysql from 'mysql2/promise';
import pg from 'pg';
import {
  createSessionTable,
  DBStore,
  generateSessionId,
  SessionManager,
  StoreUnavailableError,
  storeKey,
} from 'websession';
import * as web from 'websession/web';
import { uniqueTable } from '../helpers/db-store.js';
import { MYSQL_URL, POSTGRES_URL, serverSkip } from '../helpers/servers.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

/** Raw SQL on the test server itself, never through the proxy. */
interface Admin {
  rows(sql: string): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

const engines = [
  {
    name: 'PostgreSQL',
    dbn: 'postgres',
    url: POSTGRES_URL,
    port: 5432,
    skip: await serverSkip('Postgres', POSTGRES_URL, 5432),
    async admin(): Promise<Admin> {
      const c = new pg.Client({ connectionString: POSTGRES_URL });
      await c.connect();
      return { rows: async (sql) => (await c.query(sql)).rows, close: () => c.end() };
    },
  },
  {
    name: 'MySQL',
    dbn: 'mysql',
    url: MYSQL_URL,
    port: 3306,
    skip: await serverSkip('MySQL', MYSQL_URL, 3306),
    async admin(): Promise<Admin> {
      const c = await mysql.createConnection(MYSQL_URL);
      return {
        rows: async (sql) => (await c.query(sql))[0] as Record<string, unknown>[],
        close: () => c.end(),
      };
    },
  },
] as const;

/** The store, with every promise its methods return kept: settled once the server answered. */
function watched(store: DBStore): { store: DBStore; answered: () => Promise<unknown> } {
  const calls: Promise<unknown>[] = [];
  const proxy = new Proxy(store, {
    get(target, name) {
      const value = Reflect.get(target, name, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const result = value.apply(target, args);
        if (result instanceof Promise) calls.push(result);
        return result;
      };
    },
  });
  return { store: proxy, answered: () => Promise.allSettled(calls) };
}

for (const engine of engines) {
  describe(`DBStore on ${engine.name}: a write held by the network past its 503 never lands`, {
    skip: engine.skip,
  }, () => {
    const tables: string[] = [];
    const closing: (() => Promise<unknown>)[] = [];
    after(async () => {
      for (const close of closing) await close().catch(() => {});
      const admin = await engine.admin();
      for (const t of tables) await admin.rows(`DROP TABLE IF EXISTS ${t}, ${t}_lease`);
      await admin.close();
    });

    /** A store on its own table through a proxy of its own (no server statement timeout). */
    async function frozenStore(): Promise<{ store: DBStore; proxy: TcpProxy; table: string }> {
      const table = uniqueTable();
      tables.push(table);
      const target = new URL(engine.url);
      const proxy = await startTcpProxy({ host: target.hostname, port: engine.port });
      const url = new URL(engine.url);
      url.hostname = '127.0.0.1';
      url.port = String(proxy.port);
      const db = web.database({ dbn: engine.dbn, url: url.href, onError: () => {} });
      const store = new DBStore(db, table, { createTable: true, closeDatabase: true });
      closing.push(
        () => store.close(),
        () => proxy.close(),
      );
      // The table is made beforehand, so that only session writes are held.
      await createSessionTable(engine.url, table);
      return { store, proxy, table };
    }

    const count = async (table: string, where: string) => {
      const admin = await engine.admin();
      try {
        const [row] = await admin.rows(`SELECT COUNT(*) AS n FROM ${table} WHERE ${where}`);
        return Number(row!.n);
      } finally {
        await admin.close();
      }
    };

    it('new sessions, changes, sets and touches answered 503 while frozen: none applied after', async () => {
      const { store: raw, proxy, table } = await frozenStore();
      const { store, answered } = watched(raw);
      await store.get(storeKey(generateSessionId())); // connected, with time to spare
      const manager = new SessionManager<{ n: number }>(store, {
        cleanup_interval: 0,
        store_timeout: 1000,
      });
      // Before the freeze: two sessions saved with n = 1.
      const cookies: string[] = [];
      for (let i = 0; i < 2; i++) {
        const s = await manager.load({});
        s.n = 1;
        cookies.push((await manager.commit(s))!.split(';')[0]!);
      }
      const existing = await Promise.all(cookies.map((cookie) => manager.load({ cookie })));
      const touched = storeKey(generateSessionId());
      await store.set(touched, { data: 'touched', atime: 1_000_000 });
      const atStart = await count(table, '1 = 1');

      proxy.freeze();
      const fresh = Array.from({ length: 8 }, async () => {
        const s = await manager.load({});
        s.n = 7;
        return manager.commit(s);
      });
      const changed = existing.map(async (s) => {
        s.n = 2;
        return manager.commit(s);
      });
      const direct = [
        store.set(storeKey(generateSessionId()), { data: 'set late', atime: Date.now() }),
        store.touch(touched, Date.now()),
      ];
      for (const result of await Promise.allSettled([...fresh, ...changed])) {
        assert.equal(result.status, 'rejected', 'answered 503');
        assert.ok((result as PromiseRejectedResult).reason instanceof StoreUnavailableError);
      }
      proxy.thaw();
      await answered(); // every held statement has reached the server and been answered

      const landed = (await count(table, '1 = 1')) - atStart;
      assert.equal(landed, 0, `${landed} of 9 new sessions and sets landed after their 503`);
      for (const cookie of cookies)
        assert.equal((await manager.load({ cookie })).n, 1, 'the change did not land');
      assert.equal((await store.get(touched))?.atime, 1_000_000, 'the touch did not land');
      for (const result of await Promise.allSettled(direct))
        assert.ok(
          result.status === 'rejected' && result.reason instanceof StoreUnavailableError,
          'a direct write past its deadline fails as unavailable',
        );
      // Once the network is back, the same writes go through.
      const s = await manager.load({});
      s.n = 3;
      const cookie = (await manager.commit(s))!.split(';')[0]!;
      assert.equal((await manager.load({ cookie })).n, 3);
    });

    it("a store's first write, sent while frozen before it knew the server's clock, does not land", async () => {
      const { store: raw, proxy, table } = await frozenStore();
      const { store, answered } = watched(raw);
      const manager = new SessionManager<{ n: number }>(store, {
        cleanup_interval: 0,
        store_timeout: 400,
      });
      proxy.freeze();
      const s = await manager.load({}); // a new visitor: no store call yet
      s.n = 1;
      await assert.rejects(async () => manager.commit(s), StoreUnavailableError);
      proxy.thaw();
      await answered();
      assert.equal(await count(table, '1 = 1'), 0, 'the first session did not land');
    });

    it("this machine's clock 10 s behind or ahead of the server's: writes still apply", async () => {
      for (const skew of [-10_000, 10_000]) {
        const { store, table } = await frozenStore();
        const manager = new SessionManager<{ n: number }>(store, {
          cleanup_interval: 0,
          store_timeout: 2000,
        });
        const now = Date.now.bind(Date);
        mock.method(Date, 'now', () => now() + skew);
        try {
          const s = await manager.load({});
          s.n = 1;
          const cookie = (await manager.commit(s))!.split(';')[0]!;
          const again = await manager.load({ cookie });
          again.n = 2;
          await manager.commit(again);
          assert.equal((await manager.load({ cookie })).n, 2, `skew ${skew} ms`);
          assert.equal(await count(table, '1 = 1'), 1);
        } finally {
          mock.restoreAll();
        }
      }
    });
  });
}
