// RedisStore in Cluster mode (`?cluster=1`, an ioredis Cluster client) against Redis Clusters of
// the test's own (private redis-servers, never the shared Redis). The contract runs on a one-node
// cluster (Cluster rules, every script's keys in one slot, apply on one node as on many) and on
// a three-master cluster, where the client routes each key to its master, `keys()` scans every
// master and a user's index set lives on another master than most of its sessions; one test
// reshards slots behind the client's back, so its stale slot map meets MOVED replies.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  generateSessionId,
  RedisStore,
  SessionManager,
  type Store,
  type StoredSession,
  storeKey,
} from 'websession';
import { privateRedisSkip, redisUrlWith } from '../helpers/redis.js';
import { type PrivateCluster, startRedisCluster } from '../helpers/redis-cluster.js';
import { serverStoreFromUrl } from '../helpers/server-store.js';
import { describeStoreContract } from '../helpers/store-contract.js';
import { storeKind } from '../helpers/stores.js';

const skip = privateRedisSkip;

describeStoreContract(
  'RedisStore (Redis Cluster, one node)',
  async () => {
    const cluster = await startRedisCluster(1);
    const store = await serverStoreFromUrl(redisUrlWith('cluster=1&ttl=3600', cluster.url));
    return { store, teardown: () => cluster.destroy() };
  },
  skip,
);
describeStoreContract(
  'RedisStore (Redis Cluster, three masters)',
  (await storeKind('redis cluster')).make,
  skip,
);

describe('RedisStore on a three-master Redis Cluster', { skip }, () => {
  let cluster: PrivateCluster;
  const stores: Store[] = [];

  before(async () => {
    cluster = await startRedisCluster(3);
  });
  after(async () => {
    for (const store of stores) await store.close();
    await cluster?.destroy();
  });

  /** A store of its own prefix on the cluster, so each test sees only its own keys. */
  const open = async (options: { scanCount?: number } = {}) => {
    const prefix = `wstest:${randomBytes(4).toString('hex')}:`;
    const store = new RedisStore(cluster.url, {
      cluster: true,
      prefix,
      ttlSeconds: 3600,
      ...options,
    });
    stores.push(store);
    return { store, prefix };
  };

  /** Index (in cluster.nodes) of the master whose slots hold the Redis key `full`. */
  const masterOf = async (full: string) =>
    cluster.nodeOfSlot(Number(await cluster.admins[0]!.call('CLUSTER', 'KEYSLOT', full)));

  /** Keys under `prefix` on each master, counted on the node itself (not through the Cluster client). */
  const perNode = () =>
    Promise.all(
      cluster.admins.map(async (admin) => {
        const found: string[] = [];
        let cursor = '0';
        do {
          const [next, keys] = await admin.scan(cursor, 'COUNT', 1000);
          cursor = next;
          found.push(...keys);
        } while (cursor !== '0');
        return found;
      }),
    );

  const rec = (data: string, user?: string): StoredSession => ({
    data,
    atime: Date.now(),
    ...(user === undefined ? {} : { user }),
  });

  it('sessions land on more than one master', async () => {
    const { store, prefix } = await open();
    const keys = Array.from({ length: 50 }, () => storeKey(generateSessionId()));
    for (const k of keys) await store.set(k, rec(`d-${k}`));
    const expected = await Promise.all(keys.map((k) => masterOf(prefix + k)));
    const held = await perNode();
    for (const [i, k] of keys.entries())
      assert.ok(
        held[expected[i]!]!.includes(prefix + k),
        `${k.slice(0, 12)}… is on master ${expected[i]}, the one CLUSTER KEYSLOT names`,
      );
    const counts = held.map((found) => found.filter((f) => f.startsWith(prefix)).length);
    assert.equal(
      counts.reduce((a, b) => a + b, 0),
      50,
    );
    assert.ok(counts.filter((n) => n > 0).length >= 2, `keys per master: ${counts.join(', ')}`);
    const sizes = await Promise.all(cluster.admins.map((admin) => admin.dbsize()));
    assert.ok(sizes.filter((n) => n > 0).length >= 2, `DBSIZE per master: ${sizes.join(', ')}`);
    for (const k of keys) assert.equal((await store.get(k))?.data, `d-${k}`);
  });

  it('keys() returns exactly the keys written, from every master', async () => {
    // A small SCAN COUNT, so each master's scan takes several cursor steps.
    const { store, prefix } = await open({ scanCount: 7 });
    const written = new Set<string>();
    for (let i = 0; i < 60; i++) {
      const k = storeKey(generateSessionId());
      written.add(k);
      // Some bound to users: their index sets share the prefix but are not session keys.
      await store.set(k, rec(`d${i}`, i % 3 === 0 ? `user-${i % 2}` : undefined));
    }
    const masters = new Set(await Promise.all([...written].map((k) => masterOf(prefix + k))));
    assert.equal(masters.size, 3, 'the keys written span all three masters');
    const listed: string[] = [];
    for await (const k of store.keys()) listed.push(k);
    assert.equal(listed.length, written.size, 'no key listed twice');
    assert.deepEqual(new Set(listed), written);
  });

  it('the user index lists sessions on every master and drops a deleted one', async () => {
    const { store, prefix } = await open();
    const user = `u-${randomBytes(6).toString('hex')}`;
    const other = `${user}-other`;
    // Sessions of the user until each master holds at least two; written by set() and by
    // update() (the two paths that bind a record to its user).
    const mine: string[] = [];
    const perMaster = [0, 0, 0];
    for (let i = 0; perMaster.some((n) => n < 2); i++) {
      assert.ok(i < 200, 'keys spread over the masters');
      const k = storeKey(generateSessionId());
      const m = await masterOf(prefix + k);
      if (perMaster[m]! >= 2) continue;
      perMaster[m]!++;
      if (mine.length % 2 === 0) await store.set(k, rec(`s${i}`, user));
      else await store.update(k, () => rec(`u${i}`, user));
      mine.push(k);
    }
    const theirs = storeKey(generateSessionId());
    await store.set(theirs, rec('x', other));

    const setMaster = await masterOf(
      `${prefix}user:${createHash('sha256').update(user).digest('hex')}`,
    );
    assert.ok(
      (await Promise.all(mine.map((k) => masterOf(prefix + k)))).some((m) => m !== setMaster),
      "some of the user's sessions are on another master than the user's set",
    );

    assert.deepEqual(new Set(await store.userSessions(user)), new Set(mine));
    assert.deepEqual(await store.userSessions(other), [theirs]);

    // Delete one session on each master: each is dropped from the list, the rest stay.
    const gone = new Set<string>();
    for (let m = 0; m < 3; m++) {
      for (const k of mine)
        if (!gone.has(k) && (await masterOf(prefix + k)) === m) {
          await store.delete(k);
          gone.add(k);
          break;
        }
    }
    const left = mine.filter((k) => !gone.has(k));
    assert.deepEqual(new Set(await store.userSessions(user)), new Set(left));
    // Rebinding a session to another user drops it from the first user's list too.
    const moved = left[0]!;
    await store.set(moved, rec('moved', other));
    assert.deepEqual(
      new Set(await store.userSessions(user)),
      new Set(left.filter((k) => k !== moved)),
    );
    assert.deepEqual(new Set(await store.userSessions(other)), new Set([theirs, moved]));
  });

  it('SessionManager round trips sessions on every master', async () => {
    const { store, prefix } = await open();
    const manager = new SessionManager<{ n: number; tags: string[] }>(store, {
      cleanup_interval: 0,
    });
    try {
      const user = `u-${randomBytes(6).toString('hex')}`;
      const byMaster = new Map<number, string>(); // master → cookie header
      for (let i = 0; byMaster.size < 3; i++) {
        assert.ok(i < 100, 'sessions spread over the masters');
        const s = await manager.load({});
        const m = await masterOf(prefix + storeKey(s.id));
        if (byMaster.has(m)) continue; // never committed: nothing stored
        s.n = m;
        s.tags = ['new'];
        s.setUser(user);
        const cookie = await manager.commit(s);
        assert.ok(cookie, 'a new session with data gets a cookie');
        byMaster.set(m, cookie.split(';')[0]!);
      }
      for (const [m, header] of byMaster) {
        const s = await manager.load({ cookie: header });
        assert.equal(s.isNew, false, `session on master ${m} loads from its cookie`);
        assert.equal(s.n, m);
        assert.deepEqual(s.tags, ['new']);
        s.n = m + 10;
        s.tags = [...s.tags, 'updated'];
        await manager.commit(s);
        const again = await manager.load({ cookie: header });
        assert.equal(again.isNew, false);
        assert.equal(again.n, m + 10, `the update of the session on master ${m} is stored`);
        assert.deepEqual(again.tags, ['new', 'updated']);
        await manager.commit(again);
      }
      const listed = await manager.listUserSessions(user);
      assert.equal(listed.length, 3, "the user's sessions on all three masters are listed");
      assert.equal(await manager.revokeUserSessions(user), 3);
      for (const header of byMaster.values())
        assert.equal((await manager.load({ cookie: header })).isNew, true, 'revoked');
      assert.deepEqual(await manager.listUserSessions(user), []);
    } finally {
      await manager.close();
    }
  });
  // Last: it changes the slot map (masterOf follows it through cluster.nodeOfSlot).
  it('follows MOVED when slots are resharded behind the client: records, user index, keys()', async () => {
    const { store, prefix } = await open();
    const user = `u-${randomBytes(6).toString('hex')}`;
    const set = `${prefix}user:${createHash('sha256').update(user).digest('hex')}`;
    const keys = Array.from({ length: 6 }, () => storeKey(generateSessionId()));
    for (const k of keys) await store.set(k, rec(`d-${k}`, user));
    assert.deepEqual(new Set(await store.userSessions(user)), new Set(keys)); // slot map cached
    // Move the slots of two sessions and of the user's set, each to the next master.
    const movedKeys = keys.slice(0, 2);
    for (const full of [...movedKeys.map((k) => prefix + k), set]) {
      const slot = Number(await cluster.admins[0]!.call('CLUSTER', 'KEYSLOT', full));
      const from = cluster.nodeOfSlot(slot);
      await cluster.moveSlot(slot, (from + 1) % 3);
      const to = cluster.nodeOfSlot(slot);
      assert.notEqual(to, from);
      assert.equal(await cluster.admins[to]!.exists(full), 1, `${full} migrated`);
      await assert.rejects(cluster.admins[from]!.exists(full), /MOVED/);
    }
    for (const k of keys) assert.equal((await store.get(k))?.data, `d-${k}`);
    assert.deepEqual(new Set(await store.userSessions(user)), new Set(keys));
    // Writes on the moved slots: a script (not yet cached on the new master) and the index.
    const [first, second] = movedKeys as [string, string];
    const updated = await store.update(first, (cur) => cur && { ...rec(`${cur.data}+`, user) });
    assert.equal(updated?.data, `d-${first}+`);
    assert.equal((await store.get(first))?.data, `d-${first}+`);
    await store.touch(second, Date.now());
    await store.delete(second);
    const fresh = storeKey(generateSessionId());
    await store.set(fresh, rec('fresh', user));
    const live = [...keys.filter((k) => k !== second), fresh];
    assert.deepEqual(new Set(await store.userSessions(user)), new Set(live));
    const listed: string[] = [];
    for await (const k of store.keys()) listed.push(k);
    assert.equal(listed.length, live.length, 'no key listed twice');
    assert.deepEqual(new Set(listed), new Set(live));
  });
});
