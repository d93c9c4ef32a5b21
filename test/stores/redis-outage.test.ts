// A Redis outage through the example runner: 503 while Redis is frozen or dead, no crash, and
// recovery with the session saved before the outage intact. Uses a redis-server of its own.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { LOGGED_IN } from '../../examples/frameworks/shared.js';
import { type ExampleProcess, startExample } from '../helpers/example-process.js';
import { CookieClient } from '../helpers/http-client.js';
import { PrivateRedis, privateRedisSkip, redisUrlWith } from '../helpers/redis.js';

const skip = privateRedisSkip;

const redis = new PrivateRedis();
let app: ExampleProcess;

before(async () => {
  if (skip) return;
  await redis.start();
  app = await startExample(
    redisUrlWith('prefix=outage:&commandTimeout=300&connectTimeout=300', redis.url),
  );
});
after(async () => {
  await app?.stop();
  await redis.destroy();
});

/** Retries `/count` until it answers 200 (Redis back), at most ~10 s. */
async function countWhenBack(user: CookieClient): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const res = await user.get(`${app.base}/count`);
    if (res.status === 200) return res.body;
    assert.equal(res.status, 503);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('no recovery after the outage');
}

it('answers 503 while Redis is frozen or down, then recovers with the session intact', {
  skip,
}, async () => {
  const user = new CookieClient();
  assert.equal((await user.get(`${app.base}/login`)).status, 303);
  assert.equal((await user.get(`${app.base}/count`)).body, '1');
  const cookie = user.cookie;

  // 1. Frozen (SIGSTOP): connections stay open, nothing answers → command timeout → 503.
  redis.pause();
  const frozen = await user.get(`${app.base}/`);
  assert.equal(frozen.status, 503);
  assert.match(frozen.body, /store is unavailable/);
  assert.equal((await user.get(`${app.base}/count`)).status, 503);
  redis.resume();
  assert.equal(await countWhenBack(user), '2', 'the session from before the outage, intact');

  // 2. Dead (SIGKILL): connection refused → 503 at once; restarted → same data (append-only file).
  await redis.kill();
  assert.equal((await user.get(`${app.base}/`)).status, 503);
  assert.equal((await user.get(`${app.base}/count`)).status, 503);
  await redis.start();
  assert.equal(await countWhenBack(user), '3');
  assert.equal(user.cookie, cookie, 'same session cookie throughout');
  assert.equal((await user.get(`${app.base}/`)).body, LOGGED_IN);

  assert.equal(app.child.exitCode, null, 'the app process never crashed');
  assert.match(app.stderr(), /\[websession\] \[redis\]/, 'the outage was reported');
});
