// websession/express-session with express-session applications: the login / counter / logout /
// remember-me app on a real Express server, the cookie's form and signature, ids that are never
// adopted, parallel requests of one session, callbacks and promises, and require() from CommonJS.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { RequestHandler } from 'express';
import { MemoryStore } from 'websession';
import session, { type ExpressSessionOptions } from 'websession/express-session';
import { CookieClient, httpGet } from '../helpers/http-client.js';
import { createApp, listen, type RunningApp, THIRTY_DAYS_MS } from './app.js';

const SECRET = 'keyboard cat';

const running: RunningApp[] = [];
after(async () => {
  for (const app of running) await app.close();
});

async function start(options: ExpressSessionOptions = {}): Promise<RunningApp> {
  const middleware = session({
    secret: SECRET,
    resave: false,
    saveUninitialized: false,
    ...options,
  }) as unknown as RequestHandler;
  const app = await listen(createApp(middleware));
  running.push(app);
  return app;
}

/** express-session's cookie value for `id` under `secret`: `s:<id>.<base64 HMAC-SHA256>`. */
const signed = (id: string, secret = SECRET) =>
  `s:${id}.${createHmac('sha256', secret).update(id).digest('base64').replace(/=+$/, '')}`;

/** The session id a `connect.sid=…` cookie pair carries. */
const idOf = (pair: string) => /^connect\.sid=s%3A([0-9a-f]{64})\./.exec(pair)?.[1];

describe('websession/express-session: an express-session app', () => {
  it('counts, in a cookie of express-session form signed with the secret', async () => {
    const { url } = await start();
    const browser = new CookieClient();
    assert.equal((await browser.get(`${url}/count`)).body, '1');
    const pair = browser.cookie as string;
    const id = idOf(pair);
    assert.ok(id, `cookie of the form s:<64 hex>.<sig>: ${pair}`);
    assert.equal(decodeURIComponent(pair.slice('connect.sid='.length)), signed(id));
    assert.equal((await browser.get(`${url}/count`)).body, '2');
    assert.equal((await browser.get(`${url}/count`)).body, '3');
  });

  it('logs in with regenerate: a new id, and the old cookie is not logged in', async () => {
    const { url } = await start();
    const browser = new CookieClient();
    await browser.get(`${url}/count`);
    const before = browser.cookie as string;
    const login = await browser.get(`${url}/login?user=ann`);
    assert.equal(login.status, 302);
    const afterLogin = browser.cookie as string;
    assert.notEqual(idOf(afterLogin), idOf(before));
    assert.equal((await browser.get(`${url}/`)).body, 'hello ann');
    assert.equal((await httpGet(`${url}/`, { cookie: before })).body, 'anonymous');
    // regenerate starts an empty session: the count is gone, as in express-session
    assert.equal((await browser.get(`${url}/count`)).body, '1');
  });

  it('logs out with destroy: the cookie is expired and the session is gone', async () => {
    const { url } = await start();
    const browser = new CookieClient();
    await browser.get(`${url}/login?user=bob`);
    const loggedIn = browser.cookie as string;
    const logout = await browser.get(`${url}/logout`);
    assert.equal(logout.status, 302);
    assert.match(logout.setCookies[0] ?? '', /^connect\.sid=;.*Expires=Thu, 01 Jan 1970/);
    assert.equal(browser.cookie, undefined);
    assert.equal((await httpGet(`${url}/`, { cookie: loggedIn })).body, 'anonymous');
  });

  it('remembers a login for 30 days through req.session.cookie.maxAge, and only that one', async () => {
    const { url } = await start({ websession: { timeout: 30 * 86400 } });
    const remembered = new CookieClient();
    const login = await remembered.get(`${url}/login?user=ann&remember=1`);
    const expires = /Expires=([^;]+)/.exec(login.setCookies[0] ?? '')?.[1];
    assert.ok(expires, `a persistent cookie: ${login.setCookies[0]}`);
    const days = (Date.parse(expires) - Date.now()) / 86400_000;
    assert.ok(days > 29.9 && days <= 30, `expires in 30 days, not ${days}`);
    // The lifetime is the session's own: later requests see it, and renew it.
    assert.equal((await remembered.get(`${url}/lifetime`)).body, String(THIRTY_DAYS_MS));
    const counted = await remembered.get(`${url}/count`);
    const renewed = /Expires=([^;]+)/.exec(counted.setCookies[0] ?? '')?.[1];
    assert.ok(renewed && Date.parse(renewed) - Date.now() > 29.9 * 86400_000, String(renewed));

    const once = new CookieClient();
    const plain = await once.get(`${url}/login?user=bob`);
    assert.doesNotMatch(plain.setCookies[0] ?? '', /Expires=/, 'a browser-session cookie');
    assert.equal((await once.get(`${url}/lifetime`)).body, 'null');
  });

  it('never adopts an id it did not issue, even signed with the secret', async () => {
    const { url } = await start();
    const planted = 'a'.repeat(64);
    const answer = await httpGet(`${url}/count`, {
      cookie: `connect.sid=${encodeURIComponent(signed(planted))}`,
    });
    assert.equal(answer.body, '1');
    const id = idOf(answer.setCookies[0] ?? '');
    assert.ok(id);
    assert.notEqual(id, planted);
    // A wrong signature is as no cookie.
    const forged = await httpGet(`${url}/count`, {
      cookie: `connect.sid=${encodeURIComponent(signed(id, 'another secret'))}`,
    });
    assert.equal(forged.body, '1');
    assert.notEqual(idOf(forged.setCookies[0] ?? ''), id);
  });

  it('verifies with every secret and signs with the first', async () => {
    // Two apps over one store: the second has a new secret first and the old one after it.
    const store = new MemoryStore();
    const before = await start({ secret: 'old secret', store });
    const rotated = await start({ secret: ['new secret', 'old secret'], store });
    const client = new CookieClient();
    await client.get(`${before.url}/count`);
    assert.equal((await client.get(`${rotated.url}/count`)).body, '2');
    const login = await httpGet(`${rotated.url}/login?user=ann`);
    const pair = (login.setCookies[0] ?? '').split(';')[0] as string;
    const id = idOf(pair) as string;
    assert.equal(decodeURIComponent(pair.slice('connect.sid='.length)), signed(id, 'new secret'));
  });

  it("gives 64 parallel counter requests of one session the count 64 (also on express-session's MemoryStore)", async () => {
    for (const store of [undefined, new session.MemoryStore()]) {
      const { url } = await start({ store });
      const browser = new CookieClient();
      await browser.get(`${url}/count`);
      const cookie = browser.cookie as string;
      await Promise.all(
        Array.from({ length: 64 }, () => httpGet(`${url}/count-after-io`, { cookie })),
      );
      assert.equal((await httpGet(`${url}/count`, { cookie })).body, '66');
    }
  });

  it("session.MemoryStore answers after the current call, before the event loop's next turn", async () => {
    const store = new session.MemoryStore();
    const order: string[] = [];
    await new Promise<void>((resolve) => {
      setImmediate(() => {
        order.push('next turn');
        resolve();
      });
      store.set('a', { cookie: { originalMaxAge: null } }, () => {
        order.push('set');
        store.get('a', (err, found) => order.push(`get ${String(!err && found !== undefined)}`));
      });
      order.push('called');
    });
    assert.deepEqual(order, ['called', 'set', 'get true', 'next turn']);
  });

  it('stores nothing and sends no cookie for a visitor nobody wrote to (saveUninitialized unset)', async () => {
    const store = new MemoryStore();
    const { url } = await start({ store, saveUninitialized: undefined });
    const answer = await httpGet(`${url}/`);
    assert.equal(answer.body, 'anonymous');
    assert.deepEqual(answer.setCookies, []);
    assert.equal(store.size, 0);
  });

  it('stores an untouched session when saveUninitialized is true', async () => {
    const store = new MemoryStore();
    const { url } = await start({ store, saveUninitialized: true });
    const answer = await httpGet(`${url}/`);
    assert.ok(idOf(answer.setCookies[0] ?? ''));
    assert.equal(store.size, 1);
  });
});

describe('websession/express-session: session methods', () => {
  it('take a callback (returning the session) or return a promise', async () => {
    const store = new MemoryStore();
    const middleware = session({ secret: SECRET, store }) as unknown as RequestHandler;
    const seen: string[] = [];
    const app = createApp(middleware);
    app.get('/methods', async (req, res) => {
      const s = (req as unknown as { session: import('./app.js').AppSession }).session;
      s.step = 1;
      await s.save();
      seen.push(`saved ${store.size}`);
      s.step = 2;
      const returned = s.save((err) => {
        seen.push(err ? 'error' : 'callback');
        s.step = 3;
        s.reload()
          .then(() => {
            const reloaded = (req as unknown as { session: import('./app.js').AppSession }).session;
            res.send(`${String(returned === s)} ${String(reloaded.step)}`);
          })
          .catch((err2: unknown) => res.status(500).send(String(err2)));
      });
    });
    const server = await listen(app);
    running.push(server);
    const answer = await httpGet(`${server.url}/methods`);
    assert.equal(answer.body, 'true 2');
    assert.deepEqual(seen, ['saved 1', 'callback']);
  });
});

describe('websession/express-session: loading', () => {
  it('require() from CommonJS gives the middleware factory with its classes', async () => {
    const code = `
      const session = require('websession/express-session');
      const { Store, MemoryStore, Session, Cookie } = session;
      class Custom extends Store {}
      function Legacy() { Store.call(this); }
      require('node:util').inherits(Legacy, Store);
      console.log(JSON.stringify([
        typeof session, typeof session({ secret: 'x' }),
        typeof Store, typeof MemoryStore, typeof Session, typeof Cookie,
        new Custom() instanceof require('node:events'), typeof new Legacy().regenerate,
        new MemoryStore() instanceof Store,
      ]));`;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--conditions=websession-src', '--input-type=commonjs', '-e', code],
      { cwd: process.cwd() },
    );
    assert.deepEqual(JSON.parse(stdout), [
      'function',
      'function',
      'function',
      'function',
      'function',
      'function',
      true,
      'function',
      true,
    ]);
  });
});
