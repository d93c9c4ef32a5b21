// The Express middleware beside others that wrap the response's own `end`, `write` and
// `writeHead` (compression, and morgan through on-headers), registered before or after it, with a
// store that answers at once and one that answers later. Express 4 is a second copy of Express,
// whose responses are held from the first request on: it runs with the session first.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import compression from 'compression';
import express from 'express';
import express4 from 'express4';
import morgan from 'morgan';
import { MemoryStore, type Store } from 'websession';
import { session, sessionOf } from 'websession/express';
import { cookieOf, SpyStore } from '../helpers/spy-store.js';

const BODY = 'x'.repeat(4096);

async function serve(store: Store, sessionFirst: boolean, version: 4 | 5) {
  const logged: string[] = [];
  const app = version === 5 ? express() : express4();
  const others = [
    compression({ threshold: 0 }),
    morgan(':status :res[set-cookie] :response-time', {
      stream: { write: (line: string) => logged.push(line) },
    }),
  ];
  const ours = session(store, { cleanup_interval: 0 });
  if (sessionFirst) app.use(ours, ...others);
  else app.use(...others, ours);
  app.get('/', (req, res) => {
    const s = sessionOf(req);
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
    for (const [version, sessionFirst] of [
      [5, true],
      [5, false],
      [4, true],
    ] as const) {
      it(`commits, compresses and logs on Express ${version} with ${storeName}, session ${sessionFirst ? 'before' : 'after'} them`, async () => {
        const { server, logged, base } = await serve(makeStore(), sessionFirst, version);
        servers.push(server);
        const headers = { 'accept-encoding': 'gzip' };
        const first = await fetch(base, { headers });
        assert.equal(first.status, 200);
        assert.equal(first.headers.get('content-encoding'), 'gzip');
        assert.equal(await first.text(), `1 ${BODY}`);
        const setCookie = first.headers.get('set-cookie') ?? undefined;
        assert.match(setCookie ?? '', /^webpy_session_id=/);
        const second = await fetch(base, { headers: { ...headers, cookie: cookieOf(setCookie) } });
        assert.equal(await second.text(), `2 ${BODY}`);
        assert.equal(logged.length, 2);
        assert.match(logged[0]!, /^200 webpy_session_id=/);
      });
    }
  }
});
