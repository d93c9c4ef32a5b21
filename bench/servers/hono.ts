// Hono on @hono/node-server: bare, and websession/hono minimal (plain assignment, update(),
// metrics on) on MemoryStore.
import type { Server } from 'node:http';
import * as c from './common.js';

/** A Hono app's `fetch` served by @hono/node-server on a free port. */
async function honoServe(fetch: (request: Request) => Response | Promise<Response>) {
  const { serve } = await import('@hono/node-server');
  return new Promise<Server>((resolve) => {
    const server = serve({ fetch, port: 0, hostname: '127.0.0.1' }, () =>
      resolve(server as Server),
    );
  });
}

function serve(use: c.Use) {
  return async (store: import('websession').StoreOrSealer) => {
    const { Hono } = await import('hono');
    const { session } = await import('websession/hono');
    const app = new Hono<import('websession/hono').SessionEnv>();
    app.use(session(await c.manager(store, use)));
    app.get('*', (ctx) =>
      c.answer(c.countSession(ctx.var.session, ctx.req.path, use), (body) => ctx.text(body)),
    );
    return honoServe(app.fetch);
  };
}

async function serveBare() {
  const { Hono } = await import('hono');
  const app = new Hono();
  app.get('*', (ctx) => ctx.text(c.nextCount()));
  return honoServe(app.fetch);
}

export const HONO = c.minimalServers('hono', serveBare, serve);
