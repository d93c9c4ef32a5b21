// The example routes on the web.py-style layer.
import type { Server } from 'node:http';
import type { StoreOrSealer } from 'websession';
import { sessionMetrics } from 'websession/metrics';
import * as web from 'websession/web';
import { type ExampleOptions, LOGGED_IN, LOGGED_OUT } from './shared.js';

type Data = { logged_in: boolean; count: number };

export async function start(store: StoreOrSealer, options: ExampleOptions): Promise<Server> {
  // biome-ignore format: web.py's pattern, handler pairs
  const urls = [
    '/', 'Index',
    '/login', 'Login',
    '/logout', 'Logout',
    '/count', 'Count',
    '/kill', 'Kill',
    '/metrics', 'Metrics',
  ];
  const app = web.application(urls, () => ({ Index, Login, Logout, Count, Kill, Metrics }));
  const session = web.session.Session<Data>(app, store, null, options.session);
  const metrics = sessionMetrics(session.manager);

  class Index {
    GET() {
      return session.get('logged_in', false) ? LOGGED_IN : LOGGED_OUT;
    }
  }
  class Login {
    GET() {
      session.logged_in = true;
      throw web.seeother('/');
    }
  }
  class Logout {
    GET() {
      session.logged_in = false;
      throw web.seeother('/');
    }
  }
  class Count {
    async GET() {
      const data = await session.update((s) => {
        s.count = (s.count ?? 0) + 1;
      });
      web.header('Content-Type', 'text/plain; charset=utf-8');
      return String(data.count);
    }
  }
  class Kill {
    GET() {
      session.kill();
      web.header('Content-Type', 'text/plain; charset=utf-8');
      return 'killed';
    }
  }
  class Metrics {
    GET() {
      web.header('Content-Type', metrics.contentType);
      return metrics.text();
    }
  }
  return app.run(
    `${options.host.includes(':') ? `[${options.host}]` : options.host}:${options.port}`,
  );
}
