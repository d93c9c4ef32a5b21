/**
 * `websession/node`: sessions for plain `node:http` servers.
 *
 * @example
 * import { createServer } from 'node:http';
 * import { MemoryStore } from 'websession';
 * import { withSession } from 'websession/node';
 *
 * const server = createServer(withSession(new MemoryStore(), async (req, res, session) => {
 *   session.visits = (session.get('visits', 0) as number) + 1;
 *   res.end(`visit ${session.visits}`);
 * }));
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SessionData } from '../core/codec.js';
import type { SessionConfig } from '../core/config.js';
import type { RequestInfo, SessionManager } from '../core/manager.js';
import type { Session } from '../core/session.js';
import { errorAnswer, type ManagerSource, requestInfo, toManager } from './common.js';
import { type CommitOutcome, holdResponse, sendAnswer } from './hold.js';

export { type SessionOptions, STORE_UNAVAILABLE_BODY } from './common.js';
export type { Session };

/** A request handler that receives the request's session as its third argument. */
export type SessionHandler<T extends SessionData = SessionData> = (
  req: IncomingMessage,
  res: ServerResponse,
  session: Session<T>,
) => unknown;

/** Options of {@link withSession} beyond the session config. */
export interface NodeSessionOptions<T extends SessionData = SessionData> {
  /** Session config, used when a store (not a manager) is given. */
  config?: SessionConfig<T>;
  /**
   * Called when the handler throws (after the session was committed). Default: answer a store
   * failure (a `StoreError`, e.g. from `session.update`) 503 as at load and commit; log anything
   * else and answer 500 `internal server error`; both only when nothing was sent yet.
   */
  onError?: (error: unknown, req: IncomingMessage, res: ServerResponse) => void;
}

/** True when the request came over TLS. */
export function isEncrypted(req: IncomingMessage): boolean {
  return Boolean((req.socket as { encrypted?: boolean }).encrypted);
}

/** The manager's view of a node request (cookie, client IP, HTTPS; `trust_proxy` applied). */
function nodeRequestInfo(manager: SessionManager<never>, req: IncomingMessage): RequestInfo {
  return requestInfo(manager, req.headers, req.socket.remoteAddress, isEncrypted(req));
}

/**
 * Loads the session of `req`, holds `res` so that the session is committed (and its Set-Cookie
 * added) before the headers go out, and returns the session with the function that commits it
 * when nothing was written yet. Answers the request itself (and returns undefined) when the
 * session expired (200 `expired_message`) or the store is down (503).
 */
export async function attachSession<T extends SessionData>(
  manager: SessionManager<T>,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<{ session: Session<T>; settle: () => Promise<void> } | undefined> {
  const info = nodeRequestInfo(manager as SessionManager<never>, req);
  let session: Session<T>;
  try {
    session = await manager.load(info);
  } catch (err) {
    const answer = errorAnswer(err, manager.config.logger);
    if (!answer) throw err;
    sendAnswer(res, answer);
    return undefined;
  }
  const settle = holdResponse(res, async (): Promise<CommitOutcome> => {
    try {
      return { setCookie: await manager.commit(session, info) };
    } catch (err) {
      const answer = errorAnswer(err, manager.config.logger);
      if (answer) return { answer };
      console.error(err);
      return {
        answer: {
          status: 500,
          headers: { 'Content-Type': 'text/plain; charset=utf-8' },
          body: 'internal server error',
        },
      };
    }
  });
  return { session, settle };
}

/**
 * The default `onError`: a store failure raised by the handler (e.g. by `session.update`) is
 * answered 503 as at load and commit, keeping the session cookie; anything else is logged and
 * answered 500.
 */
function defaultOnError(
  error: unknown,
  res: ServerResponse,
  logger: { warn(message: string, error?: unknown): void },
): void {
  const answer = errorAnswer(error, logger);
  if (!answer) console.error(error);
  if (res.writableEnded) return;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (answer) {
    sendAnswer(res, answer, true);
    return;
  }
  res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end('internal server error');
}

/**
 * Wraps a handler into a `(req, res)` listener for `http.createServer` that gives it the
 * request's session.
 *
 * The session is committed before the response's headers are sent: at the handler's first
 * `writeHead`/`write`/`end`, or when its promise settles, whichever is first; changes made after
 * that are not saved. A handler that throws still commits what it set before the throw (as web.py's
 * processor does with try/finally), then `onError` answers.
 *
 * @param source a `SessionManager`, a `Store`, or `{ manager }` / `{ store, config }`
 * @example
 * createServer(withSession(new DiskStore('sessions'), (req, res, session) => {
 *   if (req.url === '/login') { session.logged_in = true; res.writeHead(303, { Location: '/' }).end(); return; }
 *   res.end(session.get('logged_in', false) ? 'logged in' : 'not logged in');
 * })).listen(8080);
 */
export function withSession<T extends SessionData = SessionData>(
  source: ManagerSource<T>,
  handler: SessionHandler<T>,
  options: NodeSessionOptions<T> = {},
): (req: IncomingMessage, res: ServerResponse) => void {
  const manager = toManager(source, options.config);
  const onError =
    options.onError ??
    ((error: unknown, _req: IncomingMessage, res: ServerResponse) =>
      defaultOnError(error, res, manager.config.logger));
  const serve = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const attached = await attachSession(manager, req, res);
    if (!attached) return;
    let failure: { error: unknown } | undefined;
    try {
      await handler(req, res, attached.session);
    } catch (error) {
      failure = { error };
    } finally {
      await attached.settle();
    }
    if (failure) onError(failure.error, req, res);
  };
  return (req, res) => {
    serve(req, res).catch((error: unknown) => {
      try {
        onError(error, req, res);
      } catch {
        res.destroy();
      }
    });
  };
}
