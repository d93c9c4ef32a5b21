// The example routes (the five of web.py's example and /metrics) on Hono (served by @hono/node-server) with websession/hono.
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import type { StoreOrSealer } from 'websession';
import { type SessionEnv, session } from 'websession/hono';
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

export function createApp(
  store: StoreOrSealer,
  options: Pick<ExampleOptions, 'session'>,
): Hono<SessionEnv<Data>> {
  const app = new Hono<SessionEnv<Data>>();
  const { manager, metrics } = managerWithMetrics(store, options);
  app.use(session<Data>(manager));
  app.get('/', (c) => c.html(c.var.session.get('logged_in', false) ? LOGGED_IN : LOGGED_OUT));
  app.get('/login', (c) => {
    c.var.session.logged_in = true;
    return c.redirect(home(c.req.header('host')), 303);
  });
  app.get('/logout', (c) => {
    c.var.session.logged_in = false;
    return c.redirect(home(c.req.header('host')), 303);
  });
  app.get('/count', async (c) => {
    const data = await c.var.session.update((s) => {
      s.count = (s.count ?? 0) + 1;
    });
    return c.text(String(data.count));
  });
  app.get('/kill', (c) => {
    c.var.session.kill();
    return c.text('killed');
  });
  app.get('/metrics', (c) => c.body(metrics.text(), 200, { 'Content-Type': metrics.contentType }));
  // Another method on a route: 405, as web.py (Hono's own answer would be 404).
  app.notFound((c) =>
    ROUTES.includes(c.req.path)
      ? c.body(METHOD_NOT_ALLOWED.body, METHOD_NOT_ALLOWED.status, METHOD_NOT_ALLOWED.headers)
      : c.text('not found', 404),
  );
  return app;
}

export function start(store: StoreOrSealer, options: ExampleOptions): Promise<Server> {
  const app = createApp(store, options);
  return listening(
    serve({ fetch: app.fetch, port: options.port, hostname: options.host }) as Server,
    options,
  );
}
