// The example routes (the five of web.py's example and /metrics) on Fastify with websession/fastify.
import type { Server } from 'node:http';
import Fastify from 'fastify';
import type { StoreOrSealer } from 'websession';
import { fastifySession, sessionOf } from 'websession/fastify';
import {
  type ExampleOptions,
  home,
  LOGGED_IN,
  LOGGED_OUT,
  listening,
  METHOD_NOT_ALLOWED,
  managerWithMetrics,
  ROUTES,
} from './shared.js';

type Data = { logged_in: boolean; count: number };

export async function start(store: StoreOrSealer, options: ExampleOptions): Promise<Server> {
  const app = Fastify();
  const { manager, metrics } = managerWithMetrics(store, options);
  await app.register(fastifySession, { manager });
  app.get('/', async (request, reply) => {
    reply.type('text/html; charset=utf-8');
    return sessionOf<Data>(request).get('logged_in', false) ? LOGGED_IN : LOGGED_OUT;
  });
  app.get('/login', async (request, reply) => {
    sessionOf<Data>(request).logged_in = true;
    return reply.redirect(home(request.headers.host), 303);
  });
  app.get('/logout', async (request, reply) => {
    sessionOf<Data>(request).logged_in = false;
    return reply.redirect(home(request.headers.host), 303);
  });
  app.get('/count', async (request, reply) => {
    const data = await sessionOf<Data>(request).update((s) => {
      s.count = (s.count ?? 0) + 1;
    });
    reply.type('text/plain; charset=utf-8');
    return String(data.count);
  });
  app.get('/kill', async (request, reply) => {
    sessionOf<Data>(request).kill();
    reply.type('text/plain; charset=utf-8');
    return 'killed';
  });
  app.get('/metrics', async (_request, reply) => {
    reply.type(metrics.contentType);
    return metrics.text();
  });
  // Another method on a route: 405, as web.py (Fastify's own answer would be 404).
  app.setNotFoundHandler(async (request, reply) => {
    if (!ROUTES.includes(request.url.split('?')[0]!)) {
      reply.code(404).type('text/plain; charset=utf-8');
      return 'not found';
    }
    reply.code(METHOD_NOT_ALLOWED.status).headers(METHOD_NOT_ALLOWED.headers);
    return METHOD_NOT_ALLOWED.body;
  });
  await app.listen({ port: options.port, host: options.host });
  return listening(app.server, options);
}
