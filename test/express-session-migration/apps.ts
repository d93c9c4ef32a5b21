// The application the migration tests switch: written the express-session way (login with
// regenerate, a counter, logout with destroy, "remember me" with req.session.cookie.maxAge), and
// the same routes on websession's own Express adapter until the express-session compatible
// middleware (`websession/express-session`) takes the express-session way as it is: then
// `expressSessionApp(thatMiddleware(...))` replaces `websessionApp(...)` in the tests.
import express, { type RequestHandler } from 'express';
import { sessionOf } from 'websession/express';
import { type Running, running } from '../adapters/servers.js';

/** express-session's req.session, as the routes use it. */
interface EsSession {
  user?: string;
  count?: number;
  cookie: { maxAge: number | null | undefined };
  regenerate(cb: (err?: unknown) => void): void;
  destroy(cb: (err?: unknown) => void): void;
  save(cb: (err?: unknown) => void): void;
}

/** "Remember me": the cookie lives 30 days instead of the browser session. */
export const REMEMBER_MS = 30 * 86400_000;

/** The app on express-session (`session` is express-session's middleware, configured). */
export function expressSessionApp(session: RequestHandler): express.Express {
  const app = express();
  app.use(session);
  const es = (req: express.Request) => (req as unknown as { session: EsSession }).session;
  app.get('/login', (req, res, next) => {
    es(req).regenerate((err) => {
      if (err) return next(err);
      const s = es(req);
      s.user = String(req.query.user);
      if (req.query.remember === '1') s.cookie.maxAge = REMEMBER_MS;
      s.save((e) => (e ? next(e) : res.send(`hello ${s.user}`)));
    });
  });
  app.get('/count', (req, res) => {
    const s = es(req);
    s.count = (s.count ?? 0) + 1;
    res.send(String(s.count));
  });
  app.get('/whoami', (req, res) => {
    res.send(es(req).user ?? 'anonymous');
  });
  app.get('/logout', (req, res, next) => {
    es(req).destroy((err) => (err ? next(err) : res.send('bye')));
  });
  return app;
}

/** The same routes on websession's Express adapter (`session` is its middleware, configured). */
export function websessionApp(session: RequestHandler): express.Express {
  const app = express();
  app.use(session);
  const ws = (req: express.Request) => sessionOf<{ user: string; count: number }>(req);
  app.get('/login', async (req, res) => {
    const s = ws(req);
    s.regenerate();
    s.user = String(req.query.user);
    res.send(`hello ${s.user}`);
  });
  app.get('/count', (req, res) => {
    const s = ws(req);
    s.count = (s.count ?? 0) + 1;
    res.send(String(s.count));
  });
  app.get('/whoami', (req, res) => {
    res.send(ws(req).user ?? 'anonymous');
  });
  app.get('/logout', (req, res) => {
    ws(req).kill();
    res.send('bye');
  });
  return app;
}

/** The app listening on a free loopback port. */
export function listen(app: express.Express): Promise<Running> {
  return running(app.listen(0, '127.0.0.1'));
}
