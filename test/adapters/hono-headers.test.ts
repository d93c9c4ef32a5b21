// The Hono middleware reads the request's headers from node's own object under @hono/node-server
// and from the fetch Request elsewhere. Under @hono/node-server it adds its headers to node's
// response as they are written, merged with the application's; elsewhere to the handler's
// response in place, falling back to Hono's copy when the headers refuse changes (a fetch()
// answer).
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
  // The application's own Vary and Cache-Control: the session's are merged in, not put instead.
  hono.get('/own-headers', (c) => {
    c.var.session.visits = Number(c.var.session.get('visits', 0)) + 1;
    c.header('Vary', 'Accept-Encoding');
    c.header('Cache-Control', 'no-cache');
    return c.text('own');
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
  // A middleware outside the session's replaces the response (as hono/etag does for a 304): the
  // session's headers are added when node writes whatever response goes out.
  const outer = new Hono<SessionEnv>();
  outer.use(async (c, next) => {
    await next();
    if (c.req.path === '/replaced') c.res = new Response('replaced', { status: 201 });
  });
  outer.route('/', app());
  outer.get('/replaced', (c) => {
    c.var.session.logged_in = true;
    return c.text('handler');
  });
  const server = serve({ fetch: outer.fetch, port: 0, hostname: '127.0.0.1' }) as Server;
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

  it('merges the session’s Vary and keeps the application’s Cache-Control', async () => {
    const r = await httpGet(`${await base()}/own-headers`);
    assert.equal(r.body, 'own');
    assert.ok(sessionCookie(r.setCookies), r.setCookies.join(' | '));
    assert.equal(r.headers['cache-control'], 'no-cache');
    assert.equal(r.headers.vary, 'Accept-Encoding, Cookie');
  });

  it('adds the session’s headers to a response an outer middleware put instead', async () => {
    const r = await httpGet(`${await base()}/replaced`);
    assert.equal(r.status, 201);
    assert.equal(r.body, 'replaced');
    const cookie = sessionCookie(r.setCookies);
    assert.ok(cookie, 'no session cookie on the replaced response');
    assert.equal(r.headers['cache-control'], 'private, no-store');
    assert.equal((await httpGet(`${await base()}/`, { cookie })).body, 'in');
  });
});
