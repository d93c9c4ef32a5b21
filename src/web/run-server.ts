/**
 * `app.run()`: the start-up checks, then an HTTP server listening, or, in debug mode, the code
 * reloader's supervisor (and, in the child it runs, the server handed over to it).
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { ConfigError } from '../core/errors.js';
import { parseAddress } from './address.js';
import { config } from './config.js';
import { announce } from './listen.js';
import { isReloaderChild, ReloaderChild } from './reloader-child.js';
import { shouldSupervise, supervise } from './reloader-supervisor.js';
import { runStartChecks } from './start-checks.js';
import type { RawResponse } from './types.js';

/** The application's node:http listener, each response changed by `transform` when given. */
type Listener = (
  transform?: (response: RawResponse) => RawResponse,
) => (req: IncomingMessage, res: ServerResponse) => void;

/** Serves `app` through `listener` on `address`, as `app.run()` documents. */
export function runServer(
  app: object,
  address: string | undefined,
  listener: Listener,
): Promise<Server> {
  const parsed = parseAddress(address);
  if (!parsed) {
    return Promise.reject(
      new TypeError(
        `[websession] bad address ${JSON.stringify(address)}: expected PORT or HOST:PORT`,
      ),
    );
  }
  if (config.debug && shouldSupervise()) {
    return supervise({ ...parsed, watch: config.reload_paths });
  }
  return runStartChecks(app).then(
    () => listen(parsed, listener),
    (err: unknown) => {
      if (!(err instanceof ConfigError)) throw err;
      console.error(err.message);
      process.exit(1);
    },
  );
}

function listen(
  parsed: NonNullable<ReturnType<typeof parseAddress>>,
  listener: Listener,
): Promise<Server> {
  const child = config.debug && isReloaderChild() ? ReloaderChild.get() : undefined;
  const server = createServer(child ? child.wrap(listener(child.transform)) : listener());
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(parsed.port, parsed.host, () => {
      server.off('error', reject);
      if (child) child.attach(server);
      else
        announce(parsed.host, (server.address() as { port?: number } | null)?.port ?? parsed.port);
      resolve(server);
    });
  });
}
