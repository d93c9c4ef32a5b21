// A write answered 503 must not land later, on PostgreSQL and MySQL: a write waiting on the
// server (here, for a row lock another transaction holds) when the request is answered 503 is
// cancelled by the server (statement timeout, below store_timeout), never applied afterwards.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import mysql from 'mysql2/promise';
import pg from 'pg';
import {
  type DBStore,
  SessionManager,
  StoreUnavailableError,
  storeFromUrl,
  storeKey,
} from 'websession';
import * as web from 'websession/web';
import { uniqueTable } from '../helpers/db-store.js';
import { MYSQL_URL, POSTGRES_URL, serverSkip } from '../helpers/servers.js';

/** A transaction of another client holding the row lock of one session until released. */
interface Locker {
  lock(table: string, key: string): Promise<void>;
  release(): Promise<void>;
  drop(table: string): Promise<void>;
  close(): Promise<void>;
}

const engines = [
  {
    name: 'PostgreSQL',
    url: POSTGRES_URL,
    skip: await serverSkip('Postgres', POSTGRES_URL, 5432),
    dbn: 'postgres',
    // statement_timeout in ms
    statementTimeout: 300,
    storeTimeout: 2000,
    async locker(): Promise<Locker> {
      const c = new pg.Client({ connectionString: POSTGRES_URL });
      await c.connect();
      return {
        async lock(table, key) {
          await c.query('BEGIN');
          await c.query(`SELECT 1 FROM ${table} WHERE session_id = $1 FOR UPDATE`, [key]);
        },
        release: async () => void (await c.query('COMMIT')),
        drop: async (table) =>
          void (await c.query(`DROP TABLE IF EXISTS ${table}, ${table}_lease`)),
        close: () => c.end(),
      };
    },
  },
  {
    name: 'MySQL',
    url: MYSQL_URL,
    skip: await serverSkip('MySQL', MYSQL_URL, 3306),
    dbn: 'mysql',
    // innodb_lock_wait_timeout counts whole seconds
    statementTimeout: 1000,
    storeTimeout: 3000,
    async locker(): Promise<Locker> {
      const c = await mysql.createConnection(MYSQL_URL);
      return {
        async lock(table, key) {
          await c.beginTransaction();
          await c.query(`SELECT 1 FROM ${table} WHERE session_id = ? FOR UPDATE`, [key]);
        },
        release: () => c.commit(),
        drop: async (table) =>
          void (await c.query(`DROP TABLE IF EXISTS ${table}, ${table}_lease`)),
        close: () => c.end(),
      };
    },
  },
] as const;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

for (const engine of engines) {
  describe(`DBStore on ${engine.name}: a write answered 503 never lands later`, {
    skip: engine.skip,
  }, () => {
    const tables: string[] = [];
    let locker: Locker | undefined;
    after(async () => {
      locker ??= await engine.locker();
      for (const t of tables) await locker.drop(t).catch(() => {});
      await locker.close();
    });

    /**
     * Logs a session in with n = 1, locks its row from another transaction, changes n to 2 (the
     * commit must fail as unavailable), waits, releases the lock, and returns n as stored then.
     */
    async function changeWhileLocked(store: DBStore, storeTimeout: number): Promise<unknown> {
      const manager = new SessionManager<{ n: number }>(store, {
        cleanup_interval: 0,
        store_timeout: storeTimeout,
      });
      const s = await manager.load({});
      s.n = 1;
      const cookie = (await manager.commit(s))!.split(';')[0]!;
      const again = await manager.load({ cookie });
      again.n = 2;
      locker ??= await engine.locker();
      await locker.lock(store.table, storeKey(cookie.split('=')[1]!.split('.')[0]!));
      try {
        await assert.rejects(async () => manager.commit(again), StoreUnavailableError);
        await sleep(200);
      } finally {
        await locker.release();
      }
      await sleep(300);
      return (await manager.load({ cookie })).n;
    }

    it('the threat is real: without a statement timeout, the write answered 503 lands once the lock is released', async () => {
      const table = uniqueTable();
      tables.push(table);
      const url = new URL(engine.url);
      const db = web.database({ dbn: engine.dbn, url: url.href, onError: () => {} });
      const store = web.session.DBStore(db, table, { createTable: true });
      try {
        assert.equal(await changeWhileLocked(store, 500), 2, 'applied after the 503');
      } finally {
        await store.close();
        await db.close();
      }
    });

    it('a store URL sets a statement timeout below store_timeout: the write is cancelled, nothing lands', async () => {
      const table = uniqueTable();
      tables.push(table);
      const store = (await storeFromUrl(
        `${engine.url}?table=${table}&statementTimeout=${engine.statementTimeout}`,
      )) as DBStore;
      try {
        assert.equal(
          await changeWhileLocked(store, engine.storeTimeout),
          1,
          'the 503 write is gone',
        );
      } finally {
        await store.close();
      }
    });

    it('web.database({ statementTimeout }) does the same, and the error says nothing was written', async () => {
      const table = uniqueTable();
      tables.push(table);
      const db = web.database({
        dbn: engine.dbn,
        url: engine.url,
        statementTimeout: engine.statementTimeout,
        onError: () => {},
      });
      const store = web.session.DBStore(db, table, { createTable: true });
      try {
        const k = storeKey('late-write-direct');
        await store.set(k, { data: 'before', atime: Date.now() });
        locker ??= await engine.locker();
        await locker.lock(table, k);
        try {
          await assert.rejects(
            store.set(k, { data: 'late', atime: Date.now() }),
            (err: Error) =>
              err instanceof StoreUnavailableError &&
              /did not finish it in time, nothing was written/.test(err.message),
          );
        } finally {
          await locker.release();
        }
        assert.equal((await store.get(k))?.data, 'before');
      } finally {
        await store.close();
        await db.close();
      }
    });
  });
}
