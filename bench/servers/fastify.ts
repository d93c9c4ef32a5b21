// Fastify: bare, and websession/fastify minimal (plain assignment, update(), metrics on) on
// MemoryStore.
import * as c from './common.js';

function serve(use: c.Use) {
  return async (store: import('websession').StoreOrSealer) => {
    const Fastify = (await import('fastify')).default;
    const { fastifySession, sessionOf } = await import('websession/fastify');
    const app = Fastify();
    await app.register(fastifySession, { manager: await c.manager(store, use) });
    const handler = async (request: import('fastify').FastifyRequest) =>
      c.countSession(sessionOf(request), request.url, use);
    app.get('/', handler);
    app.get('/visit', handler);
    await app.listen({ port: 0, host: '127.0.0.1' });
    return app.server;
  };
}

async function serveBare() {
  const Fastify = (await import('fastify')).default;
  const app = Fastify();
  app.get('/', async () => c.nextCount());
  await app.listen({ port: 0, host: '127.0.0.1' });
  return app.server;
}

export const FASTIFY = c.minimalServers('fastify', serveBare, serve);
