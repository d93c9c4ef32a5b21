// The Hono middleware reads the request's headers from node's own object under @hono/node-server
// and from the fetch Request elsewhere, and adds its headers to the handler's response in place,
// falling back to Hono's copy of the response when the headers refuse changes (a fetch() answer).
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { MemoryStore } from 'websession';
import { type SessionEnv, session } from 'websession/hono';
import { httpGet } from '../helpers/http-client.js';

/** An upstream server for the proxy route: what `fetch()` brings back has immutable headers. */
const upstream = createServer((_req, res) => res.end('upstream'));
await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
after(() => upstream.close());
const upstreamUrl = () => `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/`;

function app(): Hono<SessionEnv> {
  const hono = new Hono<SessionEnv>();
  hono.use(session(new MemoryStore()));
  hono.get('/login', (c) => {
    c.var.session.logged_in = true;
    c.header('Set-Cookie', 'theme=dark; Path=/', { append: true });
    return c.text('in');
  });
  // A proxied answer's headers are immutable: the session's must still reach the browser.
  hono.get('/proxy', async (c) => {
    c.var.session.logged_in = true;
    return fetch(upstreamUrl());
  });
  hono.get('/', (c) => c.text(c.var.session.get('logged_in', false) ? 'in' : 'out'));
  return hono;
}

const sessionCookie = (cookies: string[]) =>
  cookies.find((c) => c.startsWith('webpy_session_id='))?.split(';')[0];

describe('Hono without @hono/node-server (app.request)', () => {
  it('reads the cookie from the fetch Request and keeps the application’s own Set-Cookie', async () => {
    const hono = app();
    const login = await hono.request('/login');
    const cookies = login.headers.getSetCookie();
    assert.ok(
      cookies.some((c) => c.startsWith('theme=dark')),
      cookies.join(' | '),
    );
    const cookie = sessionCookie(cookies);
    assert.ok(cookie, cookies.join(' | '));
    assert.equal(login.headers.get('cache-control'), 'private, no-store');
    const home = await hono.request('/', { headers: { cookie } });
    assert.equal(await home.text(), 'in');
    assert.match(home.headers.get('vary') ?? '', /Cookie/);
  });

  it('adds the session cookie to a response whose headers are immutable', async () => {
    const probe = await fetch(upstreamUrl());
    assert.throws(() => probe.headers.append('x-probe', '1'), TypeError);
    const hono = app();
    const r = await hono.request('/proxy');
    assert.equal(await r.text(), 'upstream');
    const cookie = sessionCookie(r.headers.getSetCookie());
    assert.ok(cookie, 'no session cookie on the proxied answer');
    assert.equal(await (await hono.request('/', { headers: { cookie } })).text(), 'in');
  });
});

describe('Hono on @hono/node-server', () => {
  const server = serve({ fetch: app().fetch, port: 0, hostname: '127.0.0.1' }) as Server;
  after(() => server.close());
  const base = async () => {
    if (!server.listening) await new Promise((resolve) => server.once('listening', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };

  it('reads the cookie from node’s headers and keeps the application’s own Set-Cookie', async () => {
    const login = await httpGet(`${await base()}/login`);
    assert.ok(
      login.setCookies.some((c) => c.startsWith('theme=dark')),
      login.setCookies.join(),
    );
    const cookie = sessionCookie(login.setCookies);
    assert.ok(cookie);
    assert.equal(login.headers['cache-control'], 'private, no-store');
    const home = await httpGet(`${await base()}/`, { cookie });
    assert.equal(home.body, 'in');
    assert.match(String(home.headers.vary), /Cookie/);
  });

  it('adds the session cookie to a response whose headers are immutable', async () => {
    const r = await httpGet(`${await base()}/proxy`);
    assert.equal(r.body, 'upstream');
    const cookie = sessionCookie(r.setCookies);
    assert.ok(cookie, 'no session cookie on the proxied answer');
    assert.equal((await httpGet(`${await base()}/`, { cookie })).body, 'in');
  });
});
