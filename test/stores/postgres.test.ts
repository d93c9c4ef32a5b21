import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import {
  DBStore,
  generateSessionId,
  SessionManager,
  StoreUnavailableError,
  storeKey,
} from 'websession';
import * as web from 'websession/web';
import {
  cutSingleConnection,
  type DbEngine,
  describeDBStore,
  loginCutRestore,
  uniqueTable,
} from '../helpers/db-store.js';
import { serverStoreFromUrl } from '../helpers/server-store.js';
import { POSTGRES_URL, serverSkip } from '../helpers/servers.js';
import { describeStoreContract } from '../helpers/store-contract.js';
import { closedPort, startTcpProxy } from '../helpers/tcp-proxy.js';

const skip = await serverSkip('postgres', POSTGRES_URL, 5432);
const url = new URL(POSTGRES_URL);
const params = {
  dbn: 'postgres',
  db: decodeURIComponent(url.pathname.slice(1)) || 'test',
  user: decodeURIComponent(url.username) || 'postgres',
  ...(url.password ? { pw: decodeURIComponent(url.password) } : {}),
  host: url.hostname,
  port: Number(url.port || 5432),
};
const admin = new pg.Pool({ connectionString: POSTGRES_URL, max: 2 });
admin.on('error', () => {});
const sql = async (text: string, values: unknown[] = []) =>
  (await admin.query(text, values)).rows as Record<string, unknown>[];
const tables: string[] = [];
const table = () => {
  const t = uniqueTable();
  tables.push(t);
  return t;
};
after(async () => {
  for (const t of tables) await sql(`DROP TABLE IF EXISTS ${t}, ${t}_lease`).catch(() => {});
  await admin.end();
});

/**
 * How many server backends carry `application` as their name, polled (every 20 ms, for at most
 * 5 s) until the count is `expected`: a backend leaves pg_stat_activity a moment after its client
 * closed the socket, so a count read right after close() may still include it.
 */
async function backendsOf(application: string, expected: number): Promise<number> {
  const count = async () =>
    (await sql('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [application]))
      .length;
  let n = await count();
  for (let i = 0; i < 250 && n !== expected; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    n = await count();
  }
  return n;
}

const engine: DbEngine = {
  name: 'PostgreSQL',
  dbn: 'postgres',
  params,
  unreachable: { ...params, port: await closedPort() },
  dollar: true,
  async open() {
    const db = new pg.Pool({ connectionString: POSTGRES_URL, max: 5 });
    return { db, close: () => db.end() };
  },
  sql,
  seedDDL: (t) =>
    `CREATE TABLE ${t} (session_id CHAR(128) UNIQUE NOT NULL, atime TIMESTAMP NOT NULL default current_timestamp, data TEXT)`,
  indexNames: async (t) =>
    (await sql('SELECT indexname FROM pg_indexes WHERE tablename = $1', [t])).map((r) =>
      String(r.indexname),
    ),
  atimeText: async (t, k) =>
    String(
      (
        await sql(
          `SELECT to_char(atime, 'YYYY-MM-DD HH24:MI:SS') AS a FROM ${t} WHERE session_id = $1`,
          [k],
        )
      )[0]?.a,
    ),
};

describeDBStore(engine, skip);

describeStoreContract(
  'DBStore on one pg Client (statements queued, never inside another caller’s transaction)',
  async () => {
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    const store = new DBStore(client, table(), { createTable: true });
    // One connection runs every statement in turn: the contract's 50 updates of one key, queued
    // at once, may take a busy machine longer than the 2 s a write may wait by default. Write
    // deadlines have their own tests (db-frozen-write.test.ts).
    store.configure({ timeout: 86_400, store_timeout: 60_000 });
    return { store, teardown: () => client.end() };
  },
  skip,
);

describeStoreContract(
  'DBStore from a postgres:// URL',
  async () => ({ store: await serverStoreFromUrl(`${POSTGRES_URL}?table=${table()}`) }),
  skip,
);

const key = () => storeKey(generateSessionId());

describe('DBStore on PostgreSQL', { skip }, () => {
  let pool: pg.Pool;
  before(() => {
    pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 3 });
  });
  after(() => pool?.end());

  it('a postgresql:// URL names the same store', async () => {
    const t = table();
    const store = await serverStoreFromUrl(
      `${POSTGRES_URL.replace(/^postgres:/, 'postgresql:')}?table=${t}`,
    );
    assert.equal(store.kind, 'postgres');
    const k = key();
    await store.set(k, { data: 'x', atime: Date.now() });
    assert.equal((await sql(`SELECT data FROM ${t} WHERE session_id = $1`, [k]))[0]?.data, 'x');
    await store.close();
  });

  it("writes UTC whatever the connection's TimeZone, in TIMESTAMP and TIMESTAMPTZ columns", async () => {
    const zoned = new pg.Pool({
      connectionString: POSTGRES_URL,
      max: 2,
      options: '-c TimeZone=America/New_York',
    });
    try {
      const when = Date.UTC(2030, 6, 1, 12, 0, 0, 250);
      for (const type of ['TIMESTAMP', 'TIMESTAMPTZ']) {
        const t = table();
        await sql(
          `CREATE TABLE ${t} (session_id CHAR(128) UNIQUE NOT NULL, atime ${type} NOT NULL default current_timestamp, data TEXT)`,
        );
        const store = new DBStore(zoned, t);
        const k = key();
        await store.set(k, { data: 'x', atime: when });
        assert.equal((await store.get(k))?.atime, when, type);
        const utc = type === 'TIMESTAMP' ? 'atime' : "atime AT TIME ZONE 'UTC'";
        const text = await sql(`SELECT to_char(${utc}, 'YYYY-MM-DD HH24:MI:SS') AS a FROM ${t}`);
        assert.equal(String(text[0]?.a), '2030-07-01 12:00:00', type);
        // Half an hour idle is kept and 90 minutes is removed: a zone shift of hours would blur both.
        const recent = key();
        await store.touch(k, Date.now() - 90 * 60_000);
        await store.set(recent, { data: 'y', atime: Date.now() - 30 * 60_000 });
        assert.equal(await store.cleanup(3600), 1, type);
        assert.equal((await store.get(recent))?.data, 'y', type);
      }
    } finally {
      await zoned.end();
    }
  });

  it('a cut connection gives 503, then the store recovers by itself with nothing lost', async () => {
    const proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
    const db = web.database({
      ...params,
      host: '127.0.0.1',
      port: proxy.port,
      max: 2,
      onError: () => {},
    });
    const store = new DBStore(db, table(), { createTable: true });
    try {
      // The pool drops its dead connections during the outage: the first request after is served.
      await loginCutRestore(store, proxy);
    } finally {
      await store.close();
      await db.close();
      await proxy.close();
    }
  });

  it('on one pg Client: a cut connection gives 503 whose message says to give a pool, and the store opens no connection of its own', async () => {
    const proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
    const application = `websession_single_${process.pid}_${Date.now()}`;
    const client = new pg.Client({
      user: params.user,
      database: params.db,
      ...(params.pw ? { password: params.pw } : {}),
      host: '127.0.0.1',
      port: proxy.port,
      application_name: application,
    });
    await client.connect();
    const warnings: Error[] = [];
    const store = new DBStore(client, table(), {
      createTable: true,
      onError: (err) => warnings.push(err),
    });
    try {
      await cutSingleConnection(store, proxy);
      assert.equal(await backendsOf(application, 0), 0, 'no connection of the store’s own');
      assert.equal(warnings.length, 1, warnings.map((w) => w.message).join('\n'));
      assert.match(warnings[0]!.message, /the pg Client given to DBStore lost its connection/);
    } finally {
      await store.close();
      await client.end().catch(() => {});
      await proxy.close();
    }
  });

  it('on one pg Client killed by pg_terminate_backend while idle: the next call is a 503 that says to give a pool', async () => {
    const application = `websession_single_${process.pid}_${Date.now()}`;
    const client = new pg.Client({ connectionString: POSTGRES_URL, application_name: application });
    await client.connect();
    const warnings: Error[] = [];
    const store = new DBStore(client, table(), {
      createTable: true,
      onError: (err) => warnings.push(err),
    });
    try {
      const k = key();
      await store.set(k, { data: 'kept', atime: Date.now() });
      const ended = new Promise((resolve) => client.once('end', resolve));
      await sql(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
        [application],
      );
      await ended;
      await assert.rejects(store.get(k), (err: Error) => {
        assert.ok(err instanceof StoreUnavailableError, String(err));
        assert.match(err.message, /give it a pool or a URL/);
        return true;
      });
      assert.equal(warnings.length, 1);
    } finally {
      await store.close();
      await client.end().catch(() => {});
    }
  });

  it('on one pg Client the application closed: a clear 503 error, and the store opens no connection of its own', async () => {
    const application = `websession_single_${process.pid}_${Date.now()}`;
    const client = new pg.Client({ connectionString: POSTGRES_URL, application_name: application });
    await client.connect();
    const store = new DBStore(client, table(), { createTable: true, onError: () => {} });
    try {
      await store.set(key(), { data: 'x', atime: Date.now() });
      await client.end();
      await assert.rejects(store.get(key()), (err: Error) => {
        assert.ok(err instanceof StoreUnavailableError);
        assert.match(err.message, /closed by the application/);
        return true;
      });
      assert.equal(await backendsOf(application, 0), 0);
    } finally {
      await store.close();
    }
  });

  it("survives pg_terminate_backend of its connections: the pool's 'error' is handled and new connections serve", async () => {
    const application = `websession_test_${process.pid}`;
    const errors: Error[] = [];
    const db = web.database({
      ...params,
      max: 3,
      options: { application_name: application },
      onError: (err) => errors.push(err),
    });
    const store = new DBStore(db, table(), { createTable: true });
    try {
      const manager = new SessionManager<{ n: number }>(store, { cleanup_interval: 0 });
      const s = await manager.load({});
      s.n = 1;
      const cookie = (await manager.commit(s))!.split(';')[0]!;
      await Promise.all([store.get(key()), store.get(key()), store.get(key())]);
      const killed = await sql(
        'SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = $1',
        [application],
      );
      assert.ok(killed.length > 0, 'terminated at least one connection');
      // Each idle pooled connection reports its termination on its own: wait for all of them
      // (bounded), so the next query cannot pick a connection whose error is still in flight.
      for (let i = 0; i < 250 && errors.length < killed.length; i++)
        await new Promise((resolve) => setTimeout(resolve, 20));
      assert.ok(
        errors.length > 0,
        "the pool's error event reached onError instead of crashing Node",
      );
      const again = await manager.load({ cookie });
      assert.equal(again.n, 1);
    } finally {
      await store.close();
      await db.close();
    }
  });
});
