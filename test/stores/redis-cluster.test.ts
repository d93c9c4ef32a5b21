// RedisStore in Cluster mode (`?cluster=1`, an ioredis Cluster client) against a one-node Redis
// Cluster of the test's own: Cluster rules (every script's keys in one slot, no cross-slot
// commands) apply on one node as on many, so the whole contract runs under them.
import { existsSync } from 'node:fs';
import { Redis } from 'ioredis';
import { storeFromUrl } from 'websession';
import { PrivateRedis, redisUrlWith } from '../helpers/redis.js';
import { IN_CI } from '../helpers/servers.js';
import { describeStoreContract } from '../helpers/store-contract.js';

const server = process.env.REDIS_SERVER ?? '/usr/bin/redis-server';
const skip =
  existsSync(server) || IN_CI ? false : `no redis-server at ${server} (set REDIS_SERVER)`;

describeStoreContract(
  'RedisStore (Redis Cluster)',
  async () => {
    const redis = new PrivateRedis([
      '--cluster-enabled',
      'yes',
      '--cluster-announce-ip',
      '127.0.0.1',
      '--appendonly',
      'no',
    ]);
    await redis.start();
    const admin = new Redis(redis.url);
    await admin.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
    for (let i = 0; i < 100; i++) {
      const info = String(await admin.call('CLUSTER', 'INFO'));
      if (info.includes('cluster_state:ok')) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    admin.disconnect();
    const store = await storeFromUrl(redisUrlWith('cluster=1&ttl=3600', redis.url));
    return { store, teardown: () => redis.destroy() };
  },
  skip,
);
