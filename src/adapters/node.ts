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
import { type Awaitable, isPromise } from '../core/awaitable.js';
import { sessionWasRead } from '../core/cache-headers.js';
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

/** The commit of `session` as the hold needs it: the cookie, or the answer that replaces the response. */
function commitOutcome<T extends SessionData>(
  manager: SessionManager<T>,
  session: Session<T>,
  info: RequestInfo,
): Awaitable<CommitOutcome> {
  const committed = manager.commit(session, info);
  return isPromise(committed)
    ? committed.then(
        (setCookie) => ({ setCookie, read: sessionWasRead(session) }),
        (err: unknown) => failedCommit(manager.config.logger, err),
      )
    : { setCookie: committed, read: sessionWasRead(session) };
}

/** The answer to a commit that failed: the store's error answer (503), else 500. */
function failedCommit(
  logger: { warn(message: string, error?: unknown): void },
  err: unknown,
): CommitOutcome {
  const answer = errorAnswer(err, logger);
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

/** A session attached to a held response, with the function that commits it (see {@link attachSession}). */
export interface Attached<T extends SessionData> {
  session: Session<T>;
  /** Commits now unless the response already did; returns once the response is released. */
  settle: () => Awaitable<void>;
}

/**
 * Loads the session of `req`, holds `res` so that the session is committed (and its Set-Cookie
 * added) before the headers go out, and returns the session with the function that commits it
 * when nothing was written yet. Answers the request itself (and returns undefined) when the
 * session expired (200 `expired_message`) or the store is down (503). With a store that answers
 * at once, it returns at once too.
 */
export function attachSession<T extends SessionData>(
  manager: SessionManager<T>,
  req: IncomingMessage,
  res: ServerResponse,
): Awaitable<Attached<T> | undefined> {
  const info = nodeRequestInfo(manager as SessionManager<never>, req);
  const loaded = manager.load(info);
  if (!isPromise(loaded)) return attach(manager, res, loaded, info);
  return loaded.then(
    (session) => attach(manager, res, session, info),
    (err: unknown) => {
      const answer = errorAnswer(err, manager.config.logger);
      if (!answer) throw err;
      sendAnswer(res, answer);
      return undefined;
    },
  );
}

/** `session` attached to `res`, held until the session is committed. */
function attach<T extends SessionData>(
  manager: SessionManager<T>,
  res: ServerResponse,
  session: Session<T>,
  info: RequestInfo,
): Attached<T> {
  return { session, settle: holdResponse(res, () => commitOutcome(manager, session, info)) };
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
 * `writeHead`/`write`/`end`, or when its promise settles, whichever is first; a change made after
 * that throws a `SessionStateError` (logged once through the config's `logger`) and is not saved. A handler that throws still commits what it set before the throw (as web.py's
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
  /** After the handler: commit (unless the response did), then answer a handler's error. */
  const finish = (
    req: IncomingMessage,
    res: ServerResponse,
    attached: Attached<T>,
    failure?: { error: unknown },
  ): void => {
    const settled = attached.settle();
    if (!failure) {
      if (isPromise(settled)) settled.catch((error: unknown) => fail(error, req, res));
      return;
    }
    if (isPromise(settled))
      settled.then(
        () => fail(failure.error, req, res),
        (error: unknown) => fail(error, req, res),
      );
    else fail(failure.error, req, res);
  };
  const fail = (error: unknown, req: IncomingMessage, res: ServerResponse): void => {
    try {
      onError(error, req, res);
    } catch {
      res.destroy();
    }
  };
  const run = (req: IncomingMessage, res: ServerResponse, attached: Attached<T> | undefined) => {
    if (!attached) return;
    let result: unknown;
    try {
      result = handler(req, res, attached.session);
    } catch (error) {
      finish(req, res, attached, { error });
      return;
    }
    if (isPromise(result))
      result.then(
        () => finish(req, res, attached),
        (error: unknown) => finish(req, res, attached, { error }),
      );
    else finish(req, res, attached);
  };
  return (req, res) => {
    let attached: Awaitable<Attached<T> | undefined>;
    try {
      attached = attachSession(manager, req, res);
    } catch (error) {
      fail(error, req, res);
      return;
    }
    if (isPromise(attached))
      attached.then(
        (a) => run(req, res, a),
        (error: unknown) => fail(error, req, res),
      );
    else run(req, res, attached);
  };
}
