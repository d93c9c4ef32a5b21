// node:http: bare, and websession/node minimal (plain assignment, update(), metrics on) on
// MemoryStore, and on CookieStore (the session sealed in the cookie).
import * as c from './common.js';

function serve(use: c.Use) {
  return async (store: import('websession').StoreOrSealer) => {
    const { withSession } = await import('websession/node');
    const m = await c.manager(store, use);
    return c.nodeServer(
      withSession(m, (req, res, session) =>
        c.answer(c.countSession(session, req.url, use), (body) => {
          res.end(body);
        }),
      ),
    );
  };
}

export const NODE: Record<string, c.ServerSpec> = {
  ...c.minimalServers('node', () => c.nodeServer((_req, res) => res.end(c.nextCount())), serve),
  // The session sealed in the cookie: no store call, one open and one seal per request.
  'node-cookie': c.ours('node', 'cookie', serve('assign')),
};
