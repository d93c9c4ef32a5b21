// The store registry: every kind of store as fixtures for tests that run on each of them (the
// store contract, test/security/*.test.ts, test/core/*). Each `make()` gives a fresh, isolated
// store (its own temp folder, file, table or key prefix) and a teardown that closes it and
// removes what it created. Servers come from test/helpers/servers.ts: outside CI a missing one
// skips with its reason, under CI=true it fails the run.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import Sqlite from 'better-sqlite3';
import { Redis } from 'ioredis';
import {
  DBStore,
  DiskStore,
  MemoryStore,
  RedisStore,
  ShelfStore,
  type Store,
  type StoredSession,
  type StoreMutator,
} from 'websession';
import { privateRedisSkip } from './redis.js';
import { startRedisCluster } from './redis-cluster.js';
import {
  MYSQL_URL,
  mysqlPool,
  POSTGRES_URL,
  postgresPool,
  REDIS_URL,
  serverSkip,
} from './servers.js';
import { SpyStore } from './spy-store.js';
import {
  diskFaults,
  mysqlFaults,
  postgresFaults,
  redisFaults,
  type StoreFault,
  shelfFaults,
  sqliteFaults,
} from './store-faults.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';
import { tmpfsSkip } from './tmpfs.js';
import { uniqueTable } from './unique-table.js';

export type { FaultyStore, StoreFault } from './store-faults.js';
export { uniqueTable } from './unique-table.js';

/** A store made for one test or suite. */
export interface MadeStore {
  store: Store;
  /**
   * The codec text of the record quarantined under `key`, read where this store keeps it (a
   * folder, a database of the file, a renamed row or key); undefined when there is none.
   */
  quarantined(key: string): Promise<string | undefined>;
  /** Closes the store and removes its folder, file, table or keys. */
  teardown(): Promise<void>;
}

/** A store whose I/O a test can stop and restart, to play a store that hangs. */
export interface HangingStore extends MadeStore {
  /** How the hang is made: `tcp proxy` (a server stops answering) or `gate` (simulated). */
  how: 'tcp proxy' | 'gate';
  /** From now on the store answers nothing (calls in flight and new ones wait). */
  freeze(): void;
  /** Lets everything that waited through, and answers again. */
  thaw(): void;
}

export type KindName =
  | 'memory'
  | 'disk'
  | 'sqlite'
  | 'postgres'
  | 'mysql'
  | 'shelf'
  | 'redis'
  | 'redis cluster';

/** The kinds every store-wide suite runs on: all but the Redis Cluster, a private one per store. */
const SHARED_KINDS: KindName[] = [
  'memory',
  'disk',
  'sqlite',
  'postgres',
  'mysql',
  'shelf',
  'redis',
];

/** One kind of store. */
export interface StoreKind {
  name: KindName;
  /** A reason to skip (its server is down, outside CI), or false. */
  skip: string | false;
  make(): Promise<MadeStore>;
  /**
   * A store that can be made to hang: a server reached through a TCP proxy that stops
   * forwarding; in-process stores (nothing on a network to hang) behind a gate that holds every
   * call, which is a simulation.
   */
  hanging(): Promise<HangingStore>;
  /** The ways this kind can be made unable to write while it still reads (none for memory). */
  faults: StoreFault[];
}

const tempDir = (what: string) => mkdtemp(join(tmpdir(), `websession-${what}-`));

/** In-process stores hang only in simulation: a SpyStore gate holds every call. */
function gated(made: MadeStore): HangingStore {
  const spy = new SpyStore(made.store);
  let release: (() => void) | undefined;
  return {
    ...made,
    store: spy,
    how: 'gate',
    freeze() {
      spy.hang = new Promise<void>((resolve) => {
        release = resolve;
      });
    },
    thaw() {
      spy.hang = undefined;
      release?.();
    },
  };
}

/** The made store reached through `proxy`: freezing the proxy hangs the store. */
function proxied(proxy: TcpProxy, made: MadeStore): HangingStore {
  return {
    ...made,
    how: 'tcp proxy',
    freeze: () => proxy.freeze(),
    thaw: () => proxy.thaw(),
    teardown: async () => {
      proxy.thaw();
      await made.teardown();
      await proxy.close();
    },
  };
}

/** The URL with its host and port replaced by the proxy's on loopback. */
function viaPort(url: string, port: number): string {
  const u = new URL(url);
  u.hostname = '127.0.0.1';
  u.port = String(port);
  return u.toString();
}

async function makeMemory(): Promise<MadeStore> {
  const store = new MemoryStore();
  return {
    store,
    quarantined: (key) => store.quarantined(key),
    teardown: () => store.close(),
  };
}

async function makeDisk(): Promise<MadeStore> {
  const dir = await tempDir('disk');
  const store = new DiskStore(dir);
  return {
    store,
    async quarantined(key) {
      const names = await readdir(join(dir, 'quarantine')).catch(() => [] as string[]);
      const name = names.find((n) => n.startsWith(`${key}.`));
      return name === undefined ? undefined : readFile(join(dir, 'quarantine', name), 'utf8');
    },
    teardown: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function makeShelf(): Promise<MadeStore> {
  const dir = await tempDir('shelf');
  const store = new ShelfStore(join(dir, 'sessions.shelf'));
  return {
    store,
    quarantined: (key) => store.quarantined(key),
    teardown: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function makeSqlite(): Promise<MadeStore> {
  const dir = await tempDir('sqlite');
  const db = new Sqlite(join(dir, 'sessions.db'));
  db.pragma('journal_mode = WAL');
  const table = uniqueTable();
  const store = new DBStore(db, table, { createTable: true });
  return {
    store,
    quarantined: async (key) =>
      (
        db.prepare(`SELECT data FROM ${table} WHERE session_id = ?`).get(`quarantine:${key}`) as
          | { data: string }
          | undefined
      )?.data,
    teardown: async () => {
      await store.close();
      db.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function makePostgres(url = POSTGRES_URL): Promise<MadeStore> {
  const pool = postgresPool(url);
  const table = uniqueTable();
  const store = new DBStore(pool, table, { createTable: true, onError: () => {} });
  return {
    store,
    quarantined: async (key) =>
      (await pool.query(`SELECT data FROM ${table} WHERE session_id = $1`, [`quarantine:${key}`]))
        .rows[0]?.data,
    teardown: async () => {
      await store.close();
      await pool.query(`DROP TABLE IF EXISTS ${table}, ${table}_lease`).catch(() => {});
      await pool.end();
    },
  };
}

async function makeMysql(url = MYSQL_URL): Promise<MadeStore> {
  const pool = mysqlPool(url);
  const table = uniqueTable();
  const store = new DBStore(pool, table, { createTable: true, onError: () => {} });
  return {
    store,
    async quarantined(key) {
      const [rows] = await pool.query(`SELECT data FROM ${table} WHERE session_id = ?`, [
        `quarantine:${key}`,
      ]);
      return (rows as { data: string }[])[0]?.data;
    },
    teardown: async () => {
      await store.close();
      await pool.query(`DROP TABLE IF EXISTS ${table}, ${table}_lease`).catch(() => {});
      await pool.end();
    },
  };
}

/**
 * RedisStore remembering the keys it wrote, so that teardown deletes exactly those: the shared
 * server may hold many keys, and a SCAN of them all per fixture would be slow.
 */
class TrackedRedisStore extends RedisStore {
  readonly written = new Set<string>();
  override set(key: string, record: StoredSession): Promise<void> {
    this.written.add(key);
    return super.set(key, record);
  }
  override update(key: string, mutator: StoreMutator): Promise<StoredSession | undefined> {
    this.written.add(key);
    return super.update(key, mutator);
  }
}

async function makeRedis(url = REDIS_URL): Promise<MadeStore> {
  const prefix = `wstest:${process.pid}:${randomBytes(4).toString('hex')}:`;
  const store = new TrackedRedisStore(url, { prefix });
  const withClient = async <T>(fn: (redis: Redis) => Promise<T>): Promise<T> => {
    const redis = new Redis(REDIS_URL);
    try {
      return await fn(redis);
    } finally {
      redis.disconnect();
    }
  };
  return {
    store,
    quarantined: (key) =>
      withClient(async (redis) => (await redis.hget(store.quarantineKey(key), 'd')) ?? undefined),
    teardown: async () => {
      await store.close();
      const keys = [...store.written].flatMap((k) => [prefix + k, store.quarantineKey(k)]);
      if (keys.length > 0) await withClient((redis) => redis.del(...keys));
    },
  };
}

/** RedisStore in Cluster mode on a private three-master Redis Cluster, removed at teardown. */
async function makeRedisCluster(): Promise<MadeStore> {
  const cluster = await startRedisCluster(3);
  try {
    const store = new RedisStore(cluster.url, { cluster: true, ttlSeconds: 3600 });
    return {
      store,
      async quarantined(key) {
        const slotOwner = cluster.admins.map((admin) => admin.hget(store.quarantineKey(key), 'd'));
        const found = (await Promise.allSettled(slotOwner)).find(
          (r) => r.status === 'fulfilled' && r.value !== null,
        );
        return found?.status === 'fulfilled' ? (found.value ?? undefined) : undefined;
      },
      teardown: async () => {
        await store.close();
        await cluster.destroy();
      },
    };
  } catch (err) {
    await cluster.destroy();
    throw err;
  }
}

function local(
  name: KindName,
  make: () => Promise<MadeStore>,
  faults: StoreFault[] = [],
): StoreKind {
  return { name, skip: false, make, hanging: async () => gated(await make()), faults };
}

const SERVERS = {
  postgres: { url: POSTGRES_URL, port: 5432 },
  mysql: { url: MYSQL_URL, port: 3306 },
  redis: { url: REDIS_URL, port: 6379 },
} as const;

function server(
  name: keyof typeof SERVERS,
  skip: string | false,
  make: (url?: string) => Promise<MadeStore>,
  faults: StoreFault[],
): StoreKind {
  const { url, port } = SERVERS[name];
  return {
    name,
    skip,
    make: () => make(),
    async hanging() {
      const u = new URL(url);
      const proxy = await startTcpProxy({ host: u.hostname, port: Number(u.port || port) });
      return proxied(proxy, await make(viaPort(url, proxy.port)));
    },
    faults,
  };
}

/**
 * The store kinds named (when none is: memory, disk, sqlite, postgres, mysql, shelf, redis, in
 * that order). Only the servers of the kinds asked for are checked (call at the top of a test
 * file, with await).
 */
export async function storeKinds(...names: KindName[]): Promise<StoreKind[]> {
  const asked = names.length === 0 ? SHARED_KINDS : names;
  const wanted = (name: KindName) => asked.includes(name);
  const skipOf = async (name: keyof typeof SERVERS) =>
    wanted(name) ? serverSkip(name, SERVERS[name].url, SERVERS[name].port) : 'not asked for';
  const [pgSkip, mySkip, redisSkip, tmpfs] = await Promise.all([
    skipOf('postgres'),
    skipOf('mysql'),
    skipOf('redis'),
    wanted('disk') || wanted('sqlite') || wanted('shelf') ? tmpfsSkip() : 'not asked for',
  ]);
  const kinds = [
    local('memory', makeMemory),
    local('disk', makeDisk, diskFaults(tmpfs)),
    local('sqlite', makeSqlite, sqliteFaults(tmpfs)),
    server('postgres', pgSkip, makePostgres, postgresFaults(pgSkip)),
    server('mysql', mySkip, makeMysql, mysqlFaults(mySkip)),
    local('shelf', makeShelf, shelfFaults(tmpfs)),
    server('redis', redisSkip, makeRedis, redisFaults(privateRedisSkip)),
    // A cluster's nodes cannot hang behind one proxy: its hang is the simulated one.
    { ...local('redis cluster', makeRedisCluster), skip: privateRedisSkip },
  ];
  return kinds.filter((kind) => wanted(kind.name));
}

/** One store kind (see {@link storeKinds}). */
export async function storeKind(name: KindName): Promise<StoreKind> {
  const [kind] = await storeKinds(name);
  return kind!;
}

/**
 * `kind.make` for tests that want only the store: every store made is torn down when the test
 * file (or the describe it is called in) is done.
 */
export function storesOf(kind: StoreKind): () => Promise<Store> {
  const made: MadeStore[] = [];
  after(async () => {
    for (const m of made) await m.teardown();
  });
  return async () => {
    const m = await kind.make();
    made.push(m);
    return m.store;
  };
}
