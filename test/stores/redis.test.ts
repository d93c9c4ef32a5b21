import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { generateSessionId, RedisStore, StoreError, storeKey } from 'websession';
import { dropPrefix, redisUrlWith } from '../helpers/redis.js';
import { serverStoreFromUrl } from '../helpers/server-store.js';
import { REDIS_URL, serverSkip } from '../helpers/servers.js';
import { describeStoreContract } from '../helpers/store-contract.js';

const skip = await serverSkip('redis', REDIS_URL, 6379);
const runId = randomBytes(4).toString('hex');
const key = () => storeKey(generateSessionId());

describeStoreContract(
  'RedisStore (URL)',
  async () => {
    const prefix = `wstest:${runId}:url:`;
    return {
      store: await serverStoreFromUrl(redisUrlWith(`prefix=${prefix}&ttl=3600`)),
      teardown: () => dropPrefix(prefix),
    };
  },
  skip,
);

describeStoreContract(
  'RedisStore (app ioredis client)',
  async () => {
    const prefix = `wstest:${runId}:client:`;
    const client = new Redis(REDIS_URL);
    return {
      store: new RedisStore(client, { prefix, ttlSeconds: 3600 }),
      teardown: async () => {
        client.disconnect();
        await dropPrefix(prefix);
      },
    };
  },
  skip,
);

describeStoreContract(
  'RedisStore (app node-redis client)',
  async () => {
    const prefix = `wstest:${runId}:node-redis:`;
    const client = createClient({ url: REDIS_URL });
    client.on('error', () => {});
    await client.connect();
    return {
      store: new RedisStore(client, { prefix, ttlSeconds: 3600 }),
      teardown: async () => {
        await client.close();
        await dropPrefix(prefix);
      },
    };
  },
  skip,
);

describe('RedisStore', { skip }, () => {
  const prefix = `wstest:${runId}:own:`;
  let redis: Redis;
  let store: RedisStore;
  before(() => {
    redis = new Redis(REDIS_URL);
    store = new RedisStore(redis, { prefix, ttlSeconds: 600 });
  });
  after(async () => {
    await store.close();
    assert.equal(await redis.ping(), 'PONG', 'close() leaves the app client open');
    await dropPrefix(prefix);
    redis.disconnect();
  });

  it('stores one hash under the prefix, expiring at atime + ttl', async () => {
    const k = key();
    const atime = Date.now() - 100_000;
    await store.set(k, { data: 'hello', atime });
    assert.deepEqual(await redis.hgetall(prefix + k), {
      d: 'hello',
      a: String(atime),
      v: await redis.hget(prefix + k, 'v'),
    });
    const pttl = await redis.pttl(prefix + k);
    assert.ok(pttl > 490_000 && pttl <= 500_000, `pttl ${pttl}`);
  });

  it('touch refreshes atime and TTL without rewriting the data or its version', async () => {
    const k = key();
    await store.set(k, { data: 'same', atime: Date.now() - 300_000 });
    const version = await redis.hget(prefix + k, 'v');
    assert.ok((await redis.pttl(prefix + k)) <= 300_000);
    const now = Date.now();
    await store.touch(k, now);
    assert.equal(await redis.hget(prefix + k, 'v'), version);
    assert.equal(await redis.hget(prefix + k, 'a'), String(now));
    assert.ok((await redis.pttl(prefix + k)) > 590_000);
  });

  it('a record idle past the TTL is gone (Redis expiry), and cleanup is a no-op', async () => {
    const k = key();
    await store.set(k, { data: 'x', atime: Date.now() - 601_000 });
    assert.equal(await redis.exists(prefix + k), 0);
    assert.equal(store.capabilities.nativeTtl, true);
    assert.equal(await store.cleanup(1), 0);
  });

  it('update is atomic across independent connections (two stores, two clients)', async () => {
    const k = key();
    const other = new RedisStore(REDIS_URL, { prefix, ttlSeconds: 600 });
    await store.set(k, { data: '0', atime: Date.now() });
    const inc = (s: RedisStore) =>
      s.update(k, (cur) => ({ data: String(Number(cur?.data ?? 0) + 1), atime: Date.now() }));
    await Promise.all(Array.from({ length: 40 }, (_, i) => inc(i % 2 ? store : other)));
    assert.equal((await store.get(k))?.data, '40');
    await other.close();
  });

  it('a save of a large record (past the in-Redis compare size) as loaded stays conditional', async () => {
    const k = key();
    const big = (n: number) => `${n}:${'x'.repeat(20_000)}`;
    await store.set(k, { data: big(0), atime: Date.now() });
    const loaded = await store.get(k);
    assert.ok(loaded);
    // Another writer changes it after our load: our save must start from what is stored now.
    await store.set(k, { data: big(1), atime: Date.now() });
    const seen: string[] = [];
    const saved = await store.update(
      k,
      (cur) => {
        seen.push(cur?.data.split(':')[0] ?? 'none');
        return cur && { data: big(Number(cur.data.split(':')[0]) + 10), atime: Date.now() };
      },
      loaded,
    );
    assert.equal(saved?.data, big(11), 'built on the stored record, not the stale one');
    assert.deepEqual(seen, ['1'], 'the mutator saw only what is stored');
    assert.equal((await store.get(k))?.data, big(11));
  });

  it('keys() sees only its own prefix', async () => {
    const mine = new RedisStore(redis, { prefix: `${prefix}only[*]:` });
    const k = key();
    await mine.set(k, { data: 'x', atime: Date.now() });
    await store.set(key(), { data: 'y', atime: Date.now() });
    await redis.set(`${prefix}only[*]:not-a-store-key`, '1');
    const listed = [];
    for await (const x of mine.keys()) listed.push(x);
    assert.deepEqual(listed, [k]);
  });

  it('configure() takes the manager timeout unless ttlSeconds was given', () => {
    const free = new RedisStore(redis, { prefix });
    assert.equal(free.ttlSeconds, 86400);
    free.configure({ timeout: 1800 });
    assert.equal(free.ttlSeconds, 1800);
    store.configure({ timeout: 1800 });
    assert.equal(store.ttlSeconds, 600);
  });

  it('a wrong-type key is a StoreError, not an outage (ioredis and node-redis)', async () => {
    const k = key();
    await redis.set(prefix + k, 'a string, not a hash');
    const client = createClient({ url: REDIS_URL });
    await client.connect();
    const viaNodeRedis = new RedisStore(client, { prefix });
    await assert.rejects(
      viaNodeRedis.get(k),
      (err: unknown) =>
        err instanceof StoreError && err.code === 'ERR_STORE' && /WRONGTYPE/.test(err.message),
    );
    await client.close();
    await assert.rejects(
      store.get(k),
      (err: unknown) =>
        err instanceof StoreError && err.code === 'ERR_STORE' && /WRONGTYPE/.test(err.message),
    );
  });
});
