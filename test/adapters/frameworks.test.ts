// What each adapter adds over the conformance suite: the application's own Set-Cookie headers are
// kept beside the session's, the session API (regenerate, data) works the same everywhere, and
// the adapters accept a SessionManager as well as a store.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { serve } from '@hono/node-server';
import express from 'express';
import express4 from 'express4';
import Fastify from 'fastify';
import { Hono } from 'hono';
import Koa from 'koa';
import { decodePayload, MemoryStore, type Session, SessionManager, storeKey } from 'websession';
import { session as expressSession, sessionOf as expressSessionOf } from 'websession/express';
import { fastifySession, sessionOf as fastifySessionOf } from 'websession/fastify';
import { withSession as withFetchSession } from 'websession/fetch';
import { session as honoSession, type SessionEnv } from 'websession/hono';
import { session as koaSession } from 'websession/koa';
import { withSession } from 'websession/node';

/** A framework-neutral route: reads/writes the session, may set a cookie of its own. */
type Route = (
  session: Session,
  ownCookie: (name: string, value: string) => void,
) => string | Promise<string>;

const ROUTES: Record<string, Route> = {
  '/own': (session, ownCookie) => {
    ownCookie('theme', 'dark');
    session.x = 1;
    return 'own';
  },
  '/regen': (session) => {
    session.regenerate();
    return 'regen';
  },
  '/read': (session) =>
    JSON.stringify({ x: session.get('x', 0), has: session.has('x'), data: session.data }),
};

function listen(server: Server): Promise<Server> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

type Mount = (manager: SessionManager) => Promise<Server>;

function expressMount(factory: typeof express): Mount {
  return (manager) => {
    const app = factory();
    app.use(expressSession(manager));
    for (const [path, route] of Object.entries(ROUTES)) {
      app.get(path, async (req, res) => {
        res.send(await route(expressSessionOf(req), (n, v) => res.cookie(n, v)));
      });
    }
    return listen(app.listen(0, '127.0.0.1'));
  };
}

const MOUNTS: Record<string, Mount> = {
  node: (manager) =>
    listen(
      createServer(
        withSession(manager, async (req, res, session) => {
          const route = ROUTES[req.url ?? ''];
          if (!route) return void res.writeHead(404).end();
          res.end(await route(session, (n, v) => res.appendHeader('Set-Cookie', `${n}=${v}`)));
        }),
      ),
    ),
  express: expressMount(express),
  express4: expressMount(express4 as typeof express),
  async fastify(manager) {
    const app = Fastify();
    await app.register(fastifySession, { manager });
    for (const [path, route] of Object.entries(ROUTES)) {
      app.get(path, async (request, reply) =>
        route(fastifySessionOf(request), (n, v) => reply.header('set-cookie', `${n}=${v}`)),
      );
    }
    await app.listen({ port: 0, host: '127.0.0.1' });
    return app.server;
  },
  hono(manager) {
    const app = new Hono<SessionEnv>();
    app.use(honoSession(manager));
    for (const [path, route] of Object.entries(ROUTES)) {
      app.get(path, async (c) =>
        c.text(
          await route(c.var.session, (n, v) =>
            c.header('Set-Cookie', `${n}=${v}`, { append: true }),
          ),
        ),
      );
    }
    return Promise.resolve(
      serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server,
    ).then((server) =>
      server.listening
        ? server
        : new Promise<Server>((r) => server.once('listening', () => r(server))),
    );
  },
  fetch(manager) {
    const handler = withFetchSession(manager, async (request, session) => {
      const route = ROUTES[new URL(request.url).pathname];
      if (!route) return new Response(null, { status: 404 });
      const headers = new Headers();
      const body = await route(session, (n, v) => headers.append('Set-Cookie', `${n}=${v}`));
      return new Response(body, { headers });
    });
    const server = serve({ fetch: handler, port: 0, hostname: '127.0.0.1' }) as Server;
    return new Promise<Server>((r) =>
      server.listening ? r(server) : server.once('listening', () => r(server)),
    );
  },
  koa(manager) {
    const app = new Koa();
    app.use(koaSession(manager));
    app.use(async (ctx) => {
      const route = ROUTES[ctx.path];
      if (route)
        ctx.body = await route(ctx.session, (n, v) => ctx.cookies.set(n, v, { httpOnly: false }));
    });
    return listen(app.listen(0, '127.0.0.1'));
  },
};

for (const [name, mount] of Object.entries(MOUNTS)) {
  describe(`adapter: ${name}`, () => {
    it("keeps the application's own Set-Cookie, regenerates ids, reads data", async () => {
      const store = new MemoryStore();
      const manager = new SessionManager(store, { cleanup_interval: 0 });
      const server = await mount(manager);
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const get = async (path: string, cookie?: string) => {
        const res = await fetch(url + path, { headers: cookie ? { cookie } : {} });
        return { body: await res.text(), cookies: res.headers.getSetCookie() };
      };
      try {
        const own = await get('/own');
        assert.equal(own.body, 'own');
        assert.equal(own.cookies.length, 2, JSON.stringify(own.cookies));
        assert.ok(own.cookies.some((c) => c.startsWith('theme=dark')));
        const first = own.cookies.find((c) => c.startsWith('webpy_session_id='))!.split(';')[0]!;
        const firstId = first.split('=')[1]!;

        assert.deepEqual(JSON.parse((await get('/read', first)).body), {
          x: 1,
          has: true,
          data: { x: 1 },
        });

        const regen = await get('/regen', first);
        assert.equal(regen.cookies.length, 1);
        const second = regen.cookies[0]!.split(';')[0]!;
        const secondId = second.split('=')[1]!;
        assert.notEqual(secondId, firstId);
        assert.equal(await store.get(storeKey(firstId)), undefined, 'the old record is deleted');
        const record = await store.get(storeKey(secondId));
        assert.deepEqual(record && decodePayload(record.data).data, { x: 1 });
        assert.deepEqual(
          JSON.parse((await get('/read', first)).body).data,
          {},
          'the old id is dead',
        );
        assert.deepEqual(JSON.parse((await get('/read', second)).body).data, { x: 1 });
      } finally {
        server.closeAllConnections();
        server.close();
        await manager.close();
      }
    });
  });
}
