// The example routes (the five of web.py's example and /metrics) as one fetch handler with
// websession/fetch, served here by @hono/node-server (Bun.serve or Deno.serve take it as is).
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import type { StoreOrSealer } from 'websession';
import { withSession } from 'websession/fetch';
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

const TEXT = { 'Content-Type': 'text/plain; charset=utf-8' };

/** The example as a fetch handler: `(request, …server's arguments) => Promise<Response>`. */
export function createHandler(
  store: StoreOrSealer,
  options: Pick<ExampleOptions, 'session'>,
): (request: Request, ...rest: unknown[]) => Promise<Response> {
  const { manager, metrics } = managerWithMetrics(store, options);
  return withSession<ExampleData, unknown[]>(manager, async (request, session) => {
    const path = new URL(request.url).pathname;
    if (!ROUTES.includes(path)) return new Response('not found', { status: 404, headers: TEXT });
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      const { status, headers, body } = METHOD_NOT_ALLOWED;
      return new Response(body, { status, headers });
    }
    if (path === '/') {
      const page = session.get('logged_in', false) ? LOGGED_IN : LOGGED_OUT;
      return new Response(page, { headers: { 'Content-Type': 'text/html; charset=utf-8' } });
    }
    if (path === '/login' || path === '/logout') {
      session.logged_in = path === '/login';
      return Response.redirect(home(request.headers.get('host') ?? undefined), 303);
    }
    if (path === '/count') {
      const data = await session.update((s) => {
        s.count = (s.count ?? 0) + 1;
      });
      return new Response(String(data.count), { headers: TEXT });
    }
    if (path === '/kill') {
      session.kill();
      return new Response('killed', { headers: TEXT });
    }
    return new Response(metrics.text(), { headers: { 'Content-Type': metrics.contentType } });
  });
}

export function start(store: StoreOrSealer, options: ExampleOptions): Promise<Server> {
  return listening(
    serve({
      fetch: createHandler(store, options),
      port: options.port,
      hostname: options.host,
    }) as Server,
    options,
  );
}
