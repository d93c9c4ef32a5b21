import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import mysqlCallback from 'mysql2';
import mysql from 'mysql2/promise';
import { DBStore, generateSessionId, StoreUnavailableError, storeKey } from 'websession';
import * as web from 'websession/web';
import {
  cutSingleConnection,
  type DbEngine,
  describeDBStore,
  loginCutRestore,
  uniqueTable,
} from '../helpers/db-store.js';
import { serverStoreFromUrl } from '../helpers/server-store.js';
import { MYSQL_URL, serverSkip } from '../helpers/servers.js';
import { describeStoreContract } from '../helpers/store-contract.js';
import { closedPort, startTcpProxy } from '../helpers/tcp-proxy.js';

const skip = await serverSkip('mysql', MYSQL_URL, 3306);
const url = new URL(MYSQL_URL);
const params = {
  dbn: 'mysql',
  db: decodeURIComponent(url.pathname.slice(1)) || 'test',
  user: decodeURIComponent(url.username) || 'root',
  ...(url.password ? { pw: decodeURIComponent(url.password) } : {}),
  host: url.hostname,
  port: Number(url.port || 3306),
};
const admin = mysql.createPool({ uri: MYSQL_URL, connectionLimit: 2 });
const sql = async (text: string, values: unknown[] = []) => {
  const [rows] = await admin.query(text, values);
  return Array.isArray(rows) ? (rows as Record<string, unknown>[]) : [];
};
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

const engine: DbEngine = {
  name: 'MySQL/MariaDB',
  dbn: 'mysql',
  params,
  unreachable: { ...params, port: await closedPort() },
  async open() {
    const db = mysql.createPool({ uri: MYSQL_URL, connectionLimit: 5 });
    return { db, close: () => db.end() };
  },
  sql,
  seedDDL: (t) =>
    `CREATE TABLE ${t} (session_id CHAR(128) UNIQUE NOT NULL, atime DATETIME NOT NULL default current_timestamp, data TEXT)`,
  indexNames: async (t) =>
    (
      await sql(
        'SELECT INDEX_NAME AS name FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?',
        [t],
      )
    ).map((r) => String(r.name)),
  atimeText: async (t, k) =>
    String(
      (
        await sql(
          `SELECT DATE_FORMAT(atime, '%Y-%m-%d %H:%i:%s') AS a FROM ${t} WHERE session_id = ?`,
          [k],
        )
      )[0]?.a,
    ),
};

describeDBStore(engine, skip);

describeStoreContract(
  'DBStore on a mysql2 callback-API pool',
  async () => {
    const pool = mysqlCallback.createPool({ uri: MYSQL_URL, connectionLimit: 3 });
    return {
      store: new DBStore(pool, table(), { createTable: true }),
      teardown: () => new Promise<void>((resolve) => pool.end(() => resolve())),
    };
  },
  skip,
);

describeStoreContract(
  'DBStore on one mysql2 connection (statements queued)',
  async () => {
    const connection = await mysql.createConnection({ uri: MYSQL_URL });
    const store = new DBStore(connection, table(), { createTable: true });
    // One connection runs every statement in turn: the contract's 50 updates of one key, queued
    // at once, may take a busy machine longer than the 2 s a write may wait by default. Write
    // deadlines have their own tests (db-frozen-write.test.ts).
    store.configure({ timeout: 86_400, store_timeout: 60_000 });
    return { store, teardown: () => connection.end() };
  },
  skip,
);

describeStoreContract(
  'DBStore from a mysql:// URL',
  async () => ({ store: await serverStoreFromUrl(`${MYSQL_URL}?table=${table()}`) }),
  skip,
);

const key = () => storeKey(generateSessionId());

describe('DBStore on MySQL/MariaDB', { skip }, () => {
  it('creates data as MEDIUMTEXT (TEXT stops at 64 KiB) and session_id with a binary collation', async () => {
    const t = table();
    await new DBStore(admin, t).createTable();
    const columns = await sql(
      'SELECT COLUMN_NAME AS c, DATA_TYPE AS d, COLLATION_NAME AS k FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?',
      [t],
    );
    const by = Object.fromEntries(columns.map((r) => [String(r.c), r]));
    assert.equal(by.data?.d, 'mediumtext');
    assert.equal(by.session_id?.k, 'ascii_bin');
    const store = new DBStore(admin, t);
    const k = key();
    const big = 'ü'.repeat(40_000); // 80,000 bytes: over TEXT's 65,535
    await store.set(k, { data: big, atime: Date.now() });
    assert.equal((await store.get(k))?.data, big);
  });

  it("keeps UTC in a DATETIME column whatever the connection's time_zone", async () => {
    const connection = await mysql.createConnection({ uri: MYSQL_URL });
    try {
      await connection.query("SET time_zone = '-05:00'");
      const when = Date.UTC(2030, 6, 1, 12, 0, 0);
      for (const type of ['DATETIME', 'TIMESTAMP']) {
        const t = table();
        await sql(
          `CREATE TABLE ${t} (session_id CHAR(128) UNIQUE NOT NULL, atime ${type} NOT NULL default current_timestamp, data TEXT)`,
        );
        const store = new DBStore(connection, t);
        const k = key();
        await store.set(k, { data: 'x', atime: when });
        assert.equal((await store.get(k))?.atime, when, type);
        if (type === 'DATETIME') assert.equal(await engine.atimeText(t, k), '2030-07-01 12:00:00');
        // Half an hour idle is kept and 90 minutes is removed: a zone shift of hours would blur both.
        const recent = key();
        await store.touch(k, Date.now() - 90 * 60_000);
        await store.set(recent, { data: 'y', atime: Date.now() - 30 * 60_000 });
        assert.equal(await store.cleanup(3600), 1, type);
        assert.equal((await store.get(recent))?.data, 'y', type);
      }
    } finally {
      await connection.end();
    }
  });

  it('a mariadb:// URL names the same store', async () => {
    const t = table();
    const store = await serverStoreFromUrl(
      `${MYSQL_URL.replace(/^mysql:/, 'mariadb:')}?table=${t}`,
    );
    assert.equal(store.kind, 'mysql');
    const k = key();
    await store.set(k, { data: 'x', atime: Date.now() });
    assert.equal((await sql(`SELECT data FROM ${t} WHERE session_id = ?`, [k]))[0]?.data, 'x');
    await store.close();
  });

  it('a cut connection gives 503, then the store recovers by itself with nothing lost', async () => {
    const proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 3306) });
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
  it('on one mysql2 connection: a cut connection gives 503 whose message says to give a pool', async () => {
    const proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 3306) });
    const connection = await mysql.createConnection({
      user: params.user,
      database: params.db,
      ...(params.pw ? { password: params.pw } : {}),
      host: '127.0.0.1',
      port: proxy.port,
    });
    const warnings: Error[] = [];
    const store = new DBStore(connection, table(), {
      createTable: true,
      onError: (err) => warnings.push(err),
    });
    try {
      await cutSingleConnection(store, proxy);
      assert.equal(warnings.length, 1, warnings.map((w) => w.message).join('\n'));
      assert.match(
        warnings[0]!.message,
        /the mysql2 connection given to DBStore lost its connection/,
      );
    } finally {
      await store.close();
      connection.destroy();
      await proxy.close();
    }
  });

  it('on one mysql2 callback-API connection killed by KILL while idle: the next call is a 503 that says to give a pool', async () => {
    const connection = mysqlCallback.createConnection({ uri: MYSQL_URL });
    await new Promise<void>((resolve, reject) =>
      connection.connect((err) => (err ? reject(err) : resolve())),
    );
    const store = new DBStore(connection, table(), { createTable: true, onError: () => {} });
    try {
      const k = key();
      await store.set(k, { data: 'kept', atime: Date.now() });
      const gone = new Promise((resolve) => connection.once('error', resolve));
      await sql(`KILL ${Number(connection.threadId)}`);
      await gone;
      await assert.rejects(store.get(k), (err: Error) => {
        assert.ok(err instanceof StoreUnavailableError, String(err));
        assert.match(err.message, /give it a pool or a URL/);
        return true;
      });
    } finally {
      await store.close();
      connection.destroy();
    }
  });

  it('on one mysql2 connection the application closed: a clear 503 error, and the store opens no connection of its own', async () => {
    const connection = await mysql.createConnection({ uri: MYSQL_URL });
    const store = new DBStore(connection, table(), { createTable: true, onError: () => {} });
    try {
      await store.set(key(), { data: 'x', atime: Date.now() });
      await connection.end();
      await assert.rejects(store.get(key()), (err: Error) => {
        assert.ok(err instanceof StoreUnavailableError);
        assert.match(err.message, /closed by the application/);
        return true;
      });
    } finally {
      await store.close();
    }
  });
});

describe('DBStore on MySQL/MariaDB: access times to the millisecond', { skip }, () => {
  /** An access time 10 s ago whose fraction of a second (.400) a whole-second column drops. */
  const atime = () => Math.floor((Date.now() - 10_000) / 1000) * 1000 + 400;

  it('the table the store creates keeps milliseconds', async () => {
    const store = new DBStore(MYSQL_URL, table(), { createTable: true });
    try {
      const [k, at] = [storeKey(generateSessionId()), atime()];
      await store.set(k, { data: 'x', atime: at });
      assert.equal((await store.get(k))?.atime, at);
    } finally {
      await store.close();
    }
  });

  it("on web.py's DATETIME table (whole seconds) no session is found idle early", async () => {
    const t = table();
    await sql(engine.seedDDL(t));
    const store = new DBStore(MYSQL_URL, t);
    try {
      const [k, at] = [storeKey(generateSessionId()), atime()];
      await store.set(k, { data: 'x', atime: at });
      const read = (await store.get(k))?.atime ?? 0;
      assert.ok(read >= at, `read back ${read - at} ms from the access time written`);
      // Idle for 200 ms less than the limit: cleanup keeps it.
      assert.equal(await store.cleanup((Date.now() - at - 200) / 1000), 0);
      assert.ok(await store.get(k), 'still there');
    } finally {
      await store.close();
    }
  });
});
