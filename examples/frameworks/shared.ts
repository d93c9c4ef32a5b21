// What every framework example shares: the web.py example's exact HTML strings and options, and
// the session manager with its Prometheus metrics (served at `/metrics`).
import type { Server } from 'node:http';
import { type SessionConfig, SessionManager, type StoreOrSealer } from 'websession';
import { type SessionMetrics, sessionMetrics } from 'websession/metrics';

export const LOGGED_IN = '<h1>You are logged in</h1><a href="/logout">Logout</a>';
export const LOGGED_OUT = '<h1>You are not logged in.</h1><a href="/login">Login now</a>';

/** The paths every example serves, all GET (and HEAD) only. */
export const ROUTES: readonly string[] = ['/', '/login', '/logout', '/count', '/kill', '/metrics'];

/**
 * The answer to another method on one of {@link ROUTES}: `405 Method Not Allowed` with `Allow:
 * GET`, as web.py's `nomethod` gives for a class with only `GET` (HEAD is served by GET). A path
 * that is not a route is a 404 whatever the method.
 */
export const METHOD_NOT_ALLOWED = {
  status: 405,
  headers: { Allow: 'GET', 'Content-Type': 'text/plain; charset=utf-8' },
  body: 'method not allowed',
} as const;

/** The session data of the examples. */
export type ExampleData = { logged_in: boolean; count: number };

export interface ExampleOptions {
  host: string;
  port: number;
  /** Extra session config (tests use it; the runner passes none). */
  session?: SessionConfig<ExampleData>;
}

/**
 * The example's session manager over `store` (given to the adapter) and the Prometheus metrics of
 * its events, which every example serves at `/metrics` as `text()` with `contentType`.
 */
export function managerWithMetrics(
  store: StoreOrSealer,
  options: Pick<ExampleOptions, 'session'>,
): { manager: SessionManager<ExampleData>; metrics: SessionMetrics } {
  const manager = new SessionManager<ExampleData>(store, options.session);
  return { manager, metrics: sessionMetrics(manager) };
}

/** Where `/login` and `/logout` redirect: `http://host/`, absolute as web.py's `seeother('/')` makes it. */
export function home(host: string | undefined): string {
  return `http://${host ?? 'localhost'}/`;
}

/** Resolves once `server` listens, printing its URL as web.py's `app.run()` does. */
export function listening<S extends Server>(server: S, options: ExampleOptions): Promise<S> {
  return new Promise((resolve, reject) => {
    const ready = () => {
      server.off('error', reject);
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : options.port;
      const shown = options.host.includes(':') ? `[${options.host}]` : options.host;
      console.log(`http://${shown}:${port}/`);
      resolve(server);
    };
    if (server.listening) ready();
    else {
      server.once('error', reject);
      server.once('listening', ready);
    }
  });
}
