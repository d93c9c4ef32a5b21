// The Express middlewares (websession/express and websession/express-session) beside others that wrap the response's own `end`, `write` and
// `writeHead` (compression, and morgan through on-headers), registered before or after it, with a
// store that answers at once and one that answers later. Express 4 is a second copy of Express,
// whose responses are held from the first request on: it runs with the session first.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import compression from 'compression';
import type express from 'express';
import express4 from 'express4';
import morgan from 'morgan';
import { MemoryStore, type Store } from 'websession';
import { session, sessionOf } from 'websession/express';
import expressSession from 'websession/express-session';
import { cookieOf, SpyStore } from '../helpers/spy-store.js';

const BODY = 'x'.repeat(4096);
/** A file for express.static: bytes that compress, large enough to take several writes. */
const FILE = Buffer.from('0123456789abcdef'.repeat(20_000));
const folder = mkdtempSync(join(tmpdir(), 'websession-static-'));
writeFileSync(join(folder, 'file.txt'), FILE);
const require = createRequire(import.meta.url);

/**
 * Express 5 loaded anew, the copy websession resolves too: each test starts from a response
 * prototype no earlier test held.
 */
function freshExpress(): typeof express {
  for (const path of Object.keys(require.cache))
    if (path.includes('/node_modules/express/')) delete require.cache[path];
  return require('express') as typeof express;
}

type Flavour = 'websession/express' | 'websession/express-session';

async function serve(store: Store, sessionFirst: boolean, version: 4 | 5, flavour: Flavour) {
  const logged: string[] = [];
  const ex = version === 5 ? freshExpress() : (express4 as unknown as typeof express);
  const app = ex();
  const others = [
    compression({ threshold: 0 }),
    morgan(':status :res[set-cookie] :response-time', {
      stream: { write: (line: string) => logged.push(line) },
    }),
  ];
  const ours =
    flavour === 'websession/express'
      ? session(store, { cleanup_interval: 0 })
      : expressSession({ secret: 'a secret', store, websession: { cleanup_interval: 0 } });
  if (sessionFirst) app.use(ours, ...others);
  else app.use(...others, ours);
  app.use('/static', (req, _res, next) => {
    const s = sessionOf(req) as unknown as Record<string, unknown>;
    s.files = ((s.files as number | undefined) ?? 0) + 1;
    next();
  });
  app.use('/static', ex.static(folder));
  app.get('/', (req, res) => {
    const s = sessionOf(req) as unknown as Record<string, unknown>;
    s.count = ((s.count as number | undefined) ?? 0) + 1;
    res.type('text').send(`${String(s.count)} ${BODY}`);
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return { server, logged, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe('websession/express beside middleware that wraps the response', () => {
  const servers: { close(): unknown }[] = [];
  after(() => {
    for (const s of servers) s.close();
    rmSync(folder, { recursive: true, force: true });
  });
  for (const [storeName, makeStore] of [
    ['a store that answers at once', () => new MemoryStore()],
    ['a store that answers later', () => new SpyStore(new MemoryStore())],
  ] as const) {
    for (const [flavour, version, sessionFirst] of [
      ['websession/express', 5, true],
      ['websession/express', 5, false],
      ['websession/express', 4, true],
      ['websession/express-session', 5, true],
      ['websession/express-session', 5, false],
    ] as const) {
      it(`${flavour} commits, compresses and logs on Express ${version} with ${storeName}, session ${sessionFirst ? 'before' : 'after'} them`, async () => {
        const { server, logged, base } = await serve(makeStore(), sessionFirst, version, flavour);
        servers.push(server);
        const headers = { 'accept-encoding': 'gzip' };
        const first = await fetch(base, { headers });
        assert.equal(first.status, 200);
        assert.equal(first.headers.get('content-encoding'), 'gzip');
        assert.equal(await first.text(), `1 ${BODY}`);
        const setCookie = first.headers.get('set-cookie') ?? undefined;
        assert.match(setCookie ?? '', /^(webpy_session_id|connect\.sid)=/);
        const second = await fetch(base, { headers: { ...headers, cookie: cookieOf(setCookie) } });
        assert.equal(await second.text(), `2 ${BODY}`);
        assert.equal(logged.length, 2);
        assert.match(logged[0]!, /^200 (webpy_session_id|connect\.sid)=/);
        // A static file, whole (compressed) and a range of it (206): sent once, headers once.
        const cookie = cookieOf(setCookie);
        const whole = await fetch(`${base}/static/file.txt`, { headers: { ...headers, cookie } });
        assert.equal(whole.status, 200);
        assert.equal(whole.headers.get('content-encoding'), 'gzip');
        assert.deepEqual(Buffer.from(await whole.arrayBuffer()), FILE);
        const range = await fetch(`${base}/static/file.txt`, {
          headers: { ...headers, cookie, range: 'bytes=100-199' },
        });
        assert.equal(range.status, 206);
        assert.deepEqual(Buffer.from(await range.arrayBuffer()), FILE.subarray(100, 200));
        assert.equal(logged.length, 4);
      });
    }
  }
});

describe('websession/express when a call the session held throws once replayed', () => {
  it('ends that response and goes on serving', async () => {
    const app = freshExpress()();
    app.use(session(new SpyStore(new MemoryStore()), { cleanup_interval: 0 }));
    app.get('/bad', (req, res) => {
      (sessionOf(req) as unknown as Record<string, unknown>).seen = true;
      // Node throws ERR_INVALID_ARG_TYPE for a number body: here only once the commit landed.
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end(123 as unknown as string);
    });
    app.get('/good', (_req, res) => {
      res.send('good');
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const errors: unknown[] = [];
    const logged = console.error;
    console.error = (e: unknown) => errors.push(e);
    try {
      const bad = await fetch(`${base}/bad`).then(
        async (r) => ({ status: r.status, body: await r.text().catch(() => 'cut') }),
        () => 'connection closed',
      );
      assert.notEqual(
        typeof bad === 'object' && bad.body,
        '123',
        `the bad response: ${JSON.stringify(bad)}`,
      );
      assert.equal(await (await fetch(`${base}/good`)).text(), 'good');
      assert.equal((errors[0] as { code?: string } | undefined)?.code, 'ERR_INVALID_ARG_TYPE');
    } finally {
      console.error = logged;
      server.close();
    }
  });
});
