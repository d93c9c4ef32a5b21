// The example routes (the five of web.py's example and /metrics) on Koa with websession/koa.
import type { Server } from 'node:http';
import Koa from 'koa';
import type { StoreOrSealer } from 'websession';
import { session, sessionOf } from 'websession/koa';
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

export function start(store: StoreOrSealer, options: ExampleOptions): Promise<Server> {
  const app = new Koa();
  const { manager, metrics } = managerWithMetrics(store, options);
  app.use(session<Data>(manager));
  app.use(async (ctx) => {
    if (!ROUTES.includes(ctx.path)) return; // Koa's 404
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      ctx.status = METHOD_NOT_ALLOWED.status;
      ctx.set(METHOD_NOT_ALLOWED.headers);
      ctx.body = METHOD_NOT_ALLOWED.body;
      return;
    }
    switch (ctx.path) {
      case '/':
        ctx.type = 'text/html; charset=utf-8';
        ctx.body = ctx.session.get('logged_in', false) ? LOGGED_IN : LOGGED_OUT;
        break;
      case '/login':
      case '/logout':
        ctx.session.logged_in = ctx.path === '/login';
        ctx.status = 303;
        ctx.redirect(home(ctx.host));
        ctx.body = '';
        break;
      case '/count': {
        const data = await sessionOf<Data>(ctx).update((s) => {
          s.count = (s.count ?? 0) + 1;
        });
        ctx.type = 'text/plain; charset=utf-8';
        ctx.body = String(data.count);
        break;
      }
      case '/kill':
        ctx.session.kill();
        ctx.type = 'text/plain; charset=utf-8';
        ctx.body = 'killed';
        break;
      case '/metrics':
        ctx.set('Content-Type', metrics.contentType);
        ctx.body = metrics.text();
        break;
    }
  });
  return listening(app.listen(options.port, options.host), options);
}
