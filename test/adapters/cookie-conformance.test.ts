// The adapter conformance suite's cases that apply to CookieStore, run against every framework
// (the web.py layer, node:http, Express 5 and 4, Fastify, Hono, Koa) on loopback, with the same
// requests and answers; the browser carries the newest cookie, as a real one does.
//
// Cases of test/adapters/conformance.test.ts that do not apply, and why:
// - the checks of the stored record (`stored(memory, …)`, `memory.size`): nothing is stored;
//   the same facts are checked here on the cookie (what the next request reads);
// - store outage and a store failure inside a handler (503): there is no store to fail;
// - a cookie of 64 hex characters (the signed id): the value is the sealed session (base64url);
// - user sessions (list with User-Agent and IP): refused without a server (test/stores/cookie);
// - /metrics' store latency histograms: no store call is timed (events are still counted);
// - 64 parallel /count of one session end at 64: the no-lost-updates promise holds only for
//   server stores; with the session in the cookie, concurrent requests each answer from the
//   cookie they were sent and the last response wins (checked below, as documented).
// - a change after the response started: the same code path as any store (the manager's
//   committed flag), covered by the main suite.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CookieStore, decodePayload, type SessionConfig } from 'websession';
import { LOGGED_IN, LOGGED_OUT } from '../../examples/frameworks/shared.js';
import { type Answer, cookieOf, get, getBoom } from './answers.js';
import { BOOM_VALUE, FLASH_MESSAGE, FRAMEWORKS, type Running } from './servers.js';

const KEY = 'c'.repeat(32);

type Config = SessionConfig<{ logged_in: boolean; count: number }>;

/** The newest cookie: the one just set, else the one the browser had. */
function next(answer: Answer, cookie: string): string {
  return answer.setCookies.length > 0 ? cookieOf(answer) : cookie;
}

async function withApp(
  name: string,
  config: Config,
  fn: (app: Running) => Promise<void>,
  which: 'example' | 'features' = 'example',
): Promise<void> {
  const app = await FRAMEWORKS[name]![which](new CookieStore(), {
    cleanup_interval: 0,
    secret_key: KEY,
    ...config,
  });
  try {
    await fn(app);
  } finally {
    await app.close();
  }
}

const BAD_COOKIES: [string, string][] = [
  ['a path', 'webpy_session_id=../../etc/passwd'],
  ['empty', 'webpy_session_id='],
  ['3000 characters', `webpy_session_id=${'a'.repeat(3000)}`],
  ['a garbled header', ';;=webpy_session_id;="x; webpy_session_id=%E0%A4%A; ==;'],
  ['well-formed base64url, not a seal', `webpy_session_id=${'ab'.repeat(60)}`],
];

for (const name of Object.keys(FRAMEWORKS)) {
  describe(`conformance with CookieStore: ${name}`, () => {
    it('login, logout and kill: the 303 carries the sealed session, the page follows it', async () => {
      await withApp(name, {}, async (app) => {
        const first = await get(app, '/');
        assert.equal(first.body, LOGGED_OUT);
        assert.deepEqual(first.setCookies, []);
        const login = await get(app, '/login');
        assert.equal(login.status, 303);
        assert.equal(login.location, `${app.url}/`);
        let cookie = cookieOf(login);
        assert.match(cookie, /^webpy_session_id=[\w-]{40,}$/);
        const page = await get(app, '/', cookie);
        assert.equal(page.body, LOGGED_IN);
        assert.deepEqual(page.setCookies, [], 'an unchanged session sends no cookie');
        const logout = await get(app, '/logout', cookie);
        assert.equal(logout.status, 303);
        cookie = next(logout, cookie);
        assert.equal((await get(app, '/', cookie)).body, LOGGED_OUT);
        const kill = await get(app, '/kill', cookie);
        assert.equal(kill.body, 'killed');
        assert.match(kill.setCookies[0] ?? '', /^webpy_session_id=;.*Max-Age=0/i);
      });
    });

    it('cookie attributes: HttpOnly, SameSite=Lax, Path=/, no Secure over http', async () => {
      await withApp(name, {}, async (app) => {
        const login = await get(app, '/login');
        const attrs = (login.setCookies[0] ?? '').split(';').map((s) => s.trim().toLowerCase());
        assert.ok(attrs.includes('httponly'));
        assert.ok(attrs.includes('samesite=lax'));
        assert.ok(attrs.includes('path=/'));
        assert.ok(!attrs.includes('secure'));
      });
    });

    for (const [what, header] of BAD_COOKIES) {
      it(`a bad cookie (${what}) is no session: 200, never adopted`, async () => {
        await withApp(name, {}, async (app) => {
          const page = await get(app, '/', header);
          assert.equal(page.status, 200);
          assert.equal(page.body, LOGGED_OUT);
          assert.deepEqual(page.setCookies, []);
          const login = await get(app, '/login', header);
          assert.equal(login.status, 303);
          assert.equal((await get(app, '/', cookieOf(login))).body, LOGGED_IN);
        });
      });
    }

    it('a thrown error still commits what the handler set before it', async () => {
      const boom = await FRAMEWORKS[name]!.boom(new CookieStore(), {
        cleanup_interval: 0,
        secret_key: KEY,
      });
      try {
        await withApp(name, {}, async (app) => {
          const cookie = cookieOf(await get(app, '/login'));
          const answer = await getBoom(name, boom, cookie);
          const after = next(answer, cookie);
          assert.notEqual(after, cookie, 'the 500 carries the new seal');
          const opened = new CookieStore({ secret_keys: KEY }).open(
            after.slice(after.indexOf('=') + 1),
            'webpy_session_id',
          );
          assert.deepEqual(decodePayload(opened?.data ?? '').data, {
            logged_in: true,
            boom: BOOM_VALUE,
          });
          assert.equal((await get(app, '/', after)).body, LOGGED_IN);
        });
      } finally {
        await boom.close();
      }
    });

    it('an expired session with ignore_expiry false is answered expired_message and its cookie cleared', async () => {
      await withApp(name, { timeout: 1, ignore_expiry: false }, async (app) => {
        const cookie = cookieOf(await get(app, '/login'));
        await new Promise((resolve) => setTimeout(resolve, 1100));
        const answer = await get(app, '/', cookie);
        assert.equal(answer.status, 200);
        assert.equal(answer.body, 'Session expired');
        assert.match(answer.setCookies[0] ?? '', /^webpy_session_id=;.*Max-Age=0/i);
      });
    });

    it('a flash message: POST sets it, the next GET shows it, the one after nothing', async () => {
      await withApp(
        name,
        {},
        async (app) => {
          const posted = await get(app, '/flash', undefined, { method: 'POST' });
          assert.equal(posted.status, 303);
          let cookie = cookieOf(posted);
          const shown = await get(app, '/show', cookie);
          assert.deepEqual(JSON.parse(shown.body), { notice: [FLASH_MESSAGE] });
          cookie = next(shown, cookie);
          assert.deepEqual(JSON.parse((await get(app, '/show', cookie)).body), {});
        },
        'features',
      );
    });

    it('/count in sequence counts; parallel requests of one browser: the last response wins', async () => {
      await withApp(name, {}, async (app) => {
        let cookie = cookieOf(await get(app, '/login'));
        for (let i = 1; i <= 3; i++) {
          const answer = await get(app, '/count', cookie);
          assert.equal(answer.body, String(i));
          cookie = next(answer, cookie);
        }
        const parallel = await Promise.all(
          Array.from({ length: 8 }, () => get(app, '/count', cookie)),
        );
        assert.ok(
          parallel.every((a) => a.body === '4'),
          'each counted from the cookie it sent',
        );
        cookie = next(parallel[parallel.length - 1]!, cookie);
        assert.equal((await get(app, '/count', cookie)).body, '5');
      });
    });
  });
}
