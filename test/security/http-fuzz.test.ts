// Hostile Cookie headers over real HTTP (raw TCP, so that bytes fetch would refuse get through):
// through Express and the web layer, no exception escapes, the server stays up, no record is
// created and the store never sees a malformed key (SECURITY.md: path traversal, flooding).
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import express from 'express';
import fc from 'fast-check';
import { MemoryStore, type Store } from 'websession';
import { session, sessionOf } from 'websession/express';
import * as web from 'websession/web';
import { SpyStore } from '../helpers/spy-store.js';

const COOKIE = 'webpy_session_id';

function webApp(store: Store): Server {
  const app = web.application(['/who', 'Who', '/login', 'Login'], () => ({ Who, Login }));
  const s = web.session.Session(app, store, null, { cleanup_interval: 0 });
  class Who {
    GET() {
      return String(s.get('user', 'nobody'));
    }
  }
  class Login {
    GET() {
      s.user = 'ann';
      return 'ok';
    }
  }
  return createServer(app.listener());
}

function expressApp(store: Store): Server {
  const app = express();
  app.use(session(store, { cleanup_interval: 0 }));
  app.get('/who', (req, res) => {
    res.send(String(sessionOf(req).get('user', 'nobody')));
  });
  app.get('/login', (req, res) => {
    sessionOf(req).user = 'ann';
    res.send('ok');
  });
  return createServer(app);
}

/** Sends raw bytes as a request and returns the status code of the answer (0: none). */
function raw(port: number, request: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.setTimeout(5000, () => socket.destroy(new Error('no answer within 5 s')));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (err: NodeJS.ErrnoException) =>
      // The server may close on a request it refuses before reading it all.
      err.code === 'ECONNRESET' || err.code === 'EPIPE' ? resolve(0) : reject(err),
    );
    socket.on('close', () => {
      const head = Buffer.concat(chunks).toString('latin1');
      resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0));
    });
    socket.end(request);
  });
}

const hex = fc.stringMatching(/^[0-9a-f]{64}$/);
const hostileValue = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.stringMatching(/^[0-9a-fA-F.%;= ]{50,120}$/),
  hex, // well-formed but unknown: looked up, never adopted
  hex.map((h) => `${h}.${'A'.repeat(43)}`),
  hex.map((h) => `${h}\u0000`),
  fc.constantFrom(
    '../../etc/passwd',
    '..%2F..%2Fetc%2Fpasswd',
    '%00',
    '"',
    '',
    '\r\nX-Injected: 1',
    'a'.repeat(20_000),
    `${'ab'.repeat(32)}; ${COOKIE}=${'cd'.repeat(32)}`,
  ),
);
/** A whole Cookie header: the session cookie among junk, sometimes twice or not at all. */
const hostileHeader = fc
  .tuple(fc.string({ maxLength: 100 }), hostileValue, fc.constantFrom('', COOKIE, ` ${COOKIE} `))
  .map(([junk, value, name]) => `${junk}; ${name}=${value}; ${name}=${value.slice(0, 70)}`);

for (const [name, make] of [
  ['express', expressApp],
  ['web', webApp],
] as const) {
  describe(`hostile Cookie headers over HTTP: ${name}`, () => {
    it('400 requests: no exception escapes, the server stays up, nothing stored, no malformed key reaches the store', async () => {
      const memory = new MemoryStore();
      const spy = new SpyStore(memory);
      const server = make(spy);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      const statuses = new Map<number, number>();
      try {
        await fc.assert(
          fc.asyncProperty(hostileHeader, async (header) => {
            const request = Buffer.from(
              `GET /who HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: ${header}\r\nConnection: close\r\n\r\n`,
              'latin1',
            );
            const status = await raw(port, request);
            statuses.set(status, (statuses.get(status) ?? 0) + 1);
            // 200 nobody, or Node's parser refusing the bytes (400, 431 too large).
            assert.ok(
              [200, 400, 431].includes(status),
              `status ${status} for ${JSON.stringify(header)}`,
            );
          }),
          { numRuns: 400 },
        );
        assert.ok((statuses.get(200) ?? 0) > 100, `most requests reach the app: ${[...statuses]}`);
        assert.equal(memory.size, 0, 'no record created');
        assert.ok(spy.count('get') > 0, 'well-formed unknown ids were looked up');
        for (const call of spy.calls) assert.match(call.key ?? '', /^[0-9a-f]{64}$/);
        // Still up and serving sessions.
        const res = await fetch(`http://127.0.0.1:${port}/login`);
        assert.equal(await res.text(), 'ok');
        const cookie = res.headers.getSetCookie()[0]!.split(';')[0]!;
        const again = await fetch(`http://127.0.0.1:${port}/who`, { headers: { cookie } });
        assert.equal(await again.text(), 'ann');
        assert.equal(memory.size, 1);
      } finally {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    });
  });
}
