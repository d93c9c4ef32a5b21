// Stores that a test can make unable to write while they can still be read (issue 6: a full or
// read-only store), one fixture per store kind and fault, for test/security/faults.test.ts.
// Each `make()` gives a healthy store on a folder, file, table or server of its own; `break()`
// makes writes fail, `heal()` makes them work again, `teardown()` removes what was created
// (mounts, folders, tables, private servers), and is safe to call after a failure.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, openSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Sqlite from 'better-sqlite3';
import { Redis } from 'ioredis';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { DBStore, DiskStore, RedisStore, ShelfStore, type Store } from 'websession';
import { uniqueTable } from './db-store.js';
import { PrivateRedis } from './redis.js';
import { IN_CI, MYSQL_URL, POSTGRES_URL, serverSkip } from './servers.js';

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

/** One store kind with one way of making it unable to write. */
export interface FaultyKind {
  /** e.g. `DiskStore, full`. */
  name: string;
  /** How the fault is made (for the test's name and the report). */
  fault: string;
  /** What the store's error must say about the cause. */
  cause: RegExp;
  /** A reason to skip (no server, no tmpfs), or false. */
  skip: string | false;
  make(): Promise<FaultyStore>;
}

const tempDir = (what: string) => mkdtemp(join(tmpdir(), `websession-fault-${what}-`));

/** Why a tiny tmpfs cannot be mounted here (needs root on Linux), or false when it can. */
function tmpfsSkip(): string | false {
  if (process.platform !== 'linux') return 'a tiny tmpfs needs Linux';
  if (process.getuid?.() !== 0) return 'mounting a tiny tmpfs needs root';
  return false;
}

interface Tmpfs {
  dir: string;
  remount(mode: 'ro' | 'rw'): void;
  /** Fills the file system with a filler file until ENOSPC. */
  fill(): void;
  /** Removes the filler file. */
  unfill(): Promise<void>;
  destroy(): Promise<void>;
}

/** A tmpfs of `size` (e.g. `256k`) on a new temp folder. Throws (with mount's message) when not permitted. */
async function mountTmpfs(size: string): Promise<Tmpfs> {
  const dir = await tempDir('tmpfs');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir], {
      stdio: 'pipe',
    });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const filler = join(dir, 'filler');
  let mounted = true;
  return {
    dir,
    remount(mode) {
      execFileSync('mount', ['-o', `remount,${mode}`, dir], { stdio: 'pipe' });
    },
    fill() {
      const fd = openSync(filler, 'a');
      const chunk = Buffer.alloc(4096, 0x66);
      try {
        for (;;) writeSync(fd, chunk);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
      } finally {
        closeSync(fd);
      }
    },
    async unfill() {
      await rm(filler, { force: true });
    },
    async destroy() {
      if (mounted) {
        try {
          execFileSync('umount', [dir], { stdio: 'pipe' });
        } catch {
          execFileSync('umount', ['-l', dir], { stdio: 'pipe' }); // something still holds it open
        }
        mounted = false;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Tries a tmpfs mount once: the skip reason when it is refused (e.g. in a container). */
async function tmpfsRefused(): Promise<string | false> {
  const why = tmpfsSkip();
  if (why) return why;
  try {
    await (await mountTmpfs('16k')).destroy();
    return false;
  } catch (err) {
    return `cannot mount a tmpfs here: ${String((err as { stderr?: unknown }).stderr ?? err).trim()}`;
  }
}

function diskKind(fault: 'full' | 'read-only', skip: string | false): FaultyKind {
  return {
    name: `DiskStore, ${fault}`,
    fault:
      fault === 'full'
        ? 'a 256k tmpfs filled to ENOSPC by a filler file'
        : 'a tmpfs remounted read-only',
    cause: fault === 'full' ? /ENOSPC|no space/i : /EROFS|read-only/i,
    skip,
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
  };
}

function shelfKind(skip: string | false): FaultyKind {
  return {
    name: 'ShelfStore (lmdb), full',
    fault: 'a 1m tmpfs filled to ENOSPC by a filler file (ShelfStore takes no mapSize option)',
    cause: /ENOSPC|no space|MDB_MAP_FULL/i,
    skip,
    async make() {
      const fs = await mountTmpfs('1m');
      const store = new ShelfStore(join(fs.dir, 'sessions.shelf'));
      return {
        store,
        async break() {
          fs.fill();
          return store;
        },
        async heal() {
          await fs.unfill();
        },
        async teardown() {
          await store.close().catch(() => {});
          await fs.destroy();
        },
      };
    },
  };
}

function sqliteKind(): FaultyKind {
  return {
    name: 'DBStore on SQLite, read-only',
    fault: 'a second better-sqlite3 Database on the file, opened { readonly: true }',
    cause: /readonly|read-only/i,
    skip: false,
    async make() {
      const dir = await tempDir('sqlite');
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
}

function sqliteFullKind(skip: string | false): FaultyKind {
  return {
    name: 'DBStore on SQLite, full',
    fault: 'the database file (WAL mode) on a 256k tmpfs filled to ENOSPC by a filler file',
    cause: /disk is full|ENOSPC|no space/i,
    skip,
    async make() {
      const fs = await mountTmpfs('256k');
      const db = new Sqlite(join(fs.dir, 'sessions.db'));
      db.pragma('journal_mode = WAL');
      const store = new DBStore(db, uniqueTable('ws_fault'), { createTable: true });
      return {
        store,
        async break() {
          fs.fill();
          return store;
        },
        async heal() {
          await fs.unfill();
        },
        async teardown() {
          await store.close();
          db.close();
          await fs.destroy();
        },
      };
    },
  };
}

function postgresKind(skip: string | false): FaultyKind {
  return {
    name: 'DBStore on PostgreSQL, read-only',
    fault: "a pg Pool with options '-c default_transaction_read_only=on'",
    cause: /read-only transaction/i,
    skip,
    async make() {
      const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 2 });
      pool.on('error', () => {});
      const table = uniqueTable('ws_fault');
      const store = new DBStore(pool, table, { createTable: true, onError: () => {} });
      let readonly: pg.Pool | undefined;
      return {
        store,
        async break() {
          readonly = new pg.Pool({
            connectionString: POSTGRES_URL,
            max: 2,
            options: '-c default_transaction_read_only=on',
          });
          readonly.on('error', () => {});
          return new DBStore(readonly, table, { onError: () => {} });
        },
        async heal() {
          // The writable pool was never touched: the application goes back to it.
        },
        async teardown() {
          await readonly?.end();
          await store.close();
          await pool.query(`DROP TABLE IF EXISTS ${table}`).catch(() => {});
          await pool.end();
        },
      };
    },
  };
}

function mysqlKind(skip: string | false): FaultyKind {
  return {
    name: 'DBStore on MySQL/MariaDB, read-only',
    fault: 'a mysql2 pool whose connections run SET SESSION TRANSACTION READ ONLY',
    cause: /READ ONLY transaction/i,
    skip,
    async make() {
      const pool = mysql.createPool({ uri: MYSQL_URL, connectionLimit: 2, charset: 'utf8mb4' });
      pool.pool.on('error', () => {});
      const table = uniqueTable('ws_fault');
      const store = new DBStore(pool, table, { createTable: true, onError: () => {} });
      let readonly: mysql.Pool | undefined;
      return {
        store,
        async break() {
          readonly = mysql.createPool({ uri: MYSQL_URL, connectionLimit: 2, charset: 'utf8mb4' });
          readonly.pool.on('error', () => {});
          // Queued before anything else on each new connection of this pool (this session only).
          readonly.pool.on('connection', (c) => {
            c.query('SET SESSION TRANSACTION READ ONLY');
          });
          return new DBStore(readonly, table, { onError: () => {} });
        },
        async heal() {
          // The writable pool was never touched: the application goes back to it.
        },
        async teardown() {
          await readonly?.end();
          await store.close();
          await pool.query(`DROP TABLE IF EXISTS ${table}`).catch(() => {});
          await pool.end();
        },
      };
    },
  };
}

function redisKind(skip: string | false): FaultyKind {
  return {
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
          // Redis refuses a write once used memory is over maxmemory. Filling up to the limit is
          // not steady (used memory moves with client buffers, so a small write may pass again
          // later); instead hold 1 MB of data and then lower maxmemory 512 KB below what is in
          // use: every write is refused (noeviction), reads are served.
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
  };
}

const redisServer = process.env.REDIS_SERVER ?? '/usr/bin/redis-server';

/** Every store kind but MemoryStore, with its fault; skipped ones carry their reason. */
export async function faultyKinds(): Promise<FaultyKind[]> {
  const tmpfs = await tmpfsRefused();
  if (tmpfs) console.log(`# SKIP DiskStore and ShelfStore faults: ${tmpfs}`);
  const redis =
    existsSync(redisServer) || IN_CI
      ? false
      : `no redis-server at ${redisServer} (set REDIS_SERVER)`;
  if (redis) console.log(`# SKIP ${redis}`);
  return [
    diskKind('full', tmpfs),
    diskKind('read-only', tmpfs),
    sqliteKind(),
    sqliteFullKind(tmpfs),
    postgresKind(await serverSkip('postgres', POSTGRES_URL, 5432)),
    mysqlKind(await serverSkip('mysql', MYSQL_URL, 3306)),
    shelfKind(tmpfs),
    redisKind(redis),
  ];
}
