// The cost of the express-session migration per migrated request: N old sessions written the way
// express-session writes them, then one request per old cookie through SessionManager.load and
// commit (the move: verify the signed cookie, read the old record, create ours, delete the old
// one, send our cookie), against the same request on a session already moved (the steady state).
// Each request runs alone (one at a time), so the times are latencies, not throughput. Every
// migration request moves a different session: a fixed-cookie load generator cannot measure this.
//   node --import tsx --conditions=websession-src bench/express-session-migration.ts [--count 2000] [--stores memorystore,connect-redis]
// connect-redis: REDIS_URL (default redis://127.0.0.1:6379/0), keys under a unique prefix, removed after.
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { RedisStore as ConnectRedis } from 'connect-redis';
import { sign } from 'cookie-signature';
import session from 'express-session';
import { createClient } from 'redis';
import {
  type ConnectStoreLike,
  connectStore,
  expressSessionMigration,
  SessionManager,
} from 'websession';
import { dropPrefix } from '../test/helpers/redis.js';
import { SECRET as SECRET_KEY } from './servers/common.js';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '2000' },
    stores: { type: 'string', default: 'memorystore,connect-redis' },
  },
});
const N = Number(values.count);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const SECRET = 'keyboard cat, the express-session secret';
const require = createRequire(import.meta.url);

/** An express-session store, and how to let go of it. */
async function oldStore(
  name: string,
): Promise<{ store: ConnectStoreLike; close(): Promise<void> }> {
  if (name === 'memorystore') {
    const MemoryStore = require('memorystore')(session);
    const store = new MemoryStore({ checkPeriod: 3600_000 });
    return { store, close: async () => store.stopInterval() };
  }
  const prefix = `wsbench:es:${process.pid}:${randomBytes(4).toString('hex')}:`;
  const client = createClient({ url: REDIS_URL });
  await client.connect();
  const store = new ConnectRedis({ client, prefix });
  return {
    store,
    close: async () => {
      await client.close();
      await dropPrefix(prefix, REDIS_URL);
    },
  };
}

const put = (store: ConnectStoreLike, sid: string, record: unknown) =>
  new Promise<void>((resolve, reject) =>
    store.set(sid, record as never, (err) => (err ? reject(err) : resolve())),
  );

/** One request: load with `cookie`, read, commit; returns ms and the cookie pair sent. */
async function request(manager: SessionManager, cookie: string): Promise<[number, string]> {
  const t = performance.now();
  const s = await manager.load({ cookie });
  if (s.user === undefined) throw new Error('the session did not arrive');
  const setCookie = (await manager.commit(s)) ?? '';
  return [performance.now() - t, setCookie.split(';')[0] ?? ''];
}

function stats(ms: number[]): string {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  const mean = ms.reduce((a, b) => a + b, 0) / ms.length;
  const us = (x: number) => `${Math.round(x * 1000)} µs`;
  return `mean ${us(mean)}, p50 ${us(at(0.5))}, p99 ${us(at(0.99))}`;
}

console.log(`node ${process.version}, ${cpus().length} CPU(s), ${N} old sessions per store`);
for (const name of values.stores!.split(',')) {
  let old: Awaited<ReturnType<typeof oldStore>>;
  try {
    old = await oldStore(name);
  } catch (err) {
    console.log(`${name}: skipped (${(err as Error).message})`);
    continue;
  }
  try {
    const migration = expressSessionMigration({ store: old.store, secret: SECRET });
    const manager = new SessionManager(connectStore(old.store), {
      cookie_name: 'connect.sid',
      secret_key: SECRET_KEY,
      cleanup_interval: 0,
      migrate: migration,
    });
    const expires = new Date(Date.now() + 3600_000).toISOString();
    const cookies: string[] = [];
    for (let i = 0; i < N; i++) {
      const sid = randomBytes(24).toString('base64url');
      await put(old.store, sid, {
        cookie: { originalMaxAge: 3600_000, expires },
        user: `u${i}`,
        n: i,
      });
      cookies.push(`connect.sid=${encodeURIComponent(`s:${sign(sid, SECRET)}`)}`);
    }
    const moved: number[] = [];
    const ours: string[] = [];
    for (const cookie of cookies) {
      const [ms, pair] = await request(manager, cookie);
      moved.push(ms);
      ours.push(pair);
    }
    const steady: number[] = [];
    for (const cookie of ours) steady.push((await request(manager, cookie))[0]);
    if (migration.progress().moved !== N) throw new Error('not every session moved');
    console.log(`${name} (our sessions through connectStore on the same store):`);
    console.log(`  migrated request     ${stats(moved)}`);
    console.log(`  same session after   ${stats(steady)}`);
    await manager.close();
    migration.close();
  } finally {
    await old.close();
  }
}
