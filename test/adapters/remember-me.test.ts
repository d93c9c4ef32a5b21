// "Remember me" on every framework of the conformance suite: `session.setMaxAge` at login gives
// that session's cookie a Max-Age, renewed on each response, kept across regenerate, never past
// the absolute lifetime, and gone at logout; the other sessions keep browser-session cookies. On a
// server store and on the CookieStore (where the lifetime travels in the sealed cookie).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CookieStore, MemoryStore, type SessionConfig, type StoreOrSealer } from 'websession';
import { type Answer, cookieOf, get } from './answers.js';
import { FRAMEWORKS, REMEMBER_SECONDS, type Running } from './servers.js';

type Config = SessionConfig<{ logged_in: boolean; count: number }>;

/** The Max-Age of the answer's one session cookie, or undefined for a browser-session cookie. */
function maxAgeOf(answer: Answer): number | undefined {
  const cookie = answer.setCookies.find((c) => c.startsWith('webpy_session_id='));
  assert.ok(cookie, `a session cookie was expected, got ${JSON.stringify(answer.setCookies)}`);
  const match = /;\s*Max-Age=(\d+)/i.exec(cookie);
  return match ? Number(match[1]) : undefined;
}

const STORES: [string, () => StoreOrSealer][] = [
  ['MemoryStore', () => new MemoryStore()],
  ['CookieStore', () => new CookieStore()],
];

async function withFeatures(
  name: string,
  makeStore: () => StoreOrSealer,
  config: Config,
  fn: (app: Running) => Promise<void>,
): Promise<void> {
  const app = await FRAMEWORKS[name]!.features(makeStore(), {
    cleanup_interval: 0,
    secret_key: 'r'.repeat(32),
    ...config,
  });
  try {
    await fn(app);
  } finally {
    await app.close();
  }
}

for (const [storeName, makeStore] of STORES)
  for (const name of Object.keys(FRAMEWORKS)) {
    const sealed = storeName === 'CookieStore';
    describe(`remember me: ${name}, ${storeName}`, () => {
      it('Max-Age only for the session that asked, renewed, kept across regenerate, gone at logout', async () => {
        await withFeatures(name, makeStore, {}, async (app) => {
          const plain = await get(app, '/sign-in');
          assert.equal(plain.status, 200);
          assert.equal(maxAgeOf(plain), undefined, 'no remember me: a browser-session cookie');
          const plainCookie = cookieOf(plain);
          const plainAgain = await get(app, '/whoami', plainCookie);
          assert.equal(plainAgain.body, 'in');
          assert.deepEqual(plainAgain.setCookies, [], 'an unchanged plain session sends no cookie');

          const remembered = await get(app, '/sign-in-remembered');
          assert.equal(maxAgeOf(remembered), REMEMBER_SECONDS);
          assert.match(remembered.setCookies[0] ?? '', /;\s*Expires=/i);
          const cookie = cookieOf(remembered);

          const next = await get(app, '/whoami', cookie);
          assert.equal(next.body, 'in');
          assert.equal(maxAgeOf(next), REMEMBER_SECONDS, 'renewed on the next response');
          if (!sealed) assert.equal(cookieOf(next), cookie, 'the same id');

          const regenerated = await get(app, '/regenerate', cookie);
          const newCookie = cookieOf(regenerated);
          assert.notEqual(newCookie, cookie);
          assert.equal(maxAgeOf(regenerated), REMEMBER_SECONDS, 'kept across regenerate');
          assert.equal((await get(app, '/whoami', newCookie)).body, 'in');

          const logout = await get(app, '/sign-out', newCookie);
          assert.equal(maxAgeOf(logout), 0, 'logout expires the cookie');
          assert.match(logout.setCookies[0] ?? '', /^webpy_session_id=;/);
          // A sealed cookie cannot be revoked on the server: only the browser's copy is expired.
          if (!sealed) assert.equal((await get(app, '/whoami', newCookie)).body, 'out');

          // The browser dropped the expired cookie: the next login, unticked, is a plain one.
          const again = await get(app, '/sign-in');
          assert.equal(maxAgeOf(again), undefined, 'remember me ended with the session');
          assert.deepEqual((await get(app, '/whoami', cookieOf(again))).setCookies, []);
          assert.equal((await get(app, '/whoami', plainCookie)).body, 'in', 'the other one lives');
        });
      });

      it('never past the absolute lifetime', async () => {
        await withFeatures(name, makeStore, { lifetime: 3600 }, async (app) => {
          const remembered = await get(app, '/sign-in-remembered');
          const age = maxAgeOf(remembered) ?? 0;
          assert.ok(age > 0 && age <= 3600, `Max-Age ${age} is within the lifetime of 3600 s`);
        });
      });
    });
  }
