// A session's own cookie lifetime (session.setMaxAge): "remember me" at login, on a server store
// and on the sealed CookieStore.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  CookieStore,
  MemoryStore,
  type SessionConfig,
  SessionManager,
  type StoreOrSealer,
} from 'websession';
import { cookieOf } from '../helpers/spy-store.js';

const KEY = randomBytes(32).toString('hex');

function maxAgeOf(setCookie: string | undefined): number | undefined {
  assert.ok(setCookie, 'a Set-Cookie was expected');
  const match = /;\s*Max-Age=(\d+)/i.exec(setCookie);
  return match ? Number(match[1]) : undefined;
}

/** One request: load with `cookie`, run `handler`, commit; the Set-Cookie answered. */
async function request(
  manager: SessionManager,
  cookie: string | undefined,
  handler: (session: Awaited<ReturnType<SessionManager['load']>>) => void | Promise<void>,
): Promise<string | undefined> {
  const session = await manager.load({ cookie, ip: '127.0.0.1' });
  await handler(session);
  return manager.commit(session, {});
}

const kinds: [string, () => StoreOrSealer][] = [
  ['MemoryStore', () => new MemoryStore()],
  ['CookieStore', () => new CookieStore()],
];

for (const [name, makeStore] of kinds) {
  describe(`remember me (setMaxAge) on ${name}`, () => {
    const manager = (config: SessionConfig = {}) =>
      new SessionManager(makeStore(), { secret_key: KEY, cleanup_interval: 0, ...config });

    it('gives Max-Age only to the session that asked, renewed on each response, kept across regenerate, gone after kill', async () => {
      const m = manager();
      const plain = await request(m, undefined, (s) => {
        s.user = 'ann';
      });
      assert.equal(maxAgeOf(plain), undefined);

      const remembered = await request(m, undefined, (s) => {
        s.user = 'bob';
        s.setMaxAge(30 * 86400);
      });
      assert.equal(maxAgeOf(remembered), 30 * 86400);

      // Rolling: the next request sends the cookie again with its Max-Age, without any change.
      const again = await request(m, cookieOf(remembered), (s) => {
        assert.equal(s.getMaxAge(), 30 * 86400);
        assert.equal(s.user, 'bob');
      });
      assert.equal(maxAgeOf(again), 30 * 86400);

      // A plain session's next request sends no cookie at all.
      assert.equal(await request(m, cookieOf(plain), () => {}), undefined);

      const regenerated = await request(m, cookieOf(again), (s) => s.regenerate());
      assert.equal(maxAgeOf(regenerated), 30 * 86400);
      assert.notEqual(cookieOf(regenerated), cookieOf(again));

      const killed = await request(m, cookieOf(regenerated), (s) => s.kill());
      assert.equal(maxAgeOf(killed), 0, 'logout expires the cookie');
      // The browser drops the expired cookie: the next login starts from no cookie.
      const after = await request(m, undefined, (s) => {
        assert.equal(s.isNew, true);
        assert.equal(s.getMaxAge(), undefined);
        s.user = 'bob';
      });
      assert.equal(maxAgeOf(after), undefined, 'the next login starts without remember me');
    });

    it('null makes a browser-session cookie even with cookie_max_age; undefined goes back to it', async () => {
      const m = manager({ cookie_max_age: 3600 });
      const first = await request(m, undefined, (s) => {
        s.user = 'ann';
        s.setMaxAge(null);
      });
      assert.equal(maxAgeOf(first), undefined);
      assert.equal(await request(m, cookieOf(first), () => {}), undefined);
      const back = await request(m, cookieOf(first), (s) => s.setMaxAge(undefined));
      assert.equal(maxAgeOf(back), 3600);
    });

    it('is capped by the absolute lifetime and by 400 days', async () => {
      const m = manager({ lifetime: 7200 });
      const capped = await request(m, undefined, (s) => {
        s.user = 'ann';
        s.setMaxAge(30 * 86400);
      });
      const age = maxAgeOf(capped) ?? 0;
      assert.ok(age <= 7200 && age > 7100, `Max-Age ${age} is within the lifetime`);
      const long = await request(manager(), undefined, (s) => {
        s.user = 'ann';
        s.setMaxAge(10_000 * 86400);
        assert.equal(s.getMaxAge(), 400 * 86400);
      });
      assert.equal(maxAgeOf(long), 400 * 86400);
    });

    it('refuses what is not a lifetime', async () => {
      const m = manager();
      await request(m, undefined, (s) => {
        for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, '60', true]) {
          assert.throws(() => s.setMaxAge(bad as unknown as number), TypeError, String(bad));
        }
      });
    });
  });
}
