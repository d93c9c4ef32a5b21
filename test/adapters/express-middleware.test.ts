// The Express middlewares (websession/express and websession/express-session) beside others that wrap the response's own `end`, `write` and
// `writeHead` (compression, and morgan through on-headers), registered before or after it, with a
// store that answers at once and one that answers later. Express 4 is a second copy of Express,
// whose responses are held from the first request on: it runs with the session first.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
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
  const app = version === 5 ? freshExpress()() : express4();
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
      });
    }
  }
});
