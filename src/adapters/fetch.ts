/**
 * `websession/fetch`: sessions for servers that speak the web platform's `Request` and
 * `Response` (Bun.serve, Deno.serve, Next.js route handlers, any `fetch` handler).
 *
 * @example
 * import { MemoryStore } from 'websession';
 * import { withSession } from 'websession/fetch';
 *
 * type Data = { visits: number };
 * const handler = withSession<Data>(new MemoryStore(), async (request, session) => {
 *   session.visits = session.get('visits', 0) + 1;
 *   return new Response(`visit ${session.visits}`);
 * });
 * Bun.serve({ fetch: handler }); // or Deno.serve(handler)
 * @module
 */
import type { SessionData } from '../core/codec.js';
import type { SessionConfig } from '../core/config.js';
import type { RequestInfo, SessionManager } from '../core/manager.js';
import type { Session } from '../core/session.js';
import {
  answerResponse,
  aroundNext,
  errorAnswer,
  fetchHeaders,
  type ManagerSource,
  requestInfo,
  toManager,
  withSessionHeaders,
} from './common.js';
import { nodeIncomingHeaders } from './node-server.js';
import type { AppData } from './types.js';

export * from './public-types.js';

/**
 * A fetch handler that receives the request's session as its second argument; `rest` is what the
 * server passes after the request (Deno's `info`, Bun's `server`, a route's `context`).
 */
export type FetchSessionHandler<T extends SessionData, A extends unknown[]> = (
  request: Request,
  session: Session<T>,
  ...rest: A
) => Response | Promise<Response>;

/** Options of {@link withSession} beyond the session config. */
export interface FetchSessionOptions<
  T extends SessionData = SessionData,
  A extends unknown[] = [],
> {
  /** Session config, used when a store (not a manager) is given. */
  config?: SessionConfig<T>;
  /**
   * The client's IP address. Default: the peer named by the server's second argument when it is
   * Deno's `info.remoteAddr`, Bun's `server.requestIP(request)` or `@hono/node-server`'s
   * `env.incoming.socket`, else none; `trust_proxy` makes X-Forwarded-For win either way.
   */
  ip?: (request: Request, ...rest: A) => string | undefined;
  /**
   * The answer when the handler throws (after the session was committed; the session's headers
   * are added to it). Default: log the error and answer 500 `internal server error`. A store
   * failure (a `StoreError`, e.g. from `session.update`) is answered 503 without calling it.
   */
  onError?: (error: unknown, request: Request) => Response | Promise<Response>;
}

/** The default `onError`: the error logged, a plain 500. */
function internalError(error: unknown): Response {
  console.error(error);
  return new Response('internal server error', {
    status: 500,
    headers: { 'Content-Type': 'text/plain; charset=utf-8' },
  });
}

/** The peer's address from the server's second argument (Deno, Bun, `@hono/node-server`). */
function serverPeer(request: Request, server: unknown): string | undefined {
  if (typeof server !== 'object' || server === null) return undefined;
  const s = server as {
    remoteAddr?: { hostname?: unknown };
    requestIP?: (r: Request) => { address?: unknown } | null;
    incoming?: { socket?: { remoteAddress?: unknown } };
  };
  let address: unknown;
  if (s.remoteAddr) address = s.remoteAddr.hostname;
  else if (typeof s.requestIP === 'function') address = s.requestIP(request)?.address;
  else address = s.incoming?.socket?.remoteAddress;
  return typeof address === 'string' ? address : undefined;
}

/**
 * The manager's view of a fetch request (cookie, client IP, HTTPS; `trust_proxy` applied).
 * `server` is what the server passed after the request: under `@hono/node-server`, the headers
 * are read from node's request (the fetch `Request` is then not built in full).
 */
export function fetchRequestInfo(
  manager: SessionManager<never>,
  request: Request,
  ip: string | undefined,
  server?: unknown,
): RequestInfo {
  const headers = nodeIncomingHeaders(server) ?? fetchHeaders(request.headers);
  return requestInfo(manager, headers, ip, request.url.startsWith('https:'));
}

/**
 * Wraps a fetch handler so that it gets the request's session, and its Response the session's
 * Set-Cookie (added to the handler's own), `Cache-Control: private, no-store` with a cookie and
 * `Vary: Cookie` when the session was read.
 *
 * The session is committed when the handler's promise settles, before the Response is returned:
 * a change made later (by a streamed body's producer) throws a `SessionStateError` and is not
 * saved. The Response's body is never read: a Response whose headers are immutable (a `fetch()`
 * answer passed on, `Response.redirect`) is copied around the same body stream. A handler that
 * throws still commits what it set before the throw (as web.py's processor does), then `onError`
 * answers, with the session's cookie (which, with the CookieStore, is the session itself).
 *
 * An expired session (with `ignore_expiry: false`) is answered 200 with `expired_message`, a
 * store outage 503, at load, at commit or raised by the handler (`await session.update(…)`).
 *
 * @param source a `SessionManager`, a `Store`, or `{ manager }` / `{ store, config }`
 */
export function withSession<T extends SessionData = AppData, A extends unknown[] = []>(
  source: ManagerSource<T>,
  handler: FetchSessionHandler<T, A>,
  options: FetchSessionOptions<T, A> = {},
): (request: Request, ...rest: A) => Promise<Response> {
  const manager = toManager(source, options.config);
  const ipOf = options.ip ?? ((request: Request, ...rest: A) => serverPeer(request, rest[0]));
  const onError = options.onError ?? internalError;
  return async (request, ...rest) => {
    const info = fetchRequestInfo(
      manager as SessionManager<never>,
      request,
      ipOf(request, ...rest),
      rest[0],
    );
    let session: Session<T> | undefined;
    let response: Response | undefined;
    const out = await aroundNext(
      manager,
      info,
      (s) => {
        session = s;
      },
      async () => {
        response = await handler(request, session as Session<T>, ...rest);
      },
    );
    if (out.answer) return answerResponse(out.answer);
    if (out.thrown) {
      // A store failure raised by the handler (e.g. by `session.update`): 503, as at commit.
      const answer = errorAnswer(out.thrown.error, manager.config.logger);
      if (answer) return answerResponse({ ...answer, setCookie: out.setCookie });
      response = await onError(out.thrown.error, request);
    }
    return withSessionHeaders(response as Response, out.setCookie, out.read);
  };
}
