// Express: bare, and websession/express minimal (plain assignment, update(), metrics on) on
// MemoryStore, and on each store a peer of express-session has (the same-store ratios).
import * as c from './common.js';

function serve(use: c.Use) {
  return async (store: import('websession').StoreOrSealer) => {
    const express = (await import('express')).default;
    const { session, sessionOf } = await import('websession/express');
    const app = express();
    app.use(session(await c.manager(store, use)));
    app.get(['/', '/visit'], (req, res) =>
      c.answer(c.countSession(sessionOf(req), req.path, use), (body) => {
        res.send(body);
      }),
    );
    return c.listen(app.listen(0, '127.0.0.1'));
  };
}

async function serveBare() {
  const express = (await import('express')).default;
  const app = express();
  app.get(['/', '/visit'], (_req, res) => {
    res.send(c.nextCount());
  });
  return c.listen(app.listen(0, '127.0.0.1'));
}

export const EXPRESS = c.minimalServers('express', serveBare, serve);
for (const store of ['disk', 'sqlite', 'postgres', 'mysql', 'redis'] as const)
  EXPRESS[`express-${store}`] = c.ours('express', store, serve('assign'));
