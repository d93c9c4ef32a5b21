// A write answered with an error must never land later. Redis runs whatever reached its socket,
// even after the client gave up: during a pause (SIGSTOP of a redis-server of the test's own) a
// write times out (→ 503), and when Redis resumes it would run it. Every RedisStore write carries
// a deadline in the server's clock, and Redis refuses it past that deadline.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import {
  generateSessionId,
  RedisStore,
  SessionManager,
  StoreUnavailableError,
  storeKey,
} from 'websession';
import * as web from 'websession/web';
import { captureConsole } from '../helpers/console-capture.js';
import { PrivateRedis, privateRedisSkip, redisUrlWith } from '../helpers/redis.js';

const skip = privateRedisSkip;

const key = () => storeKey(generateSessionId());
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('RedisStore: a write answered with an error never lands later', { skip }, () => {
  const redis = new PrivateRedis();
  let admin: Redis;
  let n = 0;
  const prefix = () => `late${++n}:`;
  before(async () => {
    await redis.start();
    admin = new Redis(redis.url);
  });
  after(async () => {
    admin?.disconnect();
    await redis.destroy();
  });

  /** Pauses Redis while `during` runs, then resumes it and waits until it has run its backlog. */
  async function paused<T>(during: () => Promise<T>, pauseMs = 1200): Promise<T> {
    redis.pause();
    let result: T;
    try {
      result = await during();
      await sleep(Math.max(0, pauseMs));
    } finally {
      redis.resume();
    }
    await admin.ping(); // answered after everything that reached Redis before it
    await sleep(50);
    return result;
  }

  const keysUnder = async (p: string) => (await admin.keys(`${p}*`)).sort();

  it('the threat is real: a plain command sent during a pause runs once Redis resumes', async () => {
    const client = new Redis(redis.url, { commandTimeout: 200, maxRetriesPerRequest: 0 });
    try {
      await client.ping();
      const p = prefix();
      await paused(async () => {
        await assert.rejects(client.call('HSET', `${p}x`, 'd', '1'), /timed out/);
      });
      assert.deepEqual(await keysUnder(p), [`${p}x`], 'the timed-out write landed later');
    } finally {
      client.disconnect();
    }
  });

  it('set, update (with and without the record read), touch and a user-bound set: 503 during the pause, nothing applied after', async () => {
    const p = prefix();
    const store = new RedisStore(redisUrlWith(`prefix=${p}&commandTimeout=300`, redis.url));
    try {
      const existing = key();
      const now = Date.now();
      await store.set(existing, { data: 'before', atime: now });
      const pttl = await admin.pttl(`${p}${existing}`);
      const fresh = key();
      const bound = key();
      await paused(async () => {
        const calls = [
          store.set(fresh, { data: 'late', atime: Date.now() }),
          store.set(bound, { data: 'late', atime: Date.now(), user: 'ann' }),
          store.update(existing, () => ({ data: 'late-cas', atime: Date.now() }), {
            data: 'before',
            atime: now,
          }),
          store.touch(existing, Date.now() + 3_600_000),
        ];
        for (const result of await Promise.allSettled(calls)) {
          assert.equal(result.status, 'rejected');
          assert.ok(
            (result as PromiseRejectedResult).reason instanceof StoreUnavailableError,
            String((result as PromiseRejectedResult).reason),
          );
        }
      });
      assert.deepEqual(await keysUnder(p), [`${p}${existing}`], 'no new record, no user index');
      assert.equal((await store.get(existing))?.data, 'before', 'the record is unchanged');
      assert.ok((await admin.pttl(`${p}${existing}`)) <= pttl, 'the touch did not extend it');
      // And once Redis answers again, the same writes go through.
      await store.set(fresh, { data: 'now', atime: Date.now() });
      assert.equal((await store.get(fresh))?.data, 'now');
    } finally {
      await store.close();
    }
  });

  it('a new session answered 503 through the web layer leaves no record once Redis resumes', async () => {
    const p = prefix();
    const store = new RedisStore(redisUrlWith(`prefix=${p}&commandTimeout=300`, redis.url));
    const app = web.application(['/login', 'Login'], () => ({ Login }));
    const session = web.session.Session<{ logged_in: boolean }>(app, store, null, {
      cleanup_interval: 0,
    });
    class Login {
      GET() {
        session.logged_in = true;
        return 'in';
      }
    }
    try {
      assert.equal((await app.request('/login')).statusCode, 200); // warm: measures the clock
      const before = await keysUnder(p);
      const { result: answer, printed } = await captureConsole(() =>
        paused(() => app.request('/login')),
      );
      assert.equal(answer.statusCode, 503);
      assert.deepEqual(printed, ['[websession] [redis] create failed: Command timed out']);
      assert.deepEqual(await keysUnder(p), before, 'the 503 login left no session behind');
    } finally {
      await store.close();
    }
  });

  it("with the application's own client (offline queue on, no command timeout) and the manager's store_timeout", async () => {
    const p = prefix();
    const client = new Redis(redis.url);
    const store = new RedisStore(client, { prefix: p, commandTimeout: 400 });
    const manager = new SessionManager<{ n: number }>(store, {
      cleanup_interval: 0,
      store_timeout: 600,
    });
    try {
      await store.get(key()); // connected
      await store.set(key(), { data: 'warm', atime: Date.now() }); // measures the clock
      const before = await keysUnder(p);
      await paused(async () => {
        const s = await manager.load({});
        s.n = 1;
        await assert.rejects(async () => manager.commit(s), StoreUnavailableError);
      }, 1500);
      assert.deepEqual(await keysUnder(p), before);
    } finally {
      await store.close();
      client.disconnect();
    }
  });

  it('a first write during a pause (its clock not measured yet) answered 503 does not land once Redis resumes', async () => {
    // As a new user would: the app read once (no write, so no clock measure), Redis pauses, a
    // login's create times out at store_timeout, Redis resumes before the client's own timeout.
    const p = prefix();
    const store = new RedisStore(redisUrlWith(`prefix=${p}`, redis.url));
    const manager = new SessionManager<{ n: number }>(store, {
      cleanup_interval: 0,
      store_timeout: 600,
    });
    try {
      await manager.load({ cookie: `webpy_session_id=${generateSessionId()}` }); // a read only
      redis.pause();
      try {
        const s = await manager.load({});
        s.n = 1;
        await assert.rejects(async () => manager.commit(s), StoreUnavailableError);
      } finally {
        redis.resume(); // before the client's command timeout (store_timeout + 250 ms)
      }
      await admin.ping();
      // Whatever the store still had to send after the resume has been sent and run by now.
      await sleep(1000);
      await admin.ping();
      assert.deepEqual(await keysUnder(p), [], 'the write answered 503 never landed');
    } finally {
      await manager.close();
      await store.close();
    }
  });

  it("the deadline is in the server's clock: a machine clock 10 s behind still writes", async () => {
    const p = prefix();
    const realNow = Date.now;
    Date.now = () => realNow() - 10_000;
    const store = new RedisStore(redisUrlWith(`prefix=${p}&commandTimeout=300`, redis.url));
    try {
      const k = key();
      await store.set(k, { data: 'skewed', atime: Date.now() });
      assert.equal((await store.get(k))?.data, 'skewed');
    } finally {
      Date.now = realNow;
      await store.close();
    }
  });
});
