// websession/node: the session is committed before the headers go out, whatever way the handler
// writes its response (writeHead, setHeader, streaming, pipe, late writes, throws).
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  decodePayload,
  MemoryStore,
  type Session,
  SessionManager,
  StoreUnavailableError,
  storeKey,
} from 'websession';
import { STORE_UNAVAILABLE_BODY, withSession } from 'websession/node';
import { recordingLogger } from '../helpers/console-capture.js';
import { httpGet } from '../helpers/http-client.js';
import { SpyStore } from '../helpers/spy-store.js';

type Handler = (req: IncomingMessage, res: ServerResponse, session: Session) => unknown;

async function serve(handler: Handler, store = new MemoryStore()) {
  const spy = new SpyStore(store);
  const errors: unknown[] = [];
  const logger = recordingLogger();
  const server = createServer(
    withSession(spy, handler, {
      config: { cleanup_interval: 0, logger },
      onError: (err, _req, res) => {
        errors.push(err);
        if (!res.headersSent) res.writeHead(500).end('failed');
      },
    }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    store,
    spy,
    errors,
    /** What the manager and the adapter reported through the config's logger. */
    warnings: logger.lines,
    async get(path = '/', cookie?: string, method = 'GET') {
      const answer = await httpGet(url + path, { cookie, method });
      return { ...answer, cookies: answer.setCookies };
    },
    async data(cookies: string[]) {
      const session = cookies.find((c) => c.startsWith('webpy_session_id='));
      assert.ok(session, `no session cookie in ${JSON.stringify(cookies)}`);
      const id = session.split(';')[0]!.split('=')[1]!;
      const record = await store.get(storeKey(id));
      return record && decodePayload(record.data).data;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('websession/node: commit before headers', () => {
  it("cache headers: keeps the application's Cache-Control, appends Cookie to its Vary once", async () => {
    const s = await serve((req, res, session) => {
      if (req.url === '/own') {
        session.user = 'ann';
        res.setHeader('Cache-Control', 'no-cache');
        const seen = session.get('user');
        res.writeHead(200, { Vary: 'Accept-Encoding' }).end(String(seen));
      } else if (req.url === '/twice') {
        res.writeHead(200, { Vary: 'accept, Cookie' }).end(String(session.get('user', '-')));
      } else {
        session.user = 'bob';
        res.end('written only');
      }
    });
    try {
      const own = await s.get('/own');
      assert.equal(own.cookies.length, 1);
      assert.equal(own.headers['cache-control'], 'no-cache');
      assert.equal(own.headers['vary'], 'Accept-Encoding, Cookie');
      const twice = await s.get('/twice');
      assert.equal(twice.headers['vary'], 'accept, Cookie');
      assert.equal(twice.headers['cache-control'], undefined);
      const written = await s.get('/write');
      assert.equal(written.headers['cache-control'], 'private, no-store');
      assert.equal(written.headers['vary'], undefined);
    } finally {
      await s.close();
    }
  });

  it('keeps a Set-Cookie given to writeHead as an object, and adds the session cookie', async () => {
    const s = await serve((_req, res, session) => {
      session.user = 'ann';
      res
        .writeHead(200, { 'Set-Cookie': ['theme=dark', 'lang=en'], 'Content-Type': 'text/plain' })
        .end('ok');
    });
    try {
      const r = await s.get();
      assert.equal(r.body, 'ok');
      assert.deepEqual(r.cookies.slice(0, 2), ['theme=dark', 'lang=en']);
      assert.equal(r.cookies.length, 3);
      assert.deepEqual(await s.data(r.cookies), { user: 'ann' });
    } finally {
      await s.close();
    }
  });

  it('keeps the other headers given to writeHead, beside the session cookie and cache headers', async () => {
    const s = await serve((_req, res, session) => {
      session.visits = Number(session.get('visits', 0)) + 1;
      res.writeHead(200, { 'Content-Type': 'text/plain', 'x-app': 'yes' }).end('ok');
    });
    try {
      const r = await s.get();
      assert.equal(r.body, 'ok');
      assert.equal(r.headers['content-type'], 'text/plain');
      assert.equal(r.headers['x-app'], 'yes');
      assert.equal(r.headers['cache-control'], 'private, no-store');
      assert.equal(r.headers['vary'], 'Cookie');
      assert.deepEqual(await s.data(r.cookies), { visits: 1 });
    } finally {
      await s.close();
    }
  });

  it('keeps a Set-Cookie given to writeHead as a raw header array', async () => {
    const s = await serve((_req, res, session) => {
      session.user = 'ann';
      res.setHeader('Set-Cookie', 'replaced=by-writeHead');
      res
        .writeHead(200, [
          'Set-Cookie',
          'theme=dark',
          'Content-Type',
          'text/plain',
          'Set-Cookie',
          'lang=en',
        ])
        .end('ok');
    });
    try {
      const r = await s.get();
      assert.deepEqual(r.cookies.slice(0, 2), ['theme=dark', 'lang=en']);
      assert.equal(r.cookies.length, 3);
      assert.equal(r.headers['content-type'], 'text/plain');
      assert.deepEqual(await s.data(r.cookies), { user: 'ann' });
    } finally {
      await s.close();
    }
  });

  it('keeps a Set-Cookie set with setHeader, and status set with statusCode', async () => {
    const s = await serve((_req, res, session) => {
      session.user = 'bob';
      res.setHeader('Set-Cookie', 'theme=light');
      res.statusCode = 201;
      res.end('created');
    });
    try {
      const r = await s.get();
      assert.equal(r.status, 201);
      assert.equal(r.body, 'created');
      assert.equal(r.cookies[0], 'theme=light');
      assert.deepEqual(await s.data(r.cookies), { user: 'bob' });
    } finally {
      await s.close();
    }
  });

  it('streams: many writes, then end, arrive whole and in order with the cookie', async () => {
    const s = await serve(async (_req, res, session) => {
      session.n = 1;
      for (let i = 0; i < 100; i++) res.write(`${i},`);
      await sleep(5);
      res.end('end');
    });
    try {
      const r = await s.get();
      assert.equal(r.body, `${Array.from({ length: 100 }, (_, i) => `${i},`).join('')}end`);
      assert.deepEqual(await s.data(r.cookies), { n: 1 });
    } finally {
      await s.close();
    }
  });

  it('pipes a 2 MB stream through intact', async () => {
    const chunk = Buffer.alloc(64 * 1024, 'x');
    const s = await serve((_req, res, session) => {
      session.piped = true;
      res.setHeader('Content-Type', 'application/octet-stream');
      Readable.from(Array.from({ length: 32 }, () => chunk)).pipe(res);
    });
    try {
      const r = await s.get();
      assert.equal(r.body.length, 32 * chunk.length);
      assert.deepEqual(await s.data(r.cookies), { piped: true });
    } finally {
      await s.close();
    }
  });

  it('a handler that returns before writing (callback style) commits at return; its late answer has the cookie', async () => {
    const s = await serve((_req, res, session) => {
      session.late = true;
      setTimeout(() => res.end('late'), 20);
    });
    try {
      const r = await s.get();
      assert.equal(r.body, 'late');
      assert.deepEqual(await s.data(r.cookies), { late: true });
    } finally {
      await s.close();
    }
  });

  it('a change after the response started is dropped (no throw), logged once, and not saved', async () => {
    let caught: unknown;
    const s = await serve(async (_req, res, session) => {
      session.before = 1;
      res.write('streaming ');
      try {
        session.after = 2;
      } catch (err) {
        caught = err;
      }
      await sleep(10);
      res.end('done');
    });
    try {
      const r = await s.get();
      assert.equal(r.body, 'streaming done');
      assert.equal(caught, undefined, 'no throw');
      assert.deepEqual(await s.data(r.cookies), { before: 1 });
      assert.deepEqual(s.errors, []);
      assert.equal(s.warnings.length, 1, 'logged once');
      assert.match(s.warnings[0]!, /changed after its response started/);
    } finally {
      await s.close();
    }
  });

  it('a throw before any write commits, then onError answers, with the session cookie', async () => {
    const s = await serve((_req, _res, session) => {
      session.before = 'throw';
      throw new Error('boom');
    });
    try {
      const r = await s.get();
      assert.equal(r.status, 500);
      assert.equal(r.body, 'failed');
      assert.deepEqual(await s.data(r.cookies), { before: 'throw' });
      assert.equal((s.errors[0] as Error).message, 'boom');
    } finally {
      await s.close();
    }
  });

  it('a throw after end() leaves the sent answer alone and still saved', async () => {
    const s = await serve(async (_req, res, session) => {
      session.x = 1;
      res.end('sent');
      throw new Error('after');
    });
    try {
      const r = await s.get();
      assert.equal(r.status, 200);
      assert.equal(r.body, 'sent');
      assert.deepEqual(await s.data(r.cookies), { x: 1 });
      assert.equal(s.errors.length, 1);
    } finally {
      await s.close();
    }
  });

  it('HEAD answers carry the cookie and no body', async () => {
    const s = await serve((_req, res, session) => {
      session.head = true;
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end();
    });
    try {
      const r = await s.get('/', undefined, 'HEAD');
      assert.equal(r.status, 200);
      assert.equal(r.body, '');
      assert.deepEqual(await s.data(r.cookies), { head: true });
    } finally {
      await s.close();
    }
  });

  it('a store outage at commit replaces a streaming answer by a 503 and drops its later writes', async () => {
    const store = new MemoryStore();
    const s = await serve(async (_req, res, session) => {
      session.x = 1;
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.write('partial');
      await sleep(10);
      res.write('more', () => {});
      res.end('end');
    }, store);
    s.spy.fail = new StoreUnavailableError('memory', 'down for the test');
    try {
      const r = await s.get();
      assert.equal(r.status, 503);
      assert.equal(r.body, STORE_UNAVAILABLE_BODY);
      assert.equal(r.headers['retry-after'], '1');
      assert.deepEqual(r.cookies, []);
      assert.equal(store.size, 0);
      assert.deepEqual(s.warnings, ['[websession] [memory] down for the test']);
      await sleep(30);
      s.spy.fail = undefined;
      assert.equal((await s.get()).status, 200, 'the server still answers');
    } finally {
      await s.close();
    }
  });

  it('accepts a SessionManager or { store, config }, and the manager config applies', async () => {
    const manager = new SessionManager(new MemoryStore(), {
      cookie_name: 'sid',
      cleanup_interval: 0,
    });
    const listeners = [
      withSession(manager, (_req, res, session) => {
        session.a = 1;
        res.end();
      }),
      withSession({ manager }, (_req, res, session) => {
        session.a = 1;
        res.end();
      }),
    ];
    for (const listener of listeners) {
      const server = createServer(listener);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
        assert.match(res.headers.getSetCookie()[0] ?? '', /^sid=[0-9a-f]{64};/);
      } finally {
        server.close();
      }
    }
  });
});
