// Koa: bare, and websession/koa minimal (plain assignment, update(), metrics on) on MemoryStore.
import * as c from './common.js';

function serve(use: c.Use) {
  return async (store: import('websession').StoreOrSealer) => {
    const Koa = (await import('koa')).default;
    const { session } = await import('websession/koa');
    const app = new Koa();
    app.use(session(await c.manager(store, use)));
    app.use((ctx) =>
      c.answer(c.countSession(ctx.session, ctx.path, use), (body) => {
        ctx.body = body;
      }),
    );
    return c.listen(app.listen(0, '127.0.0.1'));
  };
}

async function serveBare() {
  const Koa = (await import('koa')).default;
  const app = new Koa();
  app.use((ctx) => {
    ctx.body = c.nextCount();
  });
  return c.listen(app.listen(0, '127.0.0.1'));
}

export const KOA = c.minimalServers('koa', serveBare, serve);
