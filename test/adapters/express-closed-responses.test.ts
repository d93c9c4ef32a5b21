// Express responses whose client goes away before the session is committed: the handler's later
// answer still commits (as on node:http, and as web.py saves after its handler), and the holds of
// responses that are never answered do not pile up.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import express, { type Response } from 'express';
import { MemoryStore } from 'websession';
import { session, sessionOf } from 'websession/express';
import { heldFrameworkResponses } from '../../src/adapters/hold.js';

/** Sends `GET path` on a raw socket, waits until the server has the request, then hangs up. */
async function hangUp(port: number, path: string, cookie: string, entered: Promise<Response>) {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nCookie: ${cookie}\r\n\r\n`);
  const res = await entered;
  socket.destroy();
  if (!res.closed) await once(res, 'close');
}

describe('websession/express, a client that goes away before the answer', () => {
  let server: Server;
  let port: number;
  let entered: (res: Response) => void = () => {};
  const nextEntry = () => new Promise<Response>((resolve) => (entered = resolve));
  let answered: () => void = () => {};

  before(async () => {
    const app = express();
    app.use(session(new MemoryStore(), { cleanup_interval: 0 }));
    app.get('/login', (req, res) => {
      sessionOf(req).count = 1;
      res.send('in');
    });
    app.get('/count', (req, res) => {
      res.send(String(sessionOf(req).count));
    });
    // Changes the session, waits until the client is gone, then answers.
    app.get('/late', (req, res) => {
      sessionOf(req).count = 7;
      res.once('close', () => {
        res.send('too late');
        answered();
      });
      entered(res);
    });
    // Changes the session and never answers.
    app.get('/never', (req, res) => {
      sessionOf(req).count = 9;
      entered(res);
    });
    server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  async function login(): Promise<string> {
    const res = await fetch(`http://127.0.0.1:${port}/login`);
    const cookie = res.headers.get('set-cookie')?.split(';')[0];
    assert.ok(cookie, 'a session cookie');
    return cookie;
  }

  it("commits the handler's change when it answers after the client left", async () => {
    const cookie = await login();
    const done = new Promise<void>((resolve) => (answered = resolve));
    await hangUp(port, '/late', cookie, nextEntry());
    await done;
    const res = await fetch(`http://127.0.0.1:${port}/count`, { headers: { cookie } });
    assert.equal(await res.text(), '7');
  });

  it('forgets the responses closed before an answer that never comes', async () => {
    const cookie = await login();
    const before = heldFrameworkResponses();
    for (let i = 0; i < 600; i++) await hangUp(port, '/never', cookie, nextEntry());
    const held = heldFrameworkResponses() - before;
    assert.ok(held <= 256, `held ${held} of 600 closed responses`);
    // Nothing was committed for them: the session is as the login left it.
    const res = await fetch(`http://127.0.0.1:${port}/count`, { headers: { cookie } });
    assert.equal(await res.text(), '1');
  });
});
