// One conformance suite, the same requests and the same expected answers, run against every
// framework (the web.py layer, node:http, Express 5 and 4, Fastify, Hono, Koa) on loopback.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  decodePayload,
  MemoryStore,
  type SessionConfig,
  SessionManager,
  StoreUnavailableError,
  storeKey,
} from 'websession';
import { STORE_UNAVAILABLE_BODY } from 'websession/node';
import * as web from 'websession/web';
import { LOGGED_IN, LOGGED_OUT } from '../../examples/frameworks/shared.js';
import { captureConsole, recordingLogger } from '../helpers/console-capture.js';
import { SpyStore } from '../helpers/spy-store.js';
import { cookieOf, get, getBoom } from './answers.js';
import {
  BOOM_VALUE,
  FEATURE_USER,
  FLASH_MESSAGE,
  FRAMEWORKS,
  LATE_OUTCOMES,
  type Running,
} from './servers.js';

type Config = SessionConfig<{ logged_in: boolean; count: number }>;

/** The stored data of the session a cookie names (undefined when there is no record). */
async function stored(
  store: MemoryStore,
  cookie: string,
): Promise<Record<string, unknown> | undefined> {
  const id = cookie.slice(cookie.indexOf('=') + 1);
  const record = await store.get(storeKey(id));
  return record && decodePayload(record.data).data;
}

interface Fixture {
  memory: MemoryStore;
  spy: SpyStore;
  app: Running;
  /** What the app's session manager logged (a logger of its own: store failures are counted per logger). */
  logged: string[];
}

async function withApp(
  name: string,
  config: Config,
  fn: (fx: Fixture) => Promise<void>,
  which: 'example' | 'features' = 'example',
): Promise<void> {
  const memory = new MemoryStore();
  const spy = new SpyStore(memory);
  const logger = recordingLogger();
  const app = await FRAMEWORKS[name]![which](spy, { cleanup_interval: 0, logger, ...config });
  try {
    await fn({ memory, spy, app, logged: logger.lines });
  } finally {
    await app.close();
  }
}

const BAD_COOKIES: [string, string][] = [
  ['a path', 'webpy_session_id=../../etc/passwd'],
  ['non-hex', `webpy_session_id=${'z'.repeat(64)}`],
  ['empty', 'webpy_session_id='],
  ['3000 characters', `webpy_session_id=${'a'.repeat(3000)}`],
  ['a garbled header', ';;=webpy_session_id;="x; webpy_session_id=%E0%A4%A; ==;'],
  ['well-formed but unknown', `webpy_session_id=${'ab'.repeat(32)}`],
];

for (const name of Object.keys(FRAMEWORKS)) {
  describe(`conformance: ${name}`, () => {
    it('login and logout: a 303 to http://host/ that saves, the page follows the session, kill ends it', async () => {
      await withApp(name, {}, async ({ memory, app }) => {
        const first = await get(app, '/');
        assert.equal(first.status, 200);
        assert.equal(first.body, LOGGED_OUT);

        const login = await get(app, '/login');
        assert.equal(login.status, 303);
        assert.equal(login.location, `${app.url}/`);
        const cookie = cookieOf(login);
        // Saved before the redirect answer went out: the record is there now.
        assert.deepEqual(await stored(memory, cookie), { logged_in: true });

        assert.equal((await get(app, '/', cookie)).body, LOGGED_IN);
        const again = await get(app, '/', cookie);
        assert.equal(again.body, LOGGED_IN);
        assert.deepEqual(again.setCookies, [], 'an unchanged session sends no cookie');

        const logout = await get(app, '/logout', cookie);
        assert.equal(logout.status, 303);
        assert.equal(logout.location, `${app.url}/`);
        assert.equal((await get(app, '/', cookie)).body, LOGGED_OUT);
        assert.deepEqual(await stored(memory, cookie), { logged_in: false });

        const kill = await get(app, '/kill', cookie);
        assert.equal(kill.status, 200);
        assert.equal(kill.body, 'killed');
        assert.match(kill.setCookies[0] ?? '', /^webpy_session_id=;.*Max-Age=0/i);
        assert.equal(memory.size, 0);
        assert.equal((await get(app, '/', cookie)).body, LOGGED_OUT);
        assert.equal(memory.size, 0);
      });
    });

    it('cache headers: Cache-Control private, no-store with the cookie; Vary: Cookie when the session was read', async () => {
      await withApp(name, {}, async ({ app }) => {
        const first = await get(app, '/');
        assert.equal(first.body, LOGGED_OUT);
        assert.deepEqual(first.setCookies, []);
        assert.match(first.vary ?? '', /\bCookie\b/i, 'the page read the session: Vary: Cookie');
        assert.doesNotMatch(first.cacheControl ?? '', /no-store/, 'no cookie: no no-store');
        assert.equal((first.vary ?? '').match(/cookie/gi)?.length, 1, 'Cookie named once');

        const login = await get(app, '/login');
        const cookie = cookieOf(login);
        assert.equal(login.cacheControl, 'private, no-store');

        const again = await get(app, '/', cookie);
        assert.equal(again.body, LOGGED_IN);
        assert.deepEqual(again.setCookies, []);
        assert.match(again.vary ?? '', /\bCookie\b/i);
        const count = await get(app, '/count', cookie);
        assert.equal(count.body, '1');
        assert.match(count.vary ?? '', /\bCookie\b/i, 'update() answers the data: Vary: Cookie');

        const kill = await get(app, '/kill', cookie);
        assert.match(kill.setCookies[0] ?? '', /Max-Age=0/i);
        assert.equal(kill.cacheControl, 'private, no-store', 'the expiring cookie too');
      });
    });

    it('cache headers: a page built from getUser(), isNew or id varies on Cookie', async () => {
      await withApp(
        name,
        {},
        async ({ app }) => {
          const cookie = cookieOf(await get(app, '/login-as'));
          for (const path of ['/user', '/is-new', '/id']) {
            for (const [who, header] of [
              ['a visitor', undefined],
              ['a user', cookie],
            ] as const) {
              const page = await get(app, path, header);
              assert.equal(page.status, 200, `${path} for ${who}`);
              assert.match(page.vary ?? '', /\bCookie\b/i, `${path} for ${who}: Vary: Cookie`);
            }
          }
          assert.equal((await get(app, '/user', cookie)).body, FEATURE_USER);
        },
        'features',
      );
    });

    it('the session cookie is read in the one spelling we write: quoted or percent-encoded is no session', async () => {
      await withApp(name, {}, async ({ app }) => {
        const cookie = cookieOf(await get(app, '/login'));
        const value = cookie.slice(cookie.indexOf('=') + 1);
        assert.equal((await get(app, '/', cookie)).body, LOGGED_IN);
        const encoded = `%${value.charCodeAt(0).toString(16)}${value.slice(1)}`;
        for (const spelled of [`"${value}"`, encoded])
          assert.equal(
            (await get(app, '/', `webpy_session_id=${spelled}`)).body,
            LOGGED_OUT,
            spelled,
          );
      });
    });

    it('two session cookies (one planted, unknown): the live one is used whatever their order', async () => {
      await withApp(name, {}, async ({ app }) => {
        const real = cookieOf(await get(app, '/login'));
        const planted = `webpy_session_id=${'ab'.repeat(32)}`;
        for (const header of [`${planted}; ${real}`, `${real}; ${planted}`]) {
          const page = await get(app, '/', header);
          assert.equal(page.body, LOGGED_IN, header);
          assert.deepEqual(page.setCookies, []);
        }
      });
    });

    it('cookie attributes: HttpOnly, SameSite=Lax, Path=/, no Secure over http, a 256-bit id', async () => {
      await withApp(name, {}, async ({ app }) => {
        const login = await get(app, '/login');
        const [pair, ...attrs] = (login.setCookies[0] ?? '').split(';').map((s) => s.trim());
        assert.match(pair!, /^webpy_session_id=[0-9a-f]{64}$/);
        const lower = attrs.map((a) => a.toLowerCase());
        assert.ok(lower.includes('httponly'), `HttpOnly in ${login.setCookies[0]}`);
        assert.ok(lower.includes('samesite=lax'), `SameSite=Lax in ${login.setCookies[0]}`);
        assert.ok(lower.includes('path=/'), `Path=/ in ${login.setCookies[0]}`);
        assert.ok(!lower.includes('secure'), `no Secure over http in ${login.setCookies[0]}`);
        assert.ok(
          !lower.some(
            (a) => a.startsWith('domain=') || a.startsWith('max-age=') || a.startsWith('expires='),
          ),
        );
      });
    });

    for (const [what, header] of BAD_COOKIES) {
      it(`a bad cookie (${what}) is no session: 200, nothing stored, never adopted`, async () => {
        await withApp(name, {}, async ({ memory, app }) => {
          const page = await get(app, '/', header);
          assert.equal(page.status, 200);
          assert.equal(page.body, LOGGED_OUT);
          assert.deepEqual(page.setCookies, []);
          assert.equal(memory.size, 0);
          const login = await get(app, '/login', header);
          assert.equal(login.status, 303);
          const cookie = cookieOf(login);
          assert.match(cookie, /^webpy_session_id=[0-9a-f]{64}$/);
          assert.ok(!header.includes(cookie), 'the client-chosen id was adopted');
          assert.equal(memory.size, 1);
        });
      });
    }

    it('a visitor who got no data gets no cookie and no stored record', async () => {
      await withApp(name, {}, async ({ memory, spy, app }) => {
        for (let i = 0; i < 3; i++) {
          const page = await get(app, '/');
          assert.equal(page.body, LOGGED_OUT);
          assert.deepEqual(page.setCookies, []);
        }
        assert.equal(memory.size, 0);
        assert.equal(spy.count(), 0, 'the store was never called');
      });
    });

    it('a thrown error still commits what the handler set before it', async () => {
      await withApp(name, {}, async ({ memory, spy, app }) => {
        const cookie = cookieOf(await get(app, '/login'));
        const boom = await FRAMEWORKS[name]!.boom(spy, { cleanup_interval: 0 });
        try {
          await getBoom(name, boom, cookie);
        } finally {
          await boom.close();
        }
        assert.deepEqual(await stored(memory, cookie), { logged_in: true, boom: BOOM_VALUE });
        assert.equal((await get(app, '/', cookie)).body, LOGGED_IN);
      });
    });

    it('a store outage is a 503 with a clear body, at load and at commit, and the app recovers', async () => {
      await withApp(name, {}, async ({ spy, app, logged }) => {
        const cookie = cookieOf(await get(app, '/login'));
        spy.fail = new StoreUnavailableError('memory', 'down for the test');
        const atLoad = await get(app, '/', cookie);
        assert.equal(atLoad.status, 503);
        assert.equal(atLoad.body, STORE_UNAVAILABLE_BODY);
        const atCommit = await get(app, '/login');
        assert.deepEqual(
          logged,
          ['[websession] [memory] down for the test'],
          'the outage is reported once, by its message; the next failure is counted, not printed',
        );
        assert.equal(atCommit.status, 503, 'a failed save is not answered as a success');
        assert.equal(atCommit.body, STORE_UNAVAILABLE_BODY);
        assert.deepEqual(atCommit.setCookies, [], 'no cookie for a session that was not stored');
        assert.equal(atCommit.location, null, "the redirect's Location is not kept on the 503");
        spy.fail = undefined;
        assert.equal((await get(app, '/', cookie)).body, LOGGED_IN);
      });
    });

    it('a store failure inside a handler (session.update rejects) is a 503 with the same body, and the app recovers', async () => {
      await withApp(name, {}, async ({ spy, app, logged }) => {
        const cookie = cookieOf(await get(app, '/login'));
        // The load succeeds; the update of /count, inside the handler, fails.
        const realUpdate = spy.update;
        spy.update = () => Promise.reject(new StoreUnavailableError('memory', 'update down'));
        try {
          const { result: failed, printed } = await captureConsole(() =>
            get(app, '/count', cookie),
          );
          assert.equal(failed.status, 503);
          assert.equal(failed.body, STORE_UNAVAILABLE_BODY);
          // Reported by the library through the manager's logger; on Hono also by its default
          // error handler. The Express examples answer through their own error middleware,
          // which reports nothing.
          const reported = [...logged, ...printed];
          assert.ok(
            reported.every((line) =>
              /^(StoreUnavailableError: )?\[websession\] \[memory\] update down/.test(line),
            ),
            JSON.stringify(reported),
          );
          assert.equal(reported.length > 0, !name.startsWith('express'), JSON.stringify(reported));
        } finally {
          spy.update = realUpdate;
        }
        assert.equal((await get(app, '/count', cookie)).body, '1');
        assert.equal((await get(app, '/', cookie)).body, LOGGED_IN);
      });
    });

    it('an expired session with ignore_expiry false is answered 200 expired_message and its cookie cleared', async () => {
      await withApp(name, { ignore_expiry: false }, async ({ app }) => {
        const answer = await get(app, '/', `webpy_session_id=${'cd'.repeat(32)}`);
        assert.equal(answer.status, 200);
        assert.equal(answer.body, 'Session expired');
        assert.match(answer.setCookies[0] ?? '', /^webpy_session_id=;.*Max-Age=0/i);
        assert.equal(answer.cacheControl, 'private, no-store', 'it clears the cookie');
        assert.match(answer.vary ?? '', /\bCookie\b/i, 'it depends on the cookie');
      });
    });

    it('client IP and scheme: the socket peer, or X-Forwarded-For/-Proto only with trust_proxy', async (t) => {
      const forwarded = { 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https' };
      const login = async (app: Running) => {
        const res = await fetch(`${app.url}/login`, { redirect: 'manual', headers: forwarded });
        return res.headers.getSetCookie()[0] ?? '';
      };
      const metaIp = async (memory: MemoryStore, setCookie: string) => {
        const id = setCookie.split(';')[0]!.split('=')[1]!;
        const record = await memory.get(storeKey(id));
        return record && decodePayload(record.data).meta.ip;
      };
      await withApp(name, {}, async ({ memory, app }) => {
        const setCookie = await login(app);
        assert.equal(await metaIp(memory, setCookie), '127.0.0.1');
        assert.doesNotMatch(
          setCookie,
          /;\s*secure/i,
          'an untrusted X-Forwarded-Proto must not set Secure',
        );
      });
      // The web layer reads the proxy setting from web.config (per app, as web.py's ctx.ip).
      if (name === 'web' && !('trust_proxy' in web.config)) {
        t.diagnostic('this web layer has no web.config.trust_proxy: trusted half skipped');
        return;
      }
      const saved = web.config.trust_proxy;
      if (name === 'web') web.config.trust_proxy = true;
      try {
        await withApp(name, { trust_proxy: true }, async ({ memory, app }) => {
          const setCookie = await login(app);
          assert.equal(await metaIp(memory, setCookie), '203.0.113.7');
          assert.match(setCookie, /;\s*secure/i);
        });
      } finally {
        if (name === 'web') web.config.trust_proxy = saved;
      }
    });

    it('a session bound to a user lists the User-Agent and client IP it was created with', async () => {
      const userAgent = 'conformance-test/1.0 (websession)';
      await withApp(
        name,
        {},
        async ({ memory, app }) => {
          const login = await get(app, '/login-as', undefined, {
            headers: { 'user-agent': userAgent },
          });
          assert.equal(login.status, 200);
          const cookie = cookieOf(login);
          const manager = new SessionManager(memory, { cleanup_interval: 0 });
          const sessions = await manager.listUserSessions(FEATURE_USER);
          assert.equal(sessions.length, 1);
          assert.equal(sessions[0]!.key, storeKey(cookie.slice(cookie.indexOf('=') + 1)));
          assert.equal(sessions[0]!.userAgent, userAgent);
          assert.equal(sessions[0]!.ip, '127.0.0.1');
        },
        'features',
      );
    });

    it('a change after the response started is dropped without a throw, logged once, not saved', async () => {
      const warnings: string[] = [];
      await withApp(
        name,
        { logger: { warn: (message) => warnings.push(message) } },
        async ({ app, memory }) => {
          LATE_OUTCOMES.length = 0;
          const first = await get(app, '/late');
          assert.equal(first.body, 'ok');
          const second = await get(app, '/late');
          for (let i = 0; i < 100 && LATE_OUTCOMES.length < 2; i++) await sleep(10);
          assert.equal(LATE_OUTCOMES.length, 2);
          assert.deepEqual(LATE_OUTCOMES, ['dropped', 'dropped']);
          const late = warnings.filter((w) => w.includes('after its response started'));
          assert.equal(late.length, 1, 'logged once');
          assert.deepEqual(await stored(memory, cookieOf(first)), { early: true });
          assert.deepEqual(await stored(memory, cookieOf(second)), { early: true });
        },
        'features',
      );
    });

    it('a flash message: POST sets it and answers 303, the next GET shows it, the one after nothing', async () => {
      await withApp(
        name,
        {},
        async ({ app }) => {
          const posted = await get(app, '/flash', undefined, { method: 'POST' });
          assert.equal(posted.status, 303);
          assert.match(posted.location ?? '', /\/show$/);
          const cookie = cookieOf(posted);
          const shown = await get(app, '/show', cookie);
          assert.equal(shown.status, 200);
          assert.deepEqual(JSON.parse(shown.body), { notice: [FLASH_MESSAGE] });
          const again = await get(app, '/show', cookie);
          assert.equal(again.status, 200);
          assert.deepEqual(JSON.parse(again.body), {}, 'a flash message is shown once');
        },
        'features',
      );
    });

    it('/metrics after a login counts the created session and has store latency histograms', async () => {
      await withApp(name, {}, async ({ app }) => {
        assert.equal((await get(app, '/login')).status, 303);
        const res = await fetch(`${app.url}/metrics`);
        assert.equal(res.status, 200);
        assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
        const text = await res.text();
        const value = (pattern: RegExp): number => {
          const m = pattern.exec(text);
          assert.ok(m, `${pattern} in:\n${text}`);
          return Number(m[1]);
        };
        assert.ok(value(/^websession_events_total\{event="created",store="memory"\} (\d+)$/m) >= 1);
        assert.ok(
          value(
            /^websession_store_seconds_bucket\{op="created",store="memory",le="\+Inf"\} (\d+)$/m,
          ) >= 1,
        );
        assert.ok(
          value(/^websession_store_seconds_count\{op="created",store="memory"\} (\d+)$/m) >= 1,
        );
        assert.match(
          text,
          /^websession_store_seconds_sum\{op="created",store="memory"\} [0-9.e-]+$/m,
        );
        assert.match(text, /^# TYPE websession_store_seconds histogram$/m);
      });
    });

    it('64 parallel /count of one session end at 64', async () => {
      await withApp(name, {}, async ({ memory, app }) => {
        const cookie = cookieOf(await get(app, '/login'));
        const answers = await Promise.all(
          Array.from({ length: 64 }, () => get(app, '/count', cookie)),
        );
        assert.ok(answers.every((a) => a.status === 200));
        const counts = answers.map((a) => Number(a.body)).sort((a, b) => a - b);
        assert.deepEqual(
          counts,
          Array.from({ length: 64 }, (_, i) => i + 1),
        );
        assert.deepEqual(await stored(memory, cookie), { logged_in: true, count: 64 });
      });
    });
  });
}
