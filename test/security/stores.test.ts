// Issue 6 on every store, through the web layer and Express, over real HTTP on loopback: each
// test names the threat of SECURITY.md it covers. The store × framework suites run concurrently
// (their waits overlap), the tests inside one suite one after another.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import {
  decodePayload,
  generateSessionId,
  type SessionConfig,
  SessionManager,
  type Store,
  storeKey,
} from 'websession';
import { session as expressSession, sessionOf } from 'websession/express';
import * as web from 'websession/web';
import { recordConsole } from '../helpers/console-capture.js';
import { httpGet, liveCookie } from '../helpers/http-client.js';
import { SpyStore } from '../helpers/spy-store.js';
import { type MadeStore, type StoreKind, storeKinds } from '../helpers/stores.js';

type Data = { user: string; count: number; late: string; blob: string; [k: string]: unknown };
type Config = SessionConfig<Data>;
type Framework = 'web' | 'express';

const COOKIE = 'webpy_session_id';
const K1 = 'first secret key, at least 32 characters long';
const K2 = 'second secret key, at least 32 characters long';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// Errors the web layer and the adapters print on purpose here (a 500 for a session over
// max_size, the 503s of a hanging store, the store's own command timeout among them) are
// recorded instead of printed, and tests look for their own: each suite uses its own max_size
// and store_timeout values, so the messages tell suites apart. Any other line fails the file.
const printed = recordConsole(/over the limit of 1\d{3} \(max_size\)|timed out/).lines;

/** Lets a test hold `/slow` after it loaded its session, and release it later. */
class SlowGate {
  #gate: Promise<void> = Promise.resolve();
  #entered: () => void = () => {};
  async pass(): Promise<void> {
    this.#entered();
    await this.#gate;
  }
  hold(): { entered: Promise<void>; release: () => void } {
    let release!: () => void;
    this.#gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const entered = new Promise<void>((resolve) => {
      this.#entered = resolve;
    });
    return { entered, release };
  }
}

interface App {
  url: string;
  manager: SessionManager<Data>;
  slow: SlowGate;
  close(): Promise<void>;
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    );
  });
}

const BIG = 'x'.repeat(8000);
/**
 * For the parallel tests: 64 updates of one session wait for each other's lock, and the last
 * one's store call (timed from when it was asked) may take seconds on a loaded machine. They
 * test for lost updates, not for speed.
 */
const UNHURRIED: Config = { store_timeout: 30_000 };

/** The same routes on the web layer and on Express. */
async function startApp(framework: Framework, store: Store, config: Config): Promise<App> {
  const slow = new SlowGate();
  const full: Config = { cleanup_interval: 0, ...config };
  let manager: SessionManager<Data>;
  let server: Server;
  if (framework === 'web') {
    const urls = ['/login', 'Login', '/who', 'Who', '/count', 'Count', '/set/(\\w+)', 'SetKey'];
    urls.push('/slow', 'Slow', '/slowlogin', 'SlowLogin', '/logout', 'Logout', '/big', 'Big');
    const app = web.application(urls, () => ({
      Login,
      Who,
      Count,
      SetKey,
      Slow,
      SlowLogin,
      Logout,
      Big,
    }));
    const session = web.session.Session<Data>(app, store, null, full);
    class Login {
      GET() {
        session.user = web.input().user ?? 'ann';
        session.regenerate();
        return 'ok';
      }
    }
    class Who {
      GET() {
        return session.get('user', 'nobody');
      }
    }
    class Count {
      async GET() {
        const data = await session.update((s) => {
          s.count = (s.count ?? 0) + 1;
        });
        return String(data.count);
      }
    }
    class SetKey {
      GET(name: string) {
        session[name] = true;
        return 'ok';
      }
    }
    class Slow {
      async GET() {
        await slow.pass();
        session.late = 'write';
        return 'slow done';
      }
    }
    class SlowLogin {
      async GET() {
        await slow.pass();
        session.late = 'regenerated';
        session.regenerate();
        return 'slow login done';
      }
    }
    class Logout {
      GET() {
        session.kill();
        return 'bye';
      }
    }
    class Big {
      GET() {
        session.blob = BIG;
        return 'big';
      }
    }
    manager = session.manager;
    server = createServer(app.listener());
  } else {
    manager = new SessionManager<Data>(store, full);
    const app = express();
    app.use(expressSession(manager));
    app.get('/login', (req, res) => {
      const s = sessionOf<Data>(req);
      s.user = typeof req.query.user === 'string' ? req.query.user : 'ann';
      s.regenerate();
      res.send('ok');
    });
    app.get('/who', (req, res) => {
      res.send(sessionOf<Data>(req).get('user', 'nobody'));
    });
    app.get('/count', async (req, res) => {
      const data = await sessionOf<Data>(req).update((s) => {
        s.count = (s.count ?? 0) + 1;
      });
      res.send(String(data.count));
    });
    app.get('/set/:name', (req, res) => {
      sessionOf<Data>(req)[req.params.name] = true;
      res.send('ok');
    });
    app.get('/slow', async (req, res) => {
      await slow.pass();
      sessionOf<Data>(req).late = 'write';
      res.send('slow done');
    });
    app.get('/slowlogin', async (req, res) => {
      await slow.pass();
      const s = sessionOf<Data>(req);
      s.late = 'regenerated';
      s.regenerate();
      res.send('slow login done');
    });
    app.get('/logout', (req, res) => {
      sessionOf(req).kill();
      res.send('bye');
    });
    app.get('/big', (req, res) => {
      sessionOf<Data>(req).blob = BIG;
      res.send('big');
    });
    server = createServer(app);
  }
  const url = await listen(server);
  return {
    url,
    manager,
    slow,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await manager.close();
    },
  };
}

/** A GET answered, with the session cookie it set (not an expired one), if any. */
async function get(app: App, path: string, cookie?: string, localAddress?: string) {
  const answer = await httpGet(app.url + path, { cookie, localAddress });
  return { ...answer, cookie: liveCookie(answer, COOKIE) };
}

/**
 * A GET sent from another loopback source address (127.0.0.2: Linux routes all of 127/8 to lo),
 * so the server sees a different client IP on a real socket, no proxy header involved.
 */
const getFrom = (app: App, path: string, cookie: string, from: string) =>
  get(app, path, cookie, from);

/** The session id a `name=value` cookie carries (without its signature). */
const idOf = (cookie: string) => cookie.slice(COOKIE.length + 1).split('.')[0]!;
const keyOf = (cookie: string) => storeKey(idOf(cookie));

/** The stored data of the session a cookie names, read from the store itself. */
async function stored(store: Store, cookie: string): Promise<Record<string, unknown> | undefined> {
  const record = await store.get(keyOf(cookie));
  return record && decodePayload(record.data).data;
}

/** Waits (bounded) until `check` holds; for work the server finishes after it answered. */
async function eventually(check: () => Promise<boolean>, what: string, ms = 3000) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) assert.fail(`not within ${ms} ms: ${what}`);
    await sleep(25);
  }
}

async function login(app: App, user = 'ann', cookie?: string): Promise<string> {
  const answer = await get(app, `/login?user=${user}`, cookie);
  assert.equal(answer.status, 200, answer.body);
  assert.ok(answer.cookie, 'login sets the session cookie');
  return answer.cookie;
}

const kinds = await storeKinds();
const frameworks: Framework[] = ['web', 'express'];

// Two rounds, each running every store × framework suite at once: first the busy tests, then
// those that mostly wait (timeouts, a hanging store), on warm stores and a quiet process, so that
// their checks before a deadline are not slowed by the load of the others.
type Phase = 'waits' | 'work';
for (const phase of ['work', 'waits'] as const) {
  const title =
    phase === 'waits'
      ? 'security on every store, through the web layer and Express: timeouts and hangs'
      : 'security on every store, through the web layer and Express';
  describe(title, { concurrency: true }, () => {
    let suiteNo = 0;
    for (const kind of kinds) {
      for (const framework of frameworks) suite(kind, framework, ++suiteNo, phase);
    }
  });
}

function suite(kind: StoreKind, framework: Framework, n: number, phase: Phase): void {
  // The two tests of the waits round use stores of their own and may overlap; the work round's
  // run one after another.
  const concurrency = phase === 'waits' ? 2 : 1;
  describe(`${kind.name} through ${framework}`, { skip: kind.skip, concurrency }, () => {
    /** Declares a test in its round only. */
    const test = (round: Phase, name: string, fn: () => Promise<void>) => {
      if (round === phase) it(name, fn);
    };
    let made: MadeStore;
    /** The raw store: what tests read and corrupt behind the app's back. */
    let store: Store;
    const apps: App[] = [];
    const start = async (config: Config = {}, on: Store = store) => {
      const app = await startApp(framework, on, config);
      apps.push(app);
      return app;
    };
    before(async () => {
      made = await kind.make();
      store = made.store;
    });
    after(async () => {
      for (const app of apps) await app.close();
      await made?.teardown();
    });

    test('work', 'fixation: login regenerates (new id, old record gone, data kept)', async () => {
      const app = await start();
      const first = await get(app, '/set/k0');
      assert.ok(first.cookie, 'a session with data gets a cookie');
      assert.deepEqual(await stored(store, first.cookie), { k0: true });
      const after = await login(app, 'ann', first.cookie);
      assert.notEqual(idOf(after), idOf(first.cookie), 'a new id at login');
      assert.equal(await store.get(keyOf(first.cookie)), undefined, 'the old record is gone');
      assert.deepEqual(await stored(store, after), { k0: true, user: 'ann' }, 'data kept');
      const old = await get(app, '/who', first.cookie);
      assert.equal(old.body, 'nobody', 'the old id is dead');
      assert.equal((await get(app, '/who', after)).body, 'ann');
    });

    test('work', 'timing: the store holds the SHA-256 of the id, never the id itself', async () => {
      const app = await start();
      const cookie = await login(app, 'ann');
      const keys: string[] = [];
      for await (const key of store.keys()) keys.push(key);
      assert.ok(keys.includes(keyOf(cookie)), 'stored under the hash of the id');
      assert.ok(!keys.includes(idOf(cookie)), 'the id itself is no store key');
      assert.equal(await store.get(idOf(cookie)), undefined, 'nothing found under the id');
    });

    test(
      'work',
      'fixation: a well-formed id that is not in the store is never adopted',
      async () => {
        const app = await start();
        const planted = `${COOKIE}=${generateSessionId()}`;
        const page = await get(app, '/who', planted);
        assert.equal(page.body, 'nobody');
        assert.deepEqual(page.setCookies, [], 'no cookie for a visitor without data');
        const cookie = await login(app, 'ann', planted);
        assert.notEqual(idOf(cookie), idOf(planted), 'the planted id was adopted');
        assert.equal(await store.get(keyOf(planted)), undefined, 'nothing stored under it');
        assert.equal((await get(app, '/who', cookie)).body, 'ann');
      },
    );

    test(
      'work',
      'forgery: a forged signed cookie makes no store call; rotation re-signs with the newest key',
      async () => {
        const spy = new SpyStore(store);
        const old = await start({ secret_key: K1 }, spy);
        const cookie = await login(old, 'ann');
        assert.match(cookie, /^webpy_session_id=[0-9a-f]{64}\.[\w-]{43}$/);
        const id = idOf(cookie);
        const sig = cookie.slice(cookie.indexOf('.') + 1);
        const other = await login(old, 'bob');
        const flipped = `${sig.slice(0, 10)}${sig[10] === 'A' ? 'B' : 'A'}${sig.slice(11)}`;
        const forged = [
          `${COOKIE}=${id}`, // unsigned
          `${COOKIE}=${id}.${flipped}`, // tampered signature
          `${COOKIE}=${id}.${other.slice(other.indexOf('.') + 1)}`, // another id's signature
          `${COOKIE}=${idOf(other).replace(/^./, (c) => (c === 'a' ? 'b' : 'a'))}.${other.slice(other.indexOf('.') + 1)}`,
        ];
        spy.reset();
        for (const header of forged) {
          const page = await get(old, '/who', header);
          assert.equal(page.status, 200);
          assert.equal(page.body, 'nobody', header);
        }
        assert.equal(spy.count(), 0, 'no store call for a forged cookie');

        const rotated = await start({ secret_key: [K2, K1] }, spy);
        const page = await get(rotated, '/who', cookie);
        assert.equal(page.body, 'ann', 'a cookie signed with an older key is accepted');
        assert.ok(page.cookie, 're-signed');
        assert.equal(idOf(page.cookie), id, 'same id');
        assert.notEqual(page.cookie, cookie, 'signed with the newest key');
        const newest = await start({ secret_key: K2 }, spy);
        assert.equal((await get(newest, '/who', page.cookie)).body, 'ann');
        spy.reset();
        assert.equal((await get(newest, '/who', cookie)).body, 'nobody', 'K1 is retired');
        assert.equal(spy.count(), 0);
      },
    );

    test(
      'waits',
      'timeouts: idle timeout and absolute lifetime are enforced by the server, whatever the cookie says',
      async () => {
        // Each on its own store instance: RedisStore takes its TTL from the manager's timeout.
        const idleStore = await kind.make();
        try {
          const reasons: string[] = [];
          const idleApp = await start({ timeout: 3 }, idleStore.store);
          const lifeApp = await start({ lifetime: 3, cookie_max_age: 3600 });
          for (const app of [idleApp, lifeApp])
            app.manager.on('expired', (e) => reasons.push(`${app === idleApp}:${e.reason}`));
          const idle = async () => {
            const cookie = await login(idleApp);
            assert.equal((await get(idleApp, '/who', cookie)).body, 'ann');
            // MySQL's DATETIME rounds atime to the second: wait past the timeout plus that.
            await sleep(3800);
            assert.equal((await get(idleApp, '/who', cookie)).body, 'nobody');
            await eventually(
              async () => (await idleStore.store.get(keyOf(cookie))) === undefined,
              'the idle record is removed',
            );
            if (!idleStore.store.capabilities.nativeTtl)
              assert.ok(reasons.includes('true:timeout'));
          };
          const life = async () => {
            const first = await get(lifeApp, '/login');
            assert.ok(first.cookie);
            assert.match(first.setCookies[0]!, /Max-Age=3600/, 'the cookie claims an hour');
            const record = await store.get(keyOf(first.cookie));
            assert.ok(record);
            const created = decodePayload(record.data).meta.created;
            assert.equal((await get(lifeApp, '/who', first.cookie)).body, 'ann');
            await sleep(created + 3300 - Date.now());
            const late = await get(lifeApp, '/who', first.cookie);
            assert.equal(late.body, 'nobody', 'over the lifetime though active and within timeout');
            assert.ok(reasons.includes('false:lifetime'), reasons.join());
            await eventually(
              async () => (await store.get(keyOf(first.cookie!))) === undefined,
              'the record past its lifetime is removed',
            );
          };
          // Both to the end (nothing of either left running after the test), then any failure.
          for (const result of await Promise.allSettled([idle(), life()]))
            if (result.status === 'rejected') throw result.reason;
        } finally {
          await idleStore.teardown();
        }
      },
    );

    test(
      'work',
      'lost updates: 64 parallel /count of one session end at 64 (session.update)',
      async () => {
        const app = await start(UNHURRIED);
        const cookie = await login(app);
        const answers = await Promise.all(
          Array.from({ length: 64 }, () => get(app, '/count', cookie)),
        );
        assert.deepEqual(
          answers.map((a) => a.status),
          answers.map(() => 200),
        );
        assert.deepEqual(
          answers.map((a) => Number(a.body)).sort((a, b) => a - b),
          Array.from({ length: 64 }, (_, i) => i + 1),
        );
        assert.equal((await stored(store, cookie))?.count, 64);
      },
    );

    test(
      'work',
      'lost updates: 20 parallel requests each setting a different key leave all 20',
      async () => {
        const app = await start(UNHURRIED);
        const cookie = await login(app);
        const answers = await Promise.all(
          Array.from({ length: 20 }, (_, i) => get(app, `/set/k${i}`, cookie)),
        );
        assert.ok(answers.every((a) => a.status === 200));
        const data = await stored(store, cookie);
        for (let i = 0; i < 20; i++) assert.equal(data?.[`k${i}`], true, `k${i}`);
        assert.equal(data?.user, 'ann');
      },
    );

    test(
      'work',
      'revival: a slow request started before logout finishes after it, and the session stays dead',
      async () => {
        const app = await start();
        const cookie = await login(app);
        const hold = app.slow.hold();
        const slow = get(app, '/slow', cookie);
        await hold.entered;
        assert.equal((await get(app, '/logout', cookie)).body, 'bye');
        hold.release();
        const late = await slow;
        assert.equal(late.status, 200);
        assert.equal(late.body, 'slow done');
        assert.equal(late.cookie, undefined, 'no cookie for a dead session');
        assert.equal(await store.get(keyOf(cookie)), undefined, 'not revived');
        assert.equal((await get(app, '/who', cookie)).body, 'nobody');
      },
    );

    test(
      'work',
      'revival: a slow request started before a regenerate cannot bring the old id back',
      async () => {
        const app = await start();
        const cookie = await login(app, 'ann');
        const hold = app.slow.hold();
        const slow = get(app, '/slow', cookie);
        await hold.entered;
        const renewed = await login(app, 'bob', cookie);
        hold.release();
        assert.equal((await slow).body, 'slow done');
        assert.equal(await store.get(keyOf(cookie)), undefined, 'the old id stays dead');
        assert.deepEqual(await stored(store, renewed), { user: 'bob' });
        assert.equal((await get(app, '/who', cookie)).body, 'nobody');
      },
    );

    test(
      'work',
      'revival: a slow request that regenerates after a logout does not bring the session back under a new id',
      async () => {
        const spy = new SpyStore(store);
        const app = await start({}, spy);
        const cookie = await login(app);
        const hold = app.slow.hold();
        const slow = get(app, '/slowlogin', cookie);
        await hold.entered;
        assert.equal((await get(app, '/logout', cookie)).body, 'bye');
        spy.reset();
        hold.release();
        const late = await slow;
        assert.equal(late.status, 200);
        assert.equal(late.body, 'slow login done');
        assert.equal(late.cookie, undefined, 'no cookie for a dead session');
        assert.equal(await store.get(keyOf(cookie)), undefined, 'the old id stays dead');
        const written = spy.calls.filter((c) => c.op === 'set').map((c) => c.key!);
        for (const key of written)
          assert.equal(await store.get(key), undefined, 'nothing stored under a new id');
        assert.equal((await get(app, '/who', cookie)).body, 'nobody');
      },
    );

    test(
      'work',
      'ip change: ignore_change_ip false ends the session (as web.py, whatever ignore_expiry says); true keeps it',
      async () => {
        const strict = await start({ ignore_change_ip: false, ignore_expiry: true });
        const cookie = await login(strict, 'ann');
        assert.equal((await get(strict, '/who', cookie)).body, 'ann', 'same address: kept');
        const moved = await getFrom(strict, '/who', cookie, '127.0.0.2');
        assert.equal(moved.status, 200);
        assert.equal(moved.body, 'Session expired', "web.py's expired_message");
        assert.ok(
          moved.setCookies.some((c) => /max-age=0/i.test(c)),
          'the cookie is expired',
        );
        await eventually(
          async () => (await store.get(keyOf(cookie))) === undefined,
          'the record is deleted',
        );
        assert.equal((await get(strict, '/who', cookie)).body, 'nobody', 'and stays dead');
        const lenient = await start({ ignore_change_ip: true });
        const kept = await login(lenient, 'bob');
        assert.equal((await getFrom(lenient, '/who', kept, '127.0.0.2')).body, 'bob');
        assert.equal((await get(lenient, '/who', kept)).body, 'bob');
      },
    );

    test(
      'work',
      'flooding: a session over max_size fails at save with a clear error, the previous record intact',
      async () => {
        const limit = 1000 + n; // tells this suite's message from the others'
        const app = await start({ max_size: limit });
        const cookie = await login(app);
        const before = await store.get(keyOf(cookie));
        const big = await get(app, '/big', cookie);
        assert.equal(big.status, 500);
        assert.notEqual(big.body, 'big', 'a failed save is not answered as a success');
        assert.ok(
          printed.some((m) => m.includes(`over the limit of ${limit} (max_size)`)),
          'the error says the session is too large',
        );
        assert.equal((await store.get(keyOf(cookie)))?.data, before?.data, 'record unchanged');
        assert.equal((await get(app, '/who', cookie)).body, 'ann');
      },
    );

    test(
      'work',
      'deserialization: a corrupt record is no session, logged, not fatal, and quarantined',
      async () => {
        const warnings: string[] = [];
        const app = await start({ logger: { warn: (m) => warnings.push(m) } });
        const cookie = await login(app);
        const key = keyOf(cookie);
        await store.set(key, { data: 'garbage{', atime: Date.now() });
        const page = await get(app, '/who', cookie);
        assert.equal(page.status, 200);
        assert.equal(page.body, 'nobody');
        if (store.quarantine) {
          assert.match(warnings.join('\n'), /corrupt session record .*, quarantined/);
          assert.equal(await store.get(key), undefined, 'no longer served');
          assert.equal(await made.quarantined(key), 'garbage{', 'kept aside as it was');
          const listed: string[] = [];
          for await (const k of store.keys()) listed.push(k);
          assert.ok(!listed.some((k) => k.includes(key)), 'not listed as a session');
        } else {
          assert.match(warnings.join('\n'), /corrupt session record .*, left in place/);
          assert.equal((await store.get(key))?.data, 'garbage{');
        }
        const again = await login(app, 'ann', cookie);
        assert.notEqual(idOf(again), idOf(cookie), 'a new session, never the corrupt id');
        assert.equal((await get(app, '/who', again)).body, 'ann');
      },
    );

    test(
      'waits',
      'outage: a store that hangs is answered 503 after store_timeout, then the app recovers',
      async () => {
        const hanging = await kind.hanging();
        let app: App | undefined;
        try {
          // Connected (and its table created) before the deadline applies.
          await eventually(
            () =>
              Promise.resolve(hanging.store.get(storeKey(generateSessionId()))).then(
                () => true,
                () => false,
              ),
            `${kind.name} reachable through the proxy`,
            10_000,
          );
          // Long enough for a first write under the load of the other suites; distinct per
          // suite, so that its message tells it from the others'.
          const ms = 800 + n;
          const warnings: string[] = [];
          app = await start(
            { store_timeout: ms, logger: { warn: (m) => warnings.push(m) } },
            hanging.store,
          );
          const cookie = await login(app);
          hanging.freeze();
          const atLoad = await get(app, '/who', cookie);
          assert.equal(atLoad.status, 503, `${hanging.how}: ${atLoad.body}`);
          const atSave = await get(app, '/login');
          assert.equal(atSave.status, 503);
          assert.equal(atSave.cookie, undefined, 'no cookie for a session that was not stored');
          const said = [...warnings, ...printed].join('\n');
          assert.match(said, new RegExp(`timed out after ${ms} ms`));
          hanging.thaw();
          assert.equal((await get(app, '/who', cookie)).body, 'ann', 'serves again');
          assert.equal((await get(app, '/who', await login(app, 'bob'))).body, 'bob');
        } finally {
          hanging.thaw();
          await app?.close();
          await hanging.teardown();
        }
      },
    );
  });
}
