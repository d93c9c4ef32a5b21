// The store-wide lease of DBStore, per engine: one holder at a time across store instances
// (processes), freed on release; SQLite's expires after its ttl, the servers' with the holder's
// connection.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Database, type DatabaseHandle, DBStore } from 'websession';
import { uniqueTable } from '../helpers/db-store.js';
import { MYSQL_URL, POSTGRES_URL, serverSkip } from '../helpers/servers.js';

const dir = await mkdtemp(join(tmpdir(), 'websession-lease-'));
after(() => rm(dir, { recursive: true, force: true }));

const engines: { name: string; db: () => DatabaseHandle; skip: string | false }[] = [
  { name: 'SQLite', db: () => `sqlite:${join(dir, 'lease.db')}`, skip: false },
  {
    name: 'PostgreSQL',
    db: () => POSTGRES_URL,
    skip: await serverSkip('postgres', POSTGRES_URL, 5432),
  },
  { name: 'MySQL/MariaDB', db: () => MYSQL_URL, skip: await serverSkip('mysql', MYSQL_URL, 3306) },
];

/** Two stores on one table, as two processes would have. */
function pair(db: () => DatabaseHandle, sqlite: boolean) {
  const table = uniqueTable();
  const open = () =>
    sqlite
      ? new DBStore(new Database({ dbn: 'sqlite', db: join(dir, 'lease.db') }), table, {
          closeDatabase: true,
        })
      : new DBStore(db(), table);
  return [open(), open()] as const;
}

for (const engine of engines) {
  const sqlite = engine.name === 'SQLite';
  describe(`DBStore.lease on ${engine.name}`, { skip: engine.skip }, () => {
    it('one holder at a time across two stores; free again after release', async () => {
      const [a, b] = pair(engine.db, sqlite);
      try {
        const first = await a.lease!('cleanup', 60_000);
        assert.ok(first, 'the first store takes the lease');
        assert.equal(await b.lease('cleanup', 60_000), undefined, 'the second finds it taken');
        assert.equal(await first.renew(), true);
        await first.release();
        const second = await b.lease('cleanup', 60_000);
        assert.ok(second, 'free again after release');
        assert.equal((await a.lease('other', 60_000)) !== undefined, true, 'leases are per name');
        await second.release();
      } finally {
        await a.close();
        await b.close();
      }
    });

    if (sqlite) {
      it('an expired lease is taken over, and the old holder’s renew then says false', async () => {
        const [a, b] = pair(engine.db, sqlite);
        try {
          const first = await a.lease('cleanup', 50);
          assert.ok(first);
          assert.equal(await b.lease('cleanup', 60_000), undefined);
          await new Promise((resolve) => setTimeout(resolve, 80));
          const second = await b.lease('cleanup', 60_000);
          assert.ok(second, 'taken over once expired');
          assert.equal(await first.renew(), false);
          await first.release(); // not the owner any more: leaves the new holder's row alone
          assert.equal(await a.lease('cleanup', 60_000), undefined);
          assert.equal(await second.renew(), true);
        } finally {
          await a.close();
          await b.close();
        }
      });
    } else {
      it('closing the holder’s store frees the lease', async () => {
        const [a, b] = pair(engine.db, sqlite);
        try {
          assert.ok(await a.lease('cleanup', 60_000));
          assert.equal(await b.lease('cleanup', 60_000), undefined);
          await a.close();
          const second = await b.lease('cleanup', 60_000);
          assert.ok(second, 'free once the holder closed');
          await second.release();
        } finally {
          await a.close();
          await b.close();
        }
      });
    }
  });
}
