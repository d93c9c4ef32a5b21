// The ways each store kind of test/helpers/stores.ts can be made unable to write while it can
// still be read (issue 6: a full or read-only store), for test/security/faults.test.ts. Each
// `make()` gives a healthy store on a folder, file, table or server of its own; `break()` makes
// writes fail, `heal()` makes them work again, `teardown()` removes what was created (mounts,
// folders, tables, private servers), and is safe to call after a failure.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Sqlite from 'better-sqlite3';
import { Redis } from 'ioredis';
import type mysql from 'mysql2/promise';
import type pg from 'pg';
import { DBStore, DiskStore, RedisStore, ShelfStore, type Store } from 'websession';
import { PrivateRedis } from './redis.js';
import { mysqlPool, postgresPool } from './servers.js';
import { mountTmpfs, type Tmpfs } from './tmpfs.js';
import { uniqueTable } from './unique-table.js';

/** A store whose writes a test can make fail. */
export interface FaultyStore {
  /** The store the application uses while healthy and after `heal()`; tests read records from it. */
  store: Store;
  /**
   * Makes writes fail while reads still work. Returns the store the application must use while
   * the fault lasts: `store` itself, or (SQL engines) a read-only handle on the same table.
   */
  break(): Promise<Store>;
  /** Makes writes work again on `store`. */
  heal(): Promise<void>;
  teardown(): Promise<void>;
}

/** One way of making one store kind unable to write. */
export interface StoreFault {
  /** e.g. `DiskStore, full`. */
  name: string;
  /** How the fault is made (for the test's name and the report). */
  fault: string;
  /** What the store's error must say about the cause. */
  cause: RegExp;
  /** A reason to skip (no server, no tmpfs), or false. */
  skip: string | false;
  /**
   * What native code writes straight to the process's stderr on this fault, out of console's
   * reach (a test runs such a fault in a child process and checks its stderr against this).
   */
  nativeStderr?: RegExp;
  make(): Promise<FaultyStore>;
}

/** DiskStore on a 256k tmpfs, filled to ENOSPC or remounted read-only. */
export function diskFaults(tmpfsSkip: string | false): StoreFault[] {
  return (['full', 'read-only'] as const).map((fault) => ({
    name: `DiskStore, ${fault}`,
    fault:
      fault === 'full'
        ? 'a 256k tmpfs filled to ENOSPC by a filler file'
        : 'a tmpfs remounted read-only',
    cause: fault === 'full' ? /ENOSPC|no space/i : /EROFS|read-only/i,
    skip: tmpfsSkip,
    async make() {
      const fs = await mountTmpfs('256k');
      const store = new DiskStore(join(fs.dir, 'sessions'));
      return {
        store,
        async break() {
          if (fault === 'full') fs.fill();
          else fs.remount('ro');
          return store;
        },
        async heal() {
          if (fault === 'full') await fs.unfill();
          else fs.remount('rw');
        },
        async teardown() {
          await store.close();
          await fs.destroy();
        },
      };
    },
  }));
}

/** A store on `fs` whose fault is `fs` filled to ENOSPC; `close` closes what the store uses. */
function onFilledTmpfs(fs: Tmpfs, store: Store, close: () => Promise<void>): FaultyStore {
  return {
    store,
    async break() {
      fs.fill();
      return store;
    },
    heal: () => fs.unfill(),
    async teardown() {
      await close();
      await fs.destroy();
    },
  };
}

/** ShelfStore on a 1m tmpfs filled to ENOSPC. */
export function shelfFaults(tmpfsSkip: string | false): StoreFault[] {
  return [
    {
      name: 'ShelfStore (lmdb), full',
      fault: 'a 1m tmpfs filled to ENOSPC by a filler file (ShelfStore takes no mapSize option)',
      cause: /ENOSPC|no space|MDB_MAP_FULL/i,
      skip: tmpfsSkip,
      // liblmdb's mdb_page_flush reports a failed write with fprintf(stderr, …), no newline.
      nativeStderr: /Write error: No space left on device position \d+, size \d+/,
      async make() {
        const fs = await mountTmpfs('1m');
        const store = new ShelfStore(join(fs.dir, 'sessions.shelf'));
        return onFilledTmpfs(fs, store, () => store.close().catch(() => {}));
      },
    },
  ];
}

/** SQLite read through a read-only handle, and SQLite (WAL) on a full tmpfs. */
export function sqliteFaults(tmpfsSkip: string | false): StoreFault[] {
  const readOnly: StoreFault = {
    name: 'DBStore on SQLite, read-only',
    fault: 'a second better-sqlite3 Database on the file, opened { readonly: true }',
    cause: /readonly|read-only/i,
    skip: false,
    async make() {
      const dir = await mkdtemp(join(tmpdir(), 'websession-fault-sqlite-'));
      const file = join(dir, 'sessions.db');
      const db = new Sqlite(file);
      db.pragma('journal_mode = WAL');
      const table = uniqueTable('ws_fault');
      const store = new DBStore(db, table, { createTable: true });
      let readonly: Sqlite.Database | undefined;
      return {
        store,
        async break() {
          readonly = new Sqlite(file, { readonly: true });
          return new DBStore(readonly, table);
        },
        async heal() {
          // The writable handle was never touched: the application goes back to it.
        },
        async teardown() {
          readonly?.close();
          await store.close();
          db.close();
          await rm(dir, { recursive: true, force: true });
        },
      };
    },
  };
  const full: StoreFault = {
    name: 'DBStore on SQLite, full',
    fault: 'the database file (WAL mode) on a 256k tmpfs filled to ENOSPC by a filler file',
    cause: /disk is full|ENOSPC|no space/i,
    skip: tmpfsSkip,
    async make() {
      const fs = await mountTmpfs('256k');
      const db = new Sqlite(join(fs.dir, 'sessions.db'));
      db.pragma('journal_mode = WAL');
      const store = new DBStore(db, uniqueTable('ws_fault'), { createTable: true });
      return onFilledTmpfs(fs, store, async () => {
        await store.close();
        db.close();
      });
    },
  };
  return [readOnly, full];
}

/**
 * A server-backed SQL table written through one pool, then served to the application through a
 * second, read-only pool on the same table (the writable pool is never touched: heal is a no-op).
 */
function readOnlyPool<P extends pg.Pool | mysql.Pool>(
  fault: Omit<StoreFault, 'make'>,
  open: () => P,
  openReadOnly: () => P,
): StoreFault {
  return {
    ...fault,
    async make() {
      const pool = open();
      const table = uniqueTable('ws_fault');
      const store = new DBStore(pool, table, { createTable: true, onError: () => {} });
      let readonly: P | undefined;
      return {
        store,
        async break() {
          readonly = openReadOnly();
          return new DBStore(readonly, table, { onError: () => {} });
        },
        async heal() {},
        async teardown() {
          await readonly?.end();
          await store.close();
          const sql = pool as { query(text: string): Promise<unknown> };
          await sql.query(`DROP TABLE IF EXISTS ${table}, ${table}_lease`).catch(() => {});
          await pool.end();
        },
      };
    },
  };
}

export function postgresFaults(skip: string | false): StoreFault[] {
  return [
    readOnlyPool(
      {
        name: 'DBStore on PostgreSQL, read-only',
        fault: "a pg Pool with options '-c default_transaction_read_only=on'",
        cause: /read-only transaction/i,
        skip,
      },
      () => postgresPool(undefined, { max: 2 }),
      () => postgresPool(undefined, { max: 2, options: '-c default_transaction_read_only=on' }),
    ),
  ];
}

export function mysqlFaults(skip: string | false): StoreFault[] {
  return [
    readOnlyPool(
      {
        name: 'DBStore on MySQL/MariaDB, read-only',
        fault: 'a mysql2 pool whose connections run SET SESSION TRANSACTION READ ONLY',
        cause: /READ ONLY transaction/i,
        skip,
      },
      () => mysqlPool(undefined, 2),
      () => {
        const readonly = mysqlPool(undefined, 2);
        // Queued before anything else on each new connection of this pool (this session only).
        readonly.pool.on('connection', (c) => {
          c.query('SET SESSION TRANSACTION READ ONLY');
        });
        return readonly;
      },
    ),
  ];
}

/** RedisStore on a private redis-server whose maxmemory is lowered below what it holds. */
export function redisFaults(skip: string | false): StoreFault[] {
  return [
    {
      name: 'RedisStore, full',
      fault: 'a private redis-server, noeviction, maxmemory lowered below the memory in use',
      cause: /OOM/,
      skip,
      async make() {
        const server = new PrivateRedis(['--maxmemory-policy', 'noeviction']);
        let client: Redis | undefined;
        let store: RedisStore | undefined;
        try {
          await server.start();
          client = new Redis(server.url, { maxRetriesPerRequest: 1 });
          store = new RedisStore(server.url, { prefix: 'wsfault:' });
        } catch (err) {
          client?.disconnect();
          await server.destroy();
          throw err;
        }
        const redis = client;
        const fillers: string[] = [];
        return {
          store,
          async break() {
            // Redis refuses a write once used memory is over maxmemory. Filling up to the limit
            // is not steady (used memory moves with client buffers, so a small write may pass
            // again later); instead hold 1 MB of data and then lower maxmemory 512 KB below what
            // is in use: every write is refused (noeviction), reads are served.
            for (let i = 0; i < 16; i++) {
              const key = `filler:${i}`;
              await redis.set(key, 'f'.repeat(65536));
              fillers.push(key);
            }
            const info = String(await redis.info('memory'));
            const used = Number(/used_memory:(\d+)/.exec(info)?.[1]);
            assert.ok(used > 1_000_000, `used memory read from INFO: ${used}`);
            await redis.config('SET', 'maxmemory', String(used - 512 * 1024));
            await assert.rejects(redis.set('probe', '1'), /OOM/, 'a one-byte write is refused');
            return store;
          },
          async heal() {
            await redis.config('SET', 'maxmemory', '0');
            while (fillers.length > 0) await redis.del(...fillers.splice(0, 500));
          },
          async teardown() {
            await store.close();
            redis.disconnect();
            await server.destroy();
          },
        };
      },
    },
  ];
}
