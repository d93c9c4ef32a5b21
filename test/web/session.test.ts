// web.py's tests/test_session.py, ported case by case, run on every store that needs no server.
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DiskStore, MemoryStore, type Store, StoreUnavailableError } from 'websession';
import * as web from 'websession/web';
import { captureConsole } from '../helpers/console-capture.js';
import { sessionFiles } from '../helpers/session-files.js';
import { SpyStore } from '../helpers/spy-store.js';
import { storeKinds, storesOf } from '../helpers/stores.js';
import { tempDirs } from '../helpers/temp-dirs.js';

type Data = { count: number; logged_in: boolean };

function makeApp(store: Store, options: web.session.WebSessionOptions<Data> = {}) {
  const urls = [
    '/count',
    'Count',
    '/reset',
    'Reset',
    '/redirect',
    'Redirect',
    '/fail',
    'Fail',
    '/peek',
    'Peek',
  ];
  const app = web.application(urls, () => ({ Count, Reset, Redirect, Fail, Peek }));
  const session = web.session.Session<Data>(
    app,
    store,
    { count: 0 },
    { cleanup_interval: 0, ...options },
  );
  class Count {
    GET() {
      session.count = (session.count ?? 0) + 1;
      return String(session.count);
    }
  }
  class Reset {
    GET() {
      session.kill();
      return '';
    }
  }
  class Redirect {
    GET() {
      session.count = 100;
      throw web.seeother('/count');
    }
  }
  class Fail {
    GET() {
      session.count = 50;
      throw new Error('handler failed after setting data');
    }
  }
  class Peek {
    GET() {
      return String(session.get('count', -1));
    }
  }
  return { app, session };
}

const tempDir = tempDirs('hostile');

for (const kind of await storeKinds('memory', 'disk')) {
  const make = storesOf(kind);
  describe(`web.session on ${kind.name} (web.py parity)`, () => {
    it('testSession: counts per browser', async () => {
      const { app } = makeApp(await make());
      const b = app.browser();
      assert.equal((await b.open('/count')).data, '1');
      assert.equal((await b.open('/count')).data, '2');
      assert.equal((await b.open('/count')).data, '3');
      await b.open('/reset');
      assert.equal((await b.open('/count')).data, '1');
    });

    it('testParallelSessions: two browsers do not share data', async () => {
      const { app } = makeApp(await make());
      const b1 = app.browser();
      const b2 = app.browser();
      await b1.open('/count');
      for (let i = 0; i < 3; i++) {
        assert.equal((await b1.open('/count')).data, String(i + 2));
        assert.equal((await b2.open('/count')).data, String(i + 1));
      }
    });

    it('testBadSessionId: a bad id is replaced, not used', async () => {
      const store = await make();
      const { app } = makeApp(store);
      for (const bad of [
        '/etc/password',
        '../../etc/passwd',
        '"quoted"',
        '%2e%2e%2f',
        'a'.repeat(3000),
        '',
      ]) {
        const b = app.browser();
        b.cookies.set('webpy_session_id', bad);
        assert.equal((await b.open('/count')).data, '1');
        assert.match(b.cookies.get('webpy_session_id') ?? '', /^[0-9a-f]{64}$/);
      }
    });

    it('testRedirect: data set before a redirect is saved', async () => {
      const { app } = makeApp(await make());
      const b = app.browser();
      const r = await b.open('/redirect');
      assert.equal(r.status, '303 See Other');
      assert.equal((await b.open('/count')).data, '101');
    });

    it('a handler error still commits what was set before it (web.py try/finally)', async () => {
      const { app } = makeApp(await make());
      const b = app.browser();
      const { result: failed, printed } = await captureConsole(() => b.open('/fail'));
      assert.equal(failed.statusCode, 500);
      assert.equal(printed.length, 1, 'the error is reported to the server log');
      assert.equal((await b.open('/peek')).data, '50');
    });

    it('a visitor who only reads gets no cookie and no record', async () => {
      const store = await make();
      const { app } = makeApp(store);
      const r = await app.request('/peek');
      assert.equal(r.data, '0', 'initializer data is visible');
      assert.equal(r.headers['Set-Cookie'], undefined);
      const keys: string[] = [];
      for await (const k of store.keys()) keys.push(k);
      assert.deepEqual(keys, []);
    });

    it('answers expired_message (200) for an unknown session when ignore_expiry is false', async () => {
      const { app } = makeApp(await make(), {
        ignore_expiry: false,
        expired_message: 'Session expired',
      });
      const r = await app.request('/count', {
        headers: { cookie: `webpy_session_id=${'ab'.repeat(32)}` },
      });
      assert.equal(r.status, '200 OK');
      assert.equal(r.data, 'Session expired');
      assert.match(r.headers['Set-Cookie'] ?? '', /Max-Age=0/);
    });
  });
}

describe('web.session', () => {
  it('answers 503 when the store is down, then recovers', async () => {
    const store = new SpyStore(new MemoryStore());
    const { app } = makeApp(store);
    const b = app.browser();
    assert.equal((await b.open('/count')).data, '1');
    store.fail = new StoreUnavailableError('memory', 'simulated outage');
    const { result: down, printed } = await captureConsole(() => b.open('/count'));
    assert.equal(down.statusCode, 503);
    assert.match(down.data, /session store is unavailable/);
    assert.deepEqual(printed, ['[websession] [memory] simulated outage']);
    store.fail = undefined;
    assert.equal(
      (await b.open('/count')).data,
      '2',
      'the session saved before the outage is intact',
    );
  });

  it('a second Session(app, …) replaces the processor instead of adding one', async () => {
    const store = new SpyStore(new MemoryStore());
    const { app } = makeApp(store);
    const again = web.session.Session<Data>(app, store, { count: 0 }, { cleanup_interval: 0 });
    const b = app.browser();
    await b.open('/count');
    store.reset();
    await b.open('/peek');
    assert.equal(store.count('get'), 1, 'one load per request');
    void again;
  });

  it('throws a clear error when used outside a request', () => {
    const { session } = makeApp(new MemoryStore());
    assert.throws(() => session.count, /outside of a request/);
    assert.ok(session.store instanceof MemoryStore);
  });

  it('never creates files for hostile cookies, over a real socket', async () => {
    const dir = await tempDir();
    const store = new DiskStore(join(dir, 'sessions'));
    const { app } = makeApp(store);
    const { result: server, printed } = await captureConsole(() => app.run('127.0.0.1:0'));
    const { port } = server.address() as { port: number };
    assert.deepEqual(printed, [`http://127.0.0.1:${port}/`], 'run() prints where it listens');
    try {
      const hostile = [
        'webpy_session_id=../../etc/passwd',
        'webpy_session_id=nothex',
        'webpy_session_id=',
        `webpy_session_id=${'f'.repeat(3000)}`,
        'webpy_session_id=%%%; ;; =; webpy_session_id',
        '\u00ff\u00fegarbled;;;====; webpy_session_id="',
      ];
      for (const cookie of hostile) {
        const answer = await rawGet(port, '/peek', cookie);
        assert.match(answer, /^HTTP\/1\.1 200 OK\r\n/, JSON.stringify(cookie));
        assert.match(answer, /\r\n\r\n0$/);
        assert.doesNotMatch(answer, /set-cookie/i);
      }
      assert.deepEqual(await readdir(dir), ['sessions']);
      assert.deepEqual(await sessionFiles(join(dir, 'sessions')), []);
    } finally {
      server.close();
    }
  });
});

/** A GET over a raw socket, so that any bytes can go into the Cookie header. */
function rawGet(port: number, path: string, cookie: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let out = '';
    socket.setEncoding('latin1');
    socket.on('data', (d) => {
      out += d;
    });
    socket.on('end', () => resolve(out));
    socket.on('error', reject);
    socket.write(
      Buffer.from(
        `GET ${path} HTTP/1.1\r\nHost: x\r\nCookie: ${cookie}\r\nConnection: close\r\n\r\n`,
        'latin1',
      ),
    );
  });
}

describe("web.session: web.py's dict methods and session_id", () => {
  /** An app whose one route runs `fn` in a request and answers its result as JSON. */
  function appRunning(fn: (session: web.session.WebSession) => unknown) {
    const app = web.application(['/', 'Run'], () => ({ Run }));
    const session = web.session.Session(app, new MemoryStore(), null, { cleanup_interval: 0 });
    class Run {
      async GET() {
        return JSON.stringify((await fn(session)) ?? null);
      }
    }
    return { app, session };
  }
  it('setdefault, pop, keys, values, items, copy, clear and update(mapping) as in Python', async () => {
    let step = 0;
    const steps: ((s: web.session.WebSession) => unknown)[] = [
      (s) => [s.setdefault('cart', []), s.setdefault('cart', ['other']), s.keys()],
      (s) => {
        (s.get('cart') as string[]).push('book');
        s.update({ step: 1, flash: 'saved' });
        return [s.items(), s.values(), s.copy()];
      },
      (s) => [s.pop('flash', null), s.pop('flash', null), s.pop('missing'), s.keys()],
      (s) => {
        s.update([['a', 1] as const, ['b', 2] as const]);
        return [s.keys(), 'a' in s, 'flash' in s, s.session_id === s.id];
      },
      (s) => {
        s.clear();
        return [s.keys(), s.copy(), typeof s.session_id];
      },
      (s) => s.keys(),
    ];
    const { app } = appRunning((s) => steps[step++]?.(s));
    const b = app.browser();
    const open = async () => JSON.parse((await b.open('/')).data) as unknown;
    assert.deepEqual(await open(), [[], [], ['cart']]);
    assert.deepEqual(await open(), [
      [
        ['cart', ['book']],
        ['step', 1],
        ['flash', 'saved'],
      ],
      [['book'], 1, 'saved'],
      { cart: ['book'], step: 1, flash: 'saved' },
    ]);
    assert.deepEqual(await open(), ['saved', null, null, ['cart', 'step']]);
    assert.deepEqual(await open(), [['cart', 'step', 'a', 'b'], true, false, true]);
    assert.deepEqual(await open(), [[], {}, 'string']);
    assert.deepEqual(await open(), [], 'clear() was saved');
  });

  it('update(fn) keeps its atomic meaning; update(other) is a TypeError', async () => {
    const { app } = appRunning(async (s) => {
      const after = await s.update((d) => {
        d.count = ((d.count as number | undefined) ?? 0) + 1;
      });
      assert.throws(() => s.update(3 as never), /takes a function .* or an object/);
      assert.throws(() => s.update(null as never), /takes a function .* or an object/);
      return [after.count, s.count];
    });
    const b = app.browser();
    assert.deepEqual(JSON.parse((await b.open('/')).data), [1, 1]);
    assert.deepEqual(JSON.parse((await b.open('/')).data), [2, 2]);
  });

  it('session_id is the id, read-only, and undefined outside a request', async () => {
    const { app, session } = appRunning((s) => {
      assert.throws(() => {
        (s as unknown as Record<string, unknown>).session_id = 'x';
      }, /session\.session_id is read-only/);
      s.regenerate();
      return [s.session_id, s.id];
    });
    assert.equal(session.session_id, undefined);
    const r = await app.request('/');
    const [sessionId, id] = JSON.parse(r.data) as [string, string];
    assert.equal(sessionId, id);
    assert.match(sessionId, /^[0-9a-f]{64}$/);
  });

  it('data keys named like a method are reached with get/set; attribute writes throw', async () => {
    const { app } = appRunning((s) => {
      const loose = s as unknown as Record<string, unknown>;
      for (const name of ['keys', 'pop', 'update', 'get', 'id', 'store', 'data']) {
        assert.throws(
          () => {
            loose[name] = 3;
          },
          new RegExp(`${name}.*session\\.set\\("${name}", value\\)`),
          name,
        );
        assert.throws(
          () => {
            delete loose[name];
          },
          new RegExp(`session\\.delete\\("${name}"\\)`),
          name,
        );
      }
      s.set('keys', 3);
      s.update({ pop: 'corn' });
      return [s.get('keys'), s.get('pop'), 'keys' in s, typeof s.keys, s.keys()];
    });
    assert.deepEqual(JSON.parse((await app.request('/')).data), [
      3,
      'corn',
      true,
      'function',
      ['keys', 'pop'],
    ]);
  });

  it("'key' in session, session['key'], delete session.key and Object.keys keep working", async () => {
    let step = 0;
    const { app } = appRunning((s) => {
      if (step++ === 0) {
        s['logged_in'] = true;
        s.name = 'ada';
        return ['logged_in' in s, s['name'], Object.keys(s), { ...s }];
      }
      delete s.name;
      return ['name' in s, s['name'] ?? null, JSON.parse(JSON.stringify(s))];
    });
    const b = app.browser();
    assert.deepEqual(JSON.parse((await b.open('/')).data), [
      true,
      'ada',
      ['logged_in', 'name'],
      { logged_in: true, name: 'ada' },
    ]);
    assert.deepEqual(JSON.parse((await b.open('/')).data), [false, null, { logged_in: true }]);
  });
});

describe('web.config as web.py storage', () => {
  it('get(key, default) reads a setting or gives the default; get is not a setting', () => {
    assert.equal(web.config.get('_nothing_here'), undefined);
    assert.equal(web.config.get('_nothing_here', 7), 7);
    assert.equal(web.config.get('max_body'), web.config.max_body);
    web.config._probe = null;
    try {
      assert.equal(web.config.get('_probe', 1), null, 'a key set to null is set, as in Python');
    } finally {
      delete web.config._probe;
    }
    assert.ok(!Object.keys(web.config).includes('get'));
  });
});
