// Flash messages, a user's sessions and events (issue 9). A user's sessions run on every store:
// the server-backed ones against the real servers (skipped with a reason outside CI when down).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import mysql from 'mysql2/promise';
import pg from 'pg';
import {
  DiskStore,
  MemoryStore,
  SessionManager,
  ShelfStore,
  type Store,
  storeKey,
  UnsupportedError,
} from 'websession';
import { dropPrefix, redisUrlWith } from '../helpers/redis.js';
import { serverStoreFromUrl } from '../helpers/server-store.js';
import { MYSQL_URL, POSTGRES_URL, REDIS_URL, serverSkip } from '../helpers/servers.js';
import { cookieOf, SpyStore } from '../helpers/spy-store.js';

type Data = { name: string; n: number };
const unique = () => `ws_feat_${process.pid}_${randomBytes(4).toString('hex')}`;
const cleanups: (() => Promise<void>)[] = [];
const opened: Store[] = [];
after(async () => {
  for (const store of opened) await store.close().catch(() => {});
  for (const cleanup of cleanups) await cleanup();
});
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'websession-feat-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}
/** A store on a new table of a SQL server, dropped afterwards. */
async function sqlStore(url: string, drop: (table: string) => Promise<void>): Promise<Store> {
  const table = unique();
  cleanups.push(() => drop(table));
  return serverStoreFromUrl(`${url}${url.includes('?') ? '&' : '?'}table=${table}`);
}

const [pgSkip, mySkip, redisSkip] = await Promise.all([
  serverSkip('Postgres', POSTGRES_URL, 5432),
  serverSkip('MySQL', MYSQL_URL, 3306),
  serverSkip('Redis', REDIS_URL, 6379),
]);

const stores: [string, () => Promise<Store>, (string | false)?][] = [
  ['MemoryStore', async () => new MemoryStore()],
  ['DiskStore', async () => new DiskStore(await tempDir())],
  ['ShelfStore', async () => new ShelfStore(join(await tempDir(), 'sessions.shelf'))],
  ['DBStore on SQLite', async () => serverStoreFromUrl(`sqlite:${join(await tempDir(), 's.db')}`)],
  [
    'DBStore on PostgreSQL',
    () =>
      sqlStore(POSTGRES_URL, async (table) => {
        const client = new pg.Client(POSTGRES_URL);
        await client.connect();
        await client.query(`DROP TABLE IF EXISTS ${table}, ${table}_lease`);
        await client.end();
      }),
    pgSkip,
  ],
  [
    'DBStore on MySQL',
    () =>
      sqlStore(MYSQL_URL, async (table) => {
        const c = await mysql.createConnection(MYSQL_URL);
        await c.query(`DROP TABLE IF EXISTS ${table}, ${table}_lease`);
        await c.end();
      }),
    mySkip,
  ],
  [
    'RedisStore',
    async () => {
      const prefix = `${unique()}:`;
      cleanups.push(() => dropPrefix(prefix));
      return serverStoreFromUrl(redisUrlWith(`prefix=${prefix}`));
    },
    redisSkip,
  ],
];

for (const [name, makeStore, skip] of stores) {
  const make = async () => {
    const store = await makeStore();
    opened.push(store);
    return store;
  };
  describe(`a user's sessions on ${name}`, { skip: skip ?? false }, () => {
    async function login(manager: SessionManager<Data>, user: string, ip: string, ua: string) {
      const s = await manager.load({ ip, userAgent: ua });
      s.setUser(user);
      s.name = user;
      return cookieOf(await manager.commit(s, { ip, userAgent: ua }));
    }

    it("lists a user's live sessions with created, last access, ip and user agent", async () => {
      const manager = new SessionManager<Data>(await make(), { cleanup_interval: 0 });
      const phone = await login(manager, 'ann', '10.0.0.1', 'Phone');
      await login(manager, 'ann', '10.0.0.2', 'Laptop');
      await login(manager, 'bob', '10.0.0.3', 'Other');
      const current = await manager.load({ cookie: phone });
      const list = await manager.listUserSessions('ann', current);
      assert.equal(list.length, 2);
      assert.deepEqual(list.map((s) => s.userAgent).sort(), ['Laptop', 'Phone']);
      assert.deepEqual(list.map((s) => s.ip).sort(), ['10.0.0.1', '10.0.0.2']);
      assert.equal(list.filter((s) => s.current).length, 1);
      assert.equal(list.find((s) => s.current)?.userAgent, 'Phone');
      for (const s of list) assert.ok(s.created - 1000 <= s.atime && s.atime <= Date.now() + 1000);
    });

    it('revokes all but the current one, then all ("log out everywhere")', async () => {
      const manager = new SessionManager<Data>(await make(), { cleanup_interval: 0 });
      const a = await login(manager, 'cy', '1.1.1.1', 'A');
      const b = await login(manager, 'cy', '1.1.1.2', 'B');
      const c = await login(manager, 'cy', '1.1.1.3', 'C');
      const bob = await login(manager, 'bob', '1.1.1.4', 'D');
      const current = await manager.load({ cookie: a });
      assert.equal(await manager.revokeUserSessions('cy', { except: current }), 2);
      assert.equal((await manager.load({ cookie: a })).name, 'cy');
      assert.equal((await manager.load({ cookie: b })).isNew, true);
      assert.equal((await manager.load({ cookie: c })).isNew, true);
      assert.equal(await manager.revokeUserSessions('cy'), 1);
      assert.equal((await manager.load({ cookie: a })).isNew, true);
      assert.equal((await manager.load({ cookie: bob })).name, 'bob', "other users' sessions stay");
      assert.deepEqual(await manager.listUserSessions('cy'), []);
    });

    it('follows regenerate and forgets expired sessions', async () => {
      const store = await make();
      const manager = new SessionManager<Data>(store, { cleanup_interval: 0, timeout: 60 });
      const cookie = await login(manager, 'dee', '1.2.3.4', 'UA');
      const s = await manager.load({ cookie });
      s.regenerate();
      const next = cookieOf(await manager.commit(s));
      const list = await manager.listUserSessions('dee');
      assert.equal(list.length, 1);
      assert.equal(list[0]?.key, storeKey(next.split('=')[1]!));
      assert.deepEqual(
        await store.userSessions?.('dee'),
        [list[0]?.key],
        'the store index holds the new key only, not the regenerated-away one',
      );
      await store.touch(list[0]!.key, Date.now() - 120_000);
      assert.deepEqual(
        await manager.listUserSessions('dee'),
        [],
        'an expired session is never listed',
      );
      await manager.cleanup();
      assert.deepEqual(
        await store.userSessions?.('dee'),
        [],
        'and cleanup drops it from the index',
      );
    });

    it('revokes everywhere after a regenerate and past an expired session', async () => {
      const store = await make();
      const manager = new SessionManager<Data>(store, { cleanup_interval: 0, timeout: 60 });
      const old = await login(manager, 'fay', '1.1.1.1', 'A');
      const s = await manager.load({ cookie: old });
      s.regenerate();
      const renewed = cookieOf(await manager.commit(s));
      const idle = await login(manager, 'fay', '1.1.1.2', 'B');
      const idleKey = storeKey(idle.split('=')[1]!);
      await store.touch(idleKey, Date.now() - 120_000);
      assert.equal((await manager.listUserSessions('fay')).length, 1, 'the idle one is not listed');
      // Both records go: the regenerated session under its new id, and the expired one that
      // cleanup has not reached yet (a store with native TTL, Redis, dropped it already); the id
      // regenerated away is not counted (no record).
      const removed = await manager.revokeUserSessions('fay');
      assert.equal(removed, store.capabilities.nativeTtl ? 1 : 2);
      assert.equal((await manager.load({ cookie: renewed })).isNew, true, 'the new id is revoked');
      assert.equal((await manager.load({ cookie: old })).isNew, true, 'the old id stays dead');
      assert.equal(await store.get(idleKey), undefined, 'the expired record is deleted too');
      assert.deepEqual(await manager.listUserSessions('fay'), []);
    });

    it('revokeSession deletes one session by key', async () => {
      const manager = new SessionManager<Data>(await make(), { cleanup_interval: 0 });
      const cookie = await login(manager, 'eve', '1.2.3.4', 'UA');
      const [only] = await manager.listUserSessions('eve');
      await manager.revokeSession(only!.key);
      assert.equal((await manager.load({ cookie })).isNew, true);
    });
  });
}

describe('a store without a user index', () => {
  it('says so with UnsupportedError', async () => {
    const plain = new MemoryStore();
    const bare = Object.assign(new SpyStore(plain), {});
    const manager = new SessionManager(bare, { cleanup_interval: 0 });
    await assert.rejects(manager.listUserSessions('x'), UnsupportedError);
    await assert.rejects(manager.revokeUserSessions('x'), UnsupportedError);
  });
});

describe('flash messages', () => {
  it('survive exactly one following request, read once', async () => {
    const manager = new SessionManager<Data>(new MemoryStore(), { cleanup_interval: 0 });
    const s1 = await manager.load({});
    s1.name = 'ann';
    s1.flash('notice', 'Saved');
    s1.flash('notice', 'Really saved');
    const cookie = cookieOf(await manager.commit(s1));
    const s2 = await manager.load({ cookie });
    assert.deepEqual(s2.flashes('notice'), ['Saved', 'Really saved']);
    assert.deepEqual(s2.flashes('notice'), [], 'read once');
    await manager.commit(s2);
    const s3 = await manager.load({ cookie });
    assert.deepEqual(s3.flashes(), {});
    assert.equal(s3.name, 'ann');
  });

  it('are dropped after one request even when not read', async () => {
    const manager = new SessionManager<Data>(new MemoryStore(), { cleanup_interval: 0 });
    const s1 = await manager.load({});
    s1.flash('error', { code: 1, at: new Date(0) });
    const cookie = cookieOf(await manager.commit(s1));
    await manager.commit(await manager.load({ cookie }));
    assert.deepEqual((await manager.load({ cookie })).flashes('error'), []);
  });

  it('alone are enough to store a new session (a flash before a redirect)', async () => {
    const manager = new SessionManager<Data>(new MemoryStore(), { cleanup_interval: 0 });
    const s1 = await manager.load({});
    s1.flash('notice', 'Welcome');
    const cookie = cookieOf(await manager.commit(s1));
    const got = (await manager.load({ cookie })).flashes('notice')[0];
    assert.equal(got, 'Welcome');
  });
});

describe('events', () => {
  it('report created, loaded, saved, touched, regenerated, killed, expired and errors with timings', async () => {
    const spy = new SpyStore(new MemoryStore());
    const manager = new SessionManager<Data>(spy, {
      cleanup_interval: 0,
      touch_interval: 0,
      timeout: 60,
    });
    const seen: string[] = [];
    for (const e of [
      'created',
      'loaded',
      'saved',
      'touched',
      'regenerated',
      'killed',
      'expired',
      'error',
    ] as const) {
      manager.on(e, (ev) => {
        assert.equal(typeof ev.ms, 'number');
        assert.match(ev.key, /^[0-9a-f]{12}$/);
        seen.push(e);
      });
    }
    const s = await manager.load({});
    s.n = 1;
    const cookie = cookieOf(await manager.commit(s));
    const s2 = await manager.load({ cookie });
    s2.n = 2;
    await manager.commit(s2);
    await manager.commit(await manager.load({ cookie }));
    const s3 = await manager.load({ cookie });
    s3.regenerate();
    const next = cookieOf(await manager.commit(s3));
    const s4 = await manager.load({ cookie: next });
    s4.kill();
    await manager.commit(s4);
    const s5 = await manager.load({});
    s5.n = 5;
    const c5 = cookieOf(await manager.commit(s5));
    await spy.touch(storeKey(c5.split('=')[1]!), Date.now() - 61_000);
    await manager.load({ cookie: c5 });
    spy.fail = new Error('down');
    await assert.rejects(async () => manager.load({ cookie: c5 }));
    assert.deepEqual(seen, [
      'created',
      'loaded',
      'saved',
      'loaded',
      'touched',
      'loaded',
      'regenerated',
      'created',
      'loaded',
      'killed',
      'created',
      'expired',
      'error',
    ]);
  });

  it('time store errors, and report a call cut off by store_timeout', async () => {
    const spy = new SpyStore(new MemoryStore());
    const manager = new SessionManager<Data>(spy, { cleanup_interval: 0, store_timeout: 200 });
    const errors: { op: string; ms: number; error: unknown }[] = [];
    manager.on('error', (e) => errors.push({ op: e.op, ms: e.ms, error: e.error }));
    const s = await manager.load({});
    s.n = 1;
    const cookie = cookieOf(await manager.commit(s));
    // A store that fails after 400 ms: the call is cut off at 200 ms, reported once.
    spy.hang = sleep(400);
    spy.fail = new Error('down');
    await assert.rejects(async () => manager.load({ cookie }), /timed out after 200 ms/);
    await spy.hang; // the late rejection must not be reported a second time
    await sleep(10);
    assert.equal(errors.length, 1, 'one error event per failed call');
    assert.equal(errors[0]!.op, 'get');
    assert.ok(errors[0]!.ms >= 195, `timed from the call: ${errors[0]!.ms} ms`);
    assert.match(String(errors[0]!.error), /timed out/);
    // A store that fails after 30 ms, within the deadline: timed too.
    spy.hang = sleep(30);
    await assert.rejects(async () => manager.load({ cookie }), /get failed: down/);
    assert.equal(errors.length, 2);
    assert.ok(errors[1]!.ms >= 25, `timed from the call: ${errors[1]!.ms} ms`);
  });

  it('a throwing listener is logged, never breaks a request', async () => {
    const warnings: string[] = [];
    const manager = new SessionManager<Data>(new MemoryStore(), {
      cleanup_interval: 0,
      logger: { warn: (m) => warnings.push(m) },
    });
    manager.on('created', () => {
      throw new Error('listener bug');
    });
    const s = await manager.load({});
    s.n = 1;
    assert.ok(await manager.commit(s));
    assert.equal(warnings.length, 1);
  });
});
