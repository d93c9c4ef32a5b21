// Every framework of the conformance suite (websession/fetch served by @hono/node-server, on Node's
// own Request and Response), started on a loopback port over a given store: the
// example apps of the runner (the five routes and /metrics); for the "a thrown error still
// commits" case, a one-route app per framework whose handler sets a key and then throws; and an
// app per framework serving the feature routes (a user-bound login, flash messages) of
// `featureRoute`.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import express from 'express';
import express4 from 'express4';
import Fastify from 'fastify';
import { Hono } from 'hono';
import Koa from 'koa';
import type { Session, SessionConfig, StoreOrSealer } from 'websession';
import { session as expressSession, sessionOf as expressSessionOf } from 'websession/express';
import { fastifySession, sessionOf as fastifySessionOf } from 'websession/fastify';
import { withSession as withFetchSession } from 'websession/fetch';
import { session as honoSession, type SessionEnv } from 'websession/hono';
import { session as koaSession } from 'websession/koa';
import { withSession } from 'websession/node';
import * as web from 'websession/web';
import { createApp as expressApp } from '../../examples/frameworks/express.js';
import { start as startFastify } from '../../examples/frameworks/fastify.js';
import { start as startFetch } from '../../examples/frameworks/fetch.js';
import { start as startHono } from '../../examples/frameworks/hono.js';
import { start as startKoa } from '../../examples/frameworks/koa.js';
import { start as startNode } from '../../examples/frameworks/node.js';
import { start as startWeb } from '../../examples/frameworks/web.js';
import { captureConsole } from '../helpers/console-capture.js';

type Config = SessionConfig<{ logged_in: boolean; count: number }>;

/** A running server and its base URL (`http://127.0.0.1:PORT`). */
export interface Running {
  url: string;
  close(): Promise<void>;
}

/** What the handler of `/boom` sets before it throws. */
export const BOOM_VALUE = 'set before the throw';

/** A server once it listens: its base URL, and a close that ends its connections. */
export async function running(server: Server): Promise<Running> {
  if (!server.listening) await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const LOOPBACK = { host: '127.0.0.1', port: 0 };

/** Starts an example, which prints its URL as web.py's app.run() does: that line, and only it. */
async function announced(start: () => Promise<Running>): Promise<Running> {
  const { result, printed } = await captureConsole(start);
  assert.deepEqual(printed, [`${result.url}/`], 'the example printed where it listens');
  return result;
}

/** One framework: its example app, its `/boom` app and its feature-routes app. */
export interface Framework {
  example(store: StoreOrSealer, config: Config): Promise<Running>;
  boom(store: StoreOrSealer, config: Config): Promise<Running>;
  features(store: StoreOrSealer, config: Config): Promise<Running>;
}

/** The user `GET /login-as` binds its session to. */
export const FEATURE_USER = 'alice';
/** What `POST /flash` flashes under `notice`. */
export const FLASH_MESSAGE = 'saved';

/** The answer of a feature route: a text page or a 303 to a path. */
type FeatureAnswer = { status: 200 | 404; body: string } | { status: 303; location: string };

/** The cookie lifetime `GET /sign-in-remembered` asks for ("remember me": 30 days). */
export const REMEMBER_SECONDS = 30 * 86400;

/**
 * The feature routes, written once and served by every framework's `features` app:
 * `GET /login-as` binds the session to {@link FEATURE_USER} (answers `ok`);
 * `POST /flash` flashes {@link FLASH_MESSAGE} under `notice` and answers 303 to `/show`;
 * `GET /show` answers the flashes of the previous request as JSON (read once);
 * `GET /sign-in` and `GET /sign-in-remembered` regenerate and log in, the second with
 * `setMaxAge(REMEMBER_SECONDS)`; `GET /regenerate`; `GET /whoami` answers `in` or `out`;
 * `GET /sign-out` kills the session;
 * `GET /late` sets `early`, answers `ok`, then sets `late` 30 ms later (see {@link LATE_OUTCOMES});
 * `GET /user`, `/is-new`, `/id` answer `getUser()`, `isNew`, `id` (and read nothing else);
 * anything else 404.
 */
/** What each change made by `GET /late` after its answer gave: the error thrown, or 'dropped'. */
export const LATE_OUTCOMES: unknown[] = [];

function featureRoute(method: string, path: string, session: Session): FeatureAnswer {
  if (method === 'GET' && path === '/late') {
    // Answers at once, then changes the session once the answer is out (as a streaming
    // response's producer would).
    session.early = true;
    setTimeout(() => {
      try {
        session.late = true;
        LATE_OUTCOMES.push('dropped');
      } catch (err) {
        LATE_OUTCOMES.push(err);
      }
    }, 30);
    return { status: 200, body: 'ok' };
  }
  if (method === 'GET' && path === '/user') return { status: 200, body: session.getUser() ?? '' };
  if (method === 'GET' && path === '/is-new') return { status: 200, body: String(session.isNew) };
  if (method === 'GET' && path === '/id') return { status: 200, body: session.id.slice(0, 8) };
  if (method === 'GET' && (path === '/sign-in' || path === '/sign-in-remembered')) {
    // A login form's answer: a new id against fixation, and "remember me" when ticked.
    session.regenerate();
    session.logged_in = true;
    if (path === '/sign-in-remembered') session.setMaxAge(REMEMBER_SECONDS);
    return { status: 200, body: 'ok' };
  }
  if (method === 'GET' && path === '/regenerate') {
    session.regenerate();
    return { status: 200, body: 'ok' };
  }
  if (method === 'GET' && path === '/whoami') {
    return { status: 200, body: session.get('logged_in', false) ? 'in' : 'out' };
  }
  if (method === 'GET' && path === '/sign-out') {
    session.kill();
    return { status: 200, body: 'ok' };
  }
  if (method === 'GET' && path === '/login-as') {
    session.setUser(FEATURE_USER);
    session.logged_in = true;
    return { status: 200, body: 'ok' };
  }
  if (method === 'POST' && path === '/flash') {
    session.flash('notice', FLASH_MESSAGE);
    return { status: 303, location: '/show' };
  }
  if (method === 'GET' && path === '/show') {
    return { status: 200, body: JSON.stringify(session.flashes()) };
  }
  return { status: 404, body: 'not found' };
}

function boomError(): Error {
  return new Error('boom (thrown on purpose by the conformance suite)');
}

export const FRAMEWORKS: Record<string, Framework> = {
  web: {
    example: (store, session) =>
      announced(async () => running(await startWeb(store, { ...LOOPBACK, session }))),
    async boom(store, config) {
      const app = web.application(['/boom', 'Boom'], () => ({ Boom }));
      const session = web.session.Session(app, store, null, config as SessionConfig);
      class Boom {
        GET() {
          session.boom = BOOM_VALUE;
          throw boomError();
        }
      }
      return running(createServer(app.listener()).listen(0, '127.0.0.1'));
    },
    async features(store, config) {
      const app = web.application(['/.*', 'Feature'], () => ({ Feature }));
      const session = web.session.Session(app, store, null, config as SessionConfig);
      const serve = () => {
        const answer = featureRoute(web.ctx.method, web.ctx.path, session);
        if (answer.status === 303) throw web.seeother(answer.location);
        if (answer.status === 404) throw web.notfound();
        web.header('Content-Type', 'text/plain; charset=utf-8');
        return answer.body;
      };
      class Feature {
        GET() {
          return serve();
        }
        POST() {
          return serve();
        }
      }
      return running(createServer(app.listener()).listen(0, '127.0.0.1'));
    },
  },
  node: {
    example: (store, session) =>
      announced(async () => running(await startNode(store, { ...LOOPBACK, session }))),
    boom: (store, config) =>
      running(
        createServer(
          withSession(
            store,
            (_req, _res, session) => {
              session.boom = BOOM_VALUE;
              throw boomError();
            },
            {
              config: config as SessionConfig,
              onError: (_err, _req, res) => res.writeHead(500).end('internal server error'),
            },
          ),
        ).listen(0, '127.0.0.1'),
      ),
    features: (store, config) =>
      running(
        createServer(
          withSession(
            store,
            (req, res, session) => {
              const path = new URL(req.url ?? '/', 'http://x').pathname;
              const answer = featureRoute(req.method ?? 'GET', path, session);
              if (answer.status === 303) res.writeHead(303, { Location: answer.location }).end();
              else res.writeHead(answer.status, { 'Content-Type': 'text/plain' }).end(answer.body);
            },
            { config: config as SessionConfig },
          ),
        ).listen(0, '127.0.0.1'),
      ),
  },
  express: {
    example: (store, session) => running(expressApp(store, { session }).listen(0, '127.0.0.1')),
    boom: (store, config) => running(expressBoom(express(), store, config).listen(0, '127.0.0.1')),
    features: (store, config) =>
      running(expressFeatures(express(), store, config).listen(0, '127.0.0.1')),
  },
  express4: {
    example: (store, session) =>
      running(expressApp(store, { session }, express4).listen(0, '127.0.0.1')),
    boom: (store, config) => running(expressBoom(express4(), store, config).listen(0, '127.0.0.1')),
    features: (store, config) =>
      running(expressFeatures(express4(), store, config).listen(0, '127.0.0.1')),
  },
  fastify: {
    example: (store, session) =>
      announced(async () => running(await startFastify(store, { ...LOOPBACK, session }))),
    async boom(store, config) {
      const app = Fastify();
      await app.register(fastifySession, { store, config });
      app.get('/boom', async (request) => {
        fastifySessionOf(request).boom = BOOM_VALUE;
        throw boomError();
      });
      await app.listen({ port: 0, host: '127.0.0.1' });
      return running(app.server);
    },
    async features(store, config) {
      const app = Fastify();
      await app.register(fastifySession, { store, config });
      app.route({
        method: ['GET', 'POST'],
        url: '/*',
        handler: async (request, reply) => {
          const path = request.url.split('?')[0] ?? '/';
          const answer = featureRoute(request.method, path, fastifySessionOf(request));
          if (answer.status === 303) return reply.redirect(answer.location, 303);
          return reply.code(answer.status).type('text/plain').send(answer.body);
        },
      });
      await app.listen({ port: 0, host: '127.0.0.1' });
      return running(app.server);
    },
  },
  hono: {
    example: (store, session) =>
      announced(async () => running(await startHono(store, { ...LOOPBACK, session }))),
    boom(store, config) {
      const app = new Hono<SessionEnv>();
      app.use(honoSession(store, { config: config as SessionConfig }));
      app.get('/boom', (c) => {
        c.var.session.boom = BOOM_VALUE;
        throw boomError();
      });
      app.onError((_err, c) => c.text('internal server error', 500));
      return running(serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server);
    },
    features(store, config) {
      const app = new Hono<SessionEnv>();
      app.use(honoSession(store, { config: config as SessionConfig }));
      app.all('*', (c) => {
        const answer = featureRoute(c.req.method, c.req.path, c.var.session);
        return answer.status === 303
          ? c.redirect(answer.location, 303)
          : c.text(answer.body, answer.status);
      });
      return running(serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server);
    },
  },
  fetch: {
    example: (store, session) =>
      announced(async () => running(await startFetch(store, { ...LOOPBACK, session }))),
    boom: (store, config) =>
      serveFetch(
        withFetchSession(
          store,
          (_request, session) => {
            session.boom = BOOM_VALUE;
            throw boomError();
          },
          {
            config: config as SessionConfig,
            onError: () => new Response('internal server error', { status: 500 }),
          },
        ),
      ),
    features: (store, config) =>
      serveFetch(
        withFetchSession(
          store,
          (request, session) => {
            const answer = featureRoute(request.method, new URL(request.url).pathname, session);
            if (answer.status === 303)
              return new Response(null, { status: 303, headers: { Location: answer.location } });
            return new Response(answer.body, {
              status: answer.status,
              headers: { 'Content-Type': 'text/plain' },
            });
          },
          { config: config as SessionConfig },
        ),
      ),
  },
  koa: {
    example: (store, session) =>
      announced(async () => running(await startKoa(store, { ...LOOPBACK, session }))),
    boom(store, config) {
      const app = new Koa();
      app.silent = true;
      app.use(koaSession(store, config));
      app.use((ctx) => {
        ctx.session.boom = BOOM_VALUE;
        throw boomError();
      });
      return running(app.listen(0, '127.0.0.1'));
    },
    features(store, config) {
      const app = new Koa();
      app.use(koaSession(store, config));
      app.use((ctx) => {
        const answer = featureRoute(ctx.method, ctx.path, ctx.session);
        if (answer.status === 303) {
          ctx.status = 303;
          ctx.redirect(answer.location);
        } else {
          ctx.status = answer.status;
          ctx.type = 'text/plain';
          ctx.body = answer.body;
        }
      });
      return running(app.listen(0, '127.0.0.1'));
    },
  },
};

/**
 * A fetch handler on a loopback port (through @hono/node-server, whose second argument gives the
 * adapter the socket's peer).
 */
function serveFetch(fetch: (request: Request, ...rest: unknown[]) => Promise<Response>) {
  return running(serve({ fetch, port: 0, hostname: '127.0.0.1' }) as Server);
}

function expressFeatures(app: ReturnType<typeof express>, store: StoreOrSealer, config: Config) {
  app.use(expressSession(store, config));
  app.use((req, res) => {
    const answer = featureRoute(req.method, req.path, expressSessionOf(req));
    if (answer.status === 303) res.redirect(303, answer.location);
    else res.status(answer.status).type('text/plain').send(answer.body);
  });
  return app;
}

function expressBoom(app: ReturnType<typeof express>, store: StoreOrSealer, config: Config) {
  app.use(expressSession(store, config));
  app.get('/boom', (req) => {
    expressSessionOf(req).boom = BOOM_VALUE;
    throw boomError();
  });
  // Express's default error handler logs the stack; answer quietly instead.
  app.use(
    (
      _err: unknown,
      _req: unknown,
      res: { status(n: number): { send(b: string): void } },
      _next: unknown,
    ) => {
      res.status(500).send('internal server error');
    },
  );
  return app;
}
