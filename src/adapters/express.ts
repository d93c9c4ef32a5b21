/**
 * `websession/express`: session middleware for Express 5 and 4. The session is `sessionOf(req)`
 * (at run time also `req.session`, left untyped so that express-session's types can coexist).
 *
 * @example
 * import express from 'express';
 * import { DiskStore } from 'websession';
 * import { session, sessionOf } from 'websession/express';
 *
 * const app = express();
 * app.use(session(new DiskStore('sessions')));
 * app.get('/login', (req, res) => {
 *   sessionOf(req).logged_in = true;
 *   res.redirect(303, '/');
 * });
 * @module
 */
import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express';
import { isPromise } from '../core/awaitable.js';
import type { SessionData } from '../core/codec.js';
import type { SessionConfig } from '../core/config.js';
import type { Session } from '../core/session.js';
import { errorAnswer, type ManagerSource, toManager } from './common.js';
import { holdExpressResponses } from './express-responses.js';
import { sendAnswer } from './hold.js';
import { type Attached, attachSession } from './node.js';
import type { AppData } from './types.js';

export * from './public-types.js';

/**
 * The request as the middleware leaves it. `req.session` is not declared on Express's `Request`:
 * @types/express-session declares it with its own type, and two declarations of one property
 * must agree (TS2717), so an application migrating with both installed could not compile. Our
 * code reads and writes it through this type, whatever other declarations say.
 */
type SessionCarrier = { session?: unknown };

/**
 * Session middleware: loads the session before the next handlers and commits it before the
 * response's headers are sent, so a `res.redirect()` saves what was set before it, and so does a
 * handler that throws (the error handler's answer commits it; as web.py's processor).
 *
 * An expired session (with `ignore_expiry: false`) is answered 200 with `expired_message`, a store
 * outage 503; neither reaches your handlers.
 *
 * @param source a `SessionManager`, a `Store`, or `{ manager }` / `{ store, config }`
 * @param config session config when a store is given
 * @example app.use(session<{ user: string }>(new MemoryStore(), { timeout: 3600 }));
 */
export function session<T extends SessionData = AppData>(
  source: ManagerSource<T>,
  config?: SessionConfig<T>,
): RequestHandler {
  const manager = toManager(source, config);
  holdExpressResponses();
  const proceed = (req: Request, next: NextFunction, attached: Attached<T> | undefined) => {
    if (!attached) return;
    (req as SessionCarrier).session = attached.session;
    next();
  };
  return (req: Request, res: Response, next: NextFunction): void => {
    const attached = attachSession(manager, req, res);
    if (isPromise(attached)) attached.then((a) => proceed(req, next, a), next);
    else proceed(req, next, attached);
  };
}

/**
 * The session of a request: typed by `AppSessionData`, or by the data type you give.
 * @example const s = sessionOf<{ user: string }>(req);
 */
export function sessionOf<T extends SessionData = AppData>(req: Request): Session<T> {
  return (req as SessionCarrier).session as Session<T>;
}

/**
 * Error middleware that answers a session store failure raised inside a handler (for example by
 * `await sessionOf(req).update(…)` while the store is down) with 503, as the load and the commit
 * do, instead of Express's default 500. Register it after your routes; other errors go on to
 * the next error handler.
 * @example app.use(sessionErrors());
 */
export function sessionErrors(): ErrorRequestHandler {
  return (err: unknown, _req: Request, res: Response, next: NextFunction): void => {
    const answer = errorAnswer(err);
    if (!answer || res.headersSent) {
      next(err);
      return;
    }
    sendAnswer(res, answer);
  };
}
