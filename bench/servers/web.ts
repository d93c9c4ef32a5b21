// The web.py-style layer (websession/web): bare, and a minimal counter on every store.
import { createServer, type Server } from 'node:http';
import type { StoreOrSealer } from 'websession';
import { bare, count, listen, nextCount, ours, SESSION_CONFIG, type ServerSpec } from './common.js';

async function serve(store: StoreOrSealer): Promise<Server> {
  const web = await import('websession/web');
  const app = web.application(['/', 'Count', '/visit', 'Count'], () => ({ Count }));
  const session = web.session.Session<{ count: number }>(app, store, null, SESSION_CONFIG);
  class Count {
    GET() {
      return count(
        web.ctx.path,
        () => session.get('count', 0),
        (n) => {
          session.count = n;
        },
      );
    }
  }
  return listen(createServer(app.listener()));
}

async function serveBare(): Promise<Server> {
  const web = await import('websession/web');
  class Count {
    GET() {
      return nextCount();
    }
  }
  const app = web.application(['/', 'Count'], () => ({ Count }));
  return listen(createServer(app.listener()));
}

export const WEB: Record<string, ServerSpec> = { 'bare-web': bare('web', serveBare) };
for (const store of ['memory', 'disk', 'sqlite', 'postgres', 'mysql', 'shelf', 'redis'] as const)
  WEB[`web-${store}`] = ours('web', store, serve);
