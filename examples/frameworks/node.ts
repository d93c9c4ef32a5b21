// The example routes (the five of web.py's example and /metrics) on plain node:http with websession/node.
import { createServer, type Server } from 'node:http';
import type { StoreOrSealer } from 'websession';
import { withSession } from 'websession/node';
import {
  type ExampleData,
  type ExampleOptions,
  home,
  LOGGED_IN,
  LOGGED_OUT,
  listening,
  METHOD_NOT_ALLOWED,
  managerWithMetrics,
  ROUTES,
} from './shared.js';

export function start(store: StoreOrSealer, options: ExampleOptions): Promise<Server> {
  const { manager, metrics } = managerWithMetrics(store, options);
  const listener = withSession<ExampleData>(manager, async (req, res, session) => {
    const path = (req.url ?? '/').split('?', 1)[0] as string;
    if (!ROUTES.includes(path)) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
    } else if (req.method !== 'GET' && req.method !== 'HEAD') {
      const { status, headers, body } = METHOD_NOT_ALLOWED;
      res.writeHead(status, headers).end(body);
    } else if (path === '/') {
      // Read before the headers go out, so that the answer carries `Vary: Cookie`.
      const page = session.get('logged_in', false) ? LOGGED_IN : LOGGED_OUT;
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(page);
    } else if (path === '/login' || path === '/logout') {
      session.logged_in = path === '/login';
      res.writeHead(303, { Location: home(req.headers.host) }).end();
    } else if (path === '/count') {
      const data = await session.update((s) => {
        s.count = (s.count ?? 0) + 1;
      });
      res.setHeader('Content-Type', 'text/plain; charset=utf-8');
      res.end(String(data.count));
    } else if (path === '/kill') {
      session.kill();
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' }).end('killed');
    } else {
      res.writeHead(200, { 'Content-Type': metrics.contentType }).end(metrics.text());
    }
  });
  return listening(createServer(listener).listen(options.port, options.host), options);
}
