// The store-wide lease of DBStore, per engine: a row of `<table>_lease` held by one store at a
// time across store instances (processes), freed on release or after its ttl, bounded whatever
// the row says, recording when the last cleanup pass ended; not blocked by anyone who cannot
// write that table (a PostgreSQL advisory lock, a MySQL named lock of another account).
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Sqlite from 'better-sqlite3';
import { Database, type DatabaseHandle, DBStore } from 'websession';
import { uniqueTable } from '../helpers/db-store.js';
import {
  MYSQL_URL,
  mysqlPool,
  POSTGRES_URL,
  postgresPool,
  serverSkip,
} from '../helpers/servers.js';

const dir = await mkdtemp(join(tmpdir(), 'websession-lease-'));
const file = join(dir, 'lease.db');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const [pgSkip, mySkip] = [
  await serverSkip('postgres', POSTGRES_URL, 5432),
  await serverSkip('mysql', MYSQL_URL, 3306),
];
const pgAdmin = pgSkip ? undefined : postgresPool();
const myAdmin = mySkip ? undefined : mysqlPool();
const tables: { drop(t: string): Promise<unknown>; t: string }[] = [];
after(async () => {
  for (const { drop, t } of tables)
    for (const name of [t, `${t}_lease`])
      await drop(`DROP TABLE IF EXISTS ${name}`).catch(() => {});
  await pgAdmin?.end();
  await myAdmin?.end();
  await rm(dir, { recursive: true, force: true });
});

interface Engine {
  name: string;
  skip: string | false;
  db: () => DatabaseHandle;
  /** Raw SQL with `?` placeholders. */
  sql(text: string, values?: unknown[]): Promise<unknown>;
}

const engines: Engine[] = [
  {
    name: 'SQLite',
    skip: false,
    db: () => new Database({ dbn: 'sqlite', db: file }),
    async sql(text, values = []) {
      const db = new Sqlite(file);
      try {
        return db.prepare(text).run(...values);
      } finally {
        db.close();
      }
    },
  },
  {
    name: 'PostgreSQL',
    skip: pgSkip,
    db: () => POSTGRES_URL,
    sql: (text, values) => {
      let n = 0;
      return pgAdmin!.query(
        text.replace(/\?/g, () => `$${++n}`),
        values,
      );
    },
  },
  { name: 'MySQL/MariaDB', skip: mySkip, db: () => MYSQL_URL, sql: (t, v) => myAdmin!.query(t, v) },
];

/** Two stores on one table, as two processes would have. */
function pair(engine: Engine) {
  const table = uniqueTable();
  tables.push({ drop: (s) => engine.sql(s), t: table });
  const open = () => new DBStore(engine.db(), table, { closeDatabase: true });
  return { table, stores: [open(), open()] as const };
}

for (const engine of engines) {
  describe(`DBStore.lease on ${engine.name}`, { skip: engine.skip }, () => {
    it('one holder at a time across two stores; free again after release', async () => {
      const [a, b] = pair(engine).stores;
      try {
        const first = await a.lease('cleanup', 15_000);
        assert.ok(first, 'the first store takes the lease');
        assert.equal(await b.lease('cleanup', 15_000), undefined, 'the second finds it taken');
        assert.equal(await first.renew(), true);
        await first.release();
        const second = await b.lease('cleanup', 15_000);
        assert.ok(second, 'free again after release');
        assert.equal((await a.lease('other', 15_000)) !== undefined, true, 'leases are per name');
        await second.release();
      } finally {
        await a.close();
        await b.close();
      }
    });

    it('closing the holder’s store frees the lease', async () => {
      const [a, b] = pair(engine).stores;
      try {
        assert.ok(await a.lease('cleanup', 15_000));
        assert.equal(await b.lease('cleanup', 15_000), undefined);
        await a.close();
        const second = await b.lease('cleanup', 15_000);
        assert.ok(second, 'free once the holder closed');
        await second.release();
      } finally {
        await a.close();
        await b.close();
      }
    });

    it('an expired lease is taken over, and the old holder’s renew then says false', async () => {
      const [a, b] = pair(engine).stores;
      try {
        await Promise.all([a.tableExists(), b.tableExists()]); // connected before the clock runs
        const first = await a.lease('cleanup', 300);
        assert.ok(first);
        assert.equal(await b.lease('cleanup', 15_000), undefined);
        await sleep(350);
        const second = await b.lease('cleanup', 15_000);
        assert.ok(second, 'taken over once expired');
        assert.equal(await first.renew(), false);
        await first.release(Date.now()); // not the owner any more: leaves the new holder's row
        assert.equal(await a.lease('cleanup', 15_000), undefined);
        assert.equal(await second.renew(), true);
      } finally {
        await a.close();
        await b.close();
      }
    });

    it('records when the last pass ended, for the next holder', async () => {
      const [a, b] = pair(engine).stores;
      try {
        const first = await a.lease('cleanup', 15_000);
        assert.equal(first?.lastPassEndedAt, undefined, 'no pass recorded yet');
        const ended = Date.now() - 5;
        await first!.release(ended);
        const second = await b.lease('cleanup', 15_000);
        assert.equal(second?.lastPassEndedAt, ended);
        await second!.release(); // no pass run: the record stays
        assert.equal((await a.lease('cleanup', 15_000))?.lastPassEndedAt, ended);
      } finally {
        await a.close();
        await b.close();
      }
    });

    it('a row that claims to hold for ages, or a pass that ends in the future, is not believed', async () => {
      const { table, stores } = pair(engine);
      const [a, b] = stores;
      try {
        await (await a.lease('cleanup', 15_000))!.release(); // makes the lease table
        const forever = '9000000000000000000';
        await engine.sql(
          `UPDATE ${table}_lease SET owner = ?, expires = ${forever}, ended = ${forever}`,
          ['00000000-0000-0000-0000-000000000000'],
        );
        const taken = await b.lease('cleanup', 15_000);
        assert.ok(taken, 'a row expiring in 9e18 ms is taken over');
        assert.equal(taken.lastPassEndedAt, undefined, 'an end time in the future is ignored');
        await taken.release();
        const long = await a.lease('cleanup', 1e308);
        assert.ok(long);
        assert.equal(await b.lease('cleanup', 15_000), undefined, 'held meanwhile');
        await engine.sql(`UPDATE ${table}_lease SET expires = expires - 61000`);
        assert.ok(await b.lease('cleanup', 15_000), 'a ttl of 1e308 ms lasts at most a minute');
      } finally {
        await a.close();
        await b.close();
      }
    });
  });
}

describe('DBStore.lease on PostgreSQL: advisory locks play no part', { skip: pgSkip }, () => {
  it('another session holding the advisory key of the table name does not block cleanup', async () => {
    const engine = engines[1]!;
    const { table, stores } = pair(engine);
    const [a] = stores;
    const blocker = await pgAdmin!.connect();
    try {
      const key = createHash('sha256').update(`${table}\0cleanup`).digest().readBigInt64BE(0);
      await blocker.query('SELECT pg_advisory_lock($1::bigint)', [String(key)]);
      const lease = await a.lease('cleanup', 15_000);
      assert.ok(lease, 'the lease is a row only the application can write');
      await lease.release();
    } finally {
      await blocker.query('SELECT pg_advisory_unlock_all()').catch(() => {});
      blocker.release();
      await a.close();
    }
  });
});

describe('DBStore.lease on MySQL: per database, not a server-wide name', { skip: mySkip }, () => {
  it('two databases on one server with the same table name hold their own leases', async () => {
    const other = `ws_lease_${process.pid}_${randomBytes(4).toString('hex')}`;
    await myAdmin!.query(`CREATE DATABASE ${other}`);
    const table = uniqueTable();
    tables.push({ drop: (s) => myAdmin!.query(s), t: table });
    const url = new URL(MYSQL_URL);
    url.pathname = `/${other}`;
    const [here, there] = [new DBStore(MYSQL_URL, table), new DBStore(url.href, table)];
    const blocker = await myAdmin!.getConnection();
    try {
      const name = createHash('sha256').update(`${table}\0cleanup`).digest('hex').slice(0, 40);
      await blocker.query('SELECT GET_LOCK(?, 0)', [`websession_${name}`]);
      const first = await here.lease('cleanup', 15_000);
      assert.ok(first, 'a named lock held by any account does not block the lease');
      const second = await there.lease('cleanup', 15_000);
      assert.ok(second, 'the other database’s lease is its own');
      await first.release();
      await second.release();
    } finally {
      await blocker.query('SELECT RELEASE_ALL_LOCKS()').catch(() => {});
      blocker.release();
      await here.close();
      await there.close();
      await myAdmin!.query(`DROP DATABASE IF EXISTS ${other}`);
    }
  });
});
