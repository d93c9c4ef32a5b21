/**
 * `websession/express-session`: a drop-in replacement for express-session on websession's core.
 * Change the import and keep the rest of the application:
 *
 * @example
 * import session from 'websession/express-session'; // was: from 'express-session'
 * app.use(session({ secret: 'keyboard cat', resave: false, saveUninitialized: false }));
 * app.get('/', (req, res) => {
 *   req.session.views = (req.session.views ?? 0) + 1;
 *   res.send(`views: ${req.session.views}`);
 * });
 *
 * `require('websession/express-session')` gives the same function, as `require('express-session')`
 * does. Store packages written for express-session take it as they take express-session
 * (`require('session-file-store')(session)`, `new RedisStore({ client })`).
 * @module
 */
import { Cookie } from './cookie.js';
import { createMiddleware } from './middleware.js';
import { Session } from './session.js';
import { MemoryStore, Store } from './store.js';

export { Cookie, type CookieData, type CookieOptions } from './cookie.js';
export type { SessionMiddleware, SessionRequest } from './middleware.js';
export type { CoreSettings, ExpressSessionOptions } from './options.js';
export { Session, type SessionCallback } from './session.js';
export {
  type ConnectStoreLike,
  MemoryStore,
  type MemoryStoreConstructor,
  Store,
  type StoreCallback,
  type StoreConstructor,
  type StoredSessionData,
} from './store.js';

/** The middleware factory, carrying express-session's classes as properties. */
export const session: typeof createMiddleware & {
  readonly Store: typeof Store;
  readonly MemoryStore: typeof MemoryStore;
  readonly Session: typeof Session;
  readonly Cookie: typeof Cookie;
} = Object.assign(createMiddleware, { Store, MemoryStore, Session, Cookie });

export default session;
// What `require()` of this ES module returns (Node ≥ 20.19 / 22.12): the function itself, as
// `require('express-session')` does.
export { session as 'module.exports' };
