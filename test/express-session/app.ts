// An Express application written the express-session way (login with regenerate, a counter,
// logout with destroy, "remember me" through req.session.cookie.maxAge), started on a loopback
// port with the session middleware it is given.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, {
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
} from 'express';

/** What the app's handlers see of `req.session` (express-session's API, untyped data). */
export interface AppSession {
  id: string;
  cookie: {
    maxAge: number | null;
    originalMaxAge: number | null;
    expires: Date | null | undefined;
  };
  regenerate(fn: (err?: unknown) => void): unknown;
  destroy(fn: (err?: unknown) => void): unknown;
  save(fn: (err?: unknown) => void): unknown;
  save(): Promise<void>;
  reload(): Promise<void>;
  [key: string]: unknown;
}

export const THIRTY_DAYS_MS = 30 * 86400 * 1000;

const sessionOf = (req: Request) => (req as unknown as { session: AppSession }).session;

/** The app: `/login?user=…[&remember=1]`, `/`, `/count`, `/count-after-io`, `/logout`, `/lifetime`. */
export function createApp(middleware: RequestHandler): express.Express {
  const app = express();
  app.use(middleware);
  app.get('/login', (req: Request, res: Response, next: NextFunction) => {
    sessionOf(req).regenerate((err) => {
      if (err) return next(err);
      const session = sessionOf(req);
      session.user = String(req.query.user);
      if (req.query.remember) session.cookie.maxAge = THIRTY_DAYS_MS;
      session.save((err2) => (err2 ? next(err2) : res.redirect('/')));
    });
  });
  app.get('/', (req: Request, res: Response) => {
    const user = sessionOf(req).user;
    res.send(typeof user === 'string' ? `hello ${user}` : 'anonymous');
  });
  app.get('/count', (req: Request, res: Response) => {
    const session = sessionOf(req);
    session.count = ((session.count as number | undefined) ?? 0) + 1;
    res.send(String(session.count));
  });
  // The counter of an app that does some I/O between reading and writing the session.
  app.get('/count-after-io', async (req: Request, res: Response) => {
    const session = sessionOf(req);
    const count = (session.count as number | undefined) ?? 0;
    await new Promise((resolve) => setTimeout(resolve, 20));
    session.count = count + 1;
    res.send(String(session.count));
  });
  app.get('/logout', (req: Request, res: Response, next: NextFunction) => {
    sessionOf(req).destroy((err) => (err ? next(err) : res.redirect('/')));
  });
  app.get('/lifetime', (req: Request, res: Response) => {
    res.send(String(sessionOf(req).cookie.originalMaxAge));
  });
  return app;
}

/** A running app and its base URL. */
export interface RunningApp {
  url: string;
  close(): Promise<void>;
}

/** Starts `app` on a loopback port. */
export function listen(app: express.Express): Promise<RunningApp> {
  return new Promise((resolve, reject) => {
    const server: Server = app.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
    server.once('error', reject);
  });
}
