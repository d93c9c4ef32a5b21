/**
 * The middleware of `websession/express-session`: express-session's request cycle on websession's
 * core. A `SessionManager` loads and commits each session (locking, hashed store keys, the codec,
 * timeouts); `req.session` is an express-session {@link Session} whose data are compared with what
 * was loaded and handed to the core at the end. The cookie keeps express-session's form,
 * `s:<id>.<signature>`, so the secret(s) and cookie name of an application carry over.
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Awaitable, isPromise, then } from '../../core/awaitable.js';
import { readCookie } from '../../core/cookie.js';
import { errorAnswer } from '../../core/error-answer.js';
import { isValidSessionId } from '../../core/id.js';
import { type RequestInfo, SessionManager } from '../../core/manager.js';
import type { Session as CoreSession } from '../../core/session.js';
import {
  type ExpressSessionSecret,
  signExpressSessionCookie,
  verifyExpressSessionCookie,
} from '../../stores/express-session-cookie.js';
import { holdExpressResponses } from '../express-responses.js';
import { type CommitOutcome, holdResponse } from '../hold.js';
import { Cookie, type CookieOptions } from './cookie.js';
import { CookieVerifier } from './cookie-verifier.js';
import { type ExpressSessionOptions, type ResolvedOptions, resolveOptions } from './options.js';
import { HOST, Session, type SessionHost } from './session.js';
import { SessionQueue } from './session-queue.js';
import type { ConnectStoreLike, Store } from './store.js';

/** The request fields this middleware reads and sets (Express's, cookie-parser's, its own). */
export interface SessionRequest extends IncomingMessage {
  session?: Session | null | undefined;
  sessionID?: unknown;
  sessionStore?: unknown;
  /** A secret set by an earlier middleware (cookie-parser), used when the `secret` option is not. */
  secret?: string | undefined;
  /** Express's `req.secure` (follows its `trust proxy` setting). */
  secure?: boolean | undefined;
  originalUrl?: string | undefined;
  signedCookies?: Record<string, unknown> | undefined;
  cookies?: Record<string, unknown> | undefined;
  [HOST]?: SessionHost | undefined;
}

/** The middleware: `(req, res, next)`, as Express and connect call it. */
export type SessionMiddleware = (
  req: IncomingMessage,
  res: ServerResponse,
  next: (err?: unknown) => void,
) => void;

/** What every request cycle of one middleware shares. */
interface Shared {
  readonly manager: SessionManager;
  readonly options: ResolvedOptions;
  readonly queue: SessionQueue | undefined;
  /** A cookie outliving the server-side idle timeout was warned about (once). */
  warnedLifetime: boolean;
}

const NOOP = (): void => {};

const INTERNAL_ERROR: CommitOutcome = {
  answer: {
    status: 500,
    headers: { 'Content-Type': 'text/plain; charset=utf-8' },
    body: 'internal server error',
  },
};

let excluded: object | undefined;
function skipCookie(this: unknown, key: string, value: unknown): unknown {
  return key === 'cookie' && this === excluded ? undefined : value;
}

/** A session's data as JSON, without its cookie: what express-session compares to see a change. */
function dataText(session: object): string {
  excluded = session;
  try {
    return JSON.stringify(session, skipCookie);
  } finally {
    excluded = undefined;
  }
}

/** A cookie's lifetime in whole seconds, or null for a browser-session cookie. */
function lifetimeSeconds(cookie: Cookie): number | null {
  const ms = cookie.originalMaxAge;
  return typeof ms === 'number' && ms > 0 ? Math.max(1, Math.round(ms / 1000)) : null;
}

/** True when the request came over HTTPS, as express-session decides it with its `proxy` option. */
function isSecure(req: SessionRequest, proxy: boolean | undefined): boolean {
  if ((req.socket as { encrypted?: boolean }).encrypted) return true;
  if (proxy === false) return false;
  if (proxy !== true) return req.secure === true;
  const header = req.headers['x-forwarded-proto'];
  const first = (Array.isArray(header) ? header[0] : header)?.split(',')[0];
  return first?.trim().toLowerCase() === 'https';
}

/**
 * The verified session id of the request's cookie (or of cookie-parser's `req.signedCookies`);
 * `unsignId` gives the id of a signed value, or undefined.
 */
function cookieSessionId(
  req: SessionRequest,
  name: string,
  unsignId: (value: string) => string | undefined,
): string | undefined {
  const raw = readCookie(req.headers.cookie, name);
  let id = raw === undefined ? undefined : unsignId(raw);
  if (id === undefined && req.signedCookies) {
    const signed = req.signedCookies[name];
    if (typeof signed === 'string' && signed !== '') id = signed;
  }
  if (id === undefined && req.cookies) {
    const value = req.cookies[name];
    if (typeof value === 'string') id = unsignId(value);
  }
  return id;
}

/**
 * The request's cookie for the manager's migration (`migrate`), when one is configured and the
 * cookie names a session of express-session (`s:…`, not one of ours): only such a value is
 * passed on, and it never verifies as an id of ours.
 */
function oldCookie(req: SessionRequest, name: string, manager: SessionManager): string | undefined {
  if (manager.config.migrate === undefined) return undefined;
  const raw = readCookie(req.headers.cookie, name);
  // express-session writes it percent-encoded (`s%3A…`); the migration reads either form.
  return raw?.startsWith('s:') || raw?.startsWith('s%3A') ? `${name}=${raw}` : undefined;
}

/** The path of the request's URL before any router mounted it elsewhere. */
function originalPath(req: SessionRequest): string {
  const url = req.originalUrl ?? req.url ?? '/';
  const end = url.indexOf('?');
  return (end < 0 ? url : url.slice(0, end)) || '/';
}

/** One request's session: loaded by the core, shown as express-session's, committed at the response. */
class RequestCycle implements SessionHost {
  readonly #shared: Shared;
  readonly #req: SessionRequest;
  readonly #res: ServerResponse;
  readonly #info: RequestInfo;
  readonly #secret: ExpressSessionSecret;
  readonly #cookieOptions: CookieOptions;
  /** The id the request's cookie named (verified), if any. */
  readonly #cookieId: string | undefined;
  /** The session id whose queue this request holds, if any. */
  #queued: string | undefined;
  #core!: CoreSession;
  /** The data as loaded (JSON): a difference at the end means the session was modified. */
  #loadedText = '';
  /** The data as last handed to the core (JSON). */
  #savedText = '';
  #destroyed = false;
  /** The cookie's lifetime in seconds as loaded (null: browser-session), to see the app change it. */
  #loadedMaxAge: number | null = null;

  constructor(
    shared: Shared,
    req: SessionRequest,
    res: ServerResponse,
    info: RequestInfo,
    secret: ExpressSessionSecret,
    cookieOptions: CookieOptions,
    cookieId: string | undefined,
  ) {
    this.#shared = shared;
    this.#req = req;
    this.#res = res;
    this.#info = info;
    this.#secret = secret;
    this.#cookieOptions = cookieOptions;
    this.#cookieId = cookieId;
  }

  /** Loads the session (one request at a time per session, when serialized), then calls `next`. */
  enter(next: (err?: unknown) => void): void {
    const queue = this.#shared.queue;
    const id = this.#cookieId;
    if (queue === undefined || id === undefined || this.#info.cookie === undefined) {
      this.#load(next);
      return;
    }
    this.#queued = id;
    // A response that ends without a commit (the client went away) lets the next one in all the same.
    this.#res.once('close', () => this.#leave());
    queue.enter(id, () => this.#load(next));
  }

  #leave(): void {
    const id = this.#queued;
    if (id === undefined) return;
    this.#queued = undefined;
    this.#shared.queue?.leave(id);
  }

  #load(next: (err?: unknown) => void): void {
    const failed = (err: unknown) => {
      this.#leave();
      next(err);
    };
    let loaded: Awaitable<CoreSession>;
    try {
      loaded = this.#shared.manager.load(this.#info);
    } catch (err) {
      failed(err);
      return;
    }
    if (isPromise(loaded)) loaded.then((core) => this.#attach(core, next), failed);
    else this.#attach(loaded, next);
  }

  #attach(core: CoreSession, next: (err?: unknown) => void): void {
    this.#core = core;
    this.#req[HOST] = this;
    this.#present(this.#newCookie());
    holdResponse(this.#res, () => this.#commit());
    next();
  }

  /** Shows the core session as `req.session` (a new object) with `cookie`. */
  #present(cookie: Cookie): void {
    const req = this.#req;
    const core = this.#core;
    req.sessionID = core.id;
    const session = new Session(req, core.data);
    // The session's own lifetime ("remember me"), kept by the core in the record's meta.
    const own = core.getMaxAge();
    if (own === null) cookie.expires = null;
    else if (own !== undefined) cookie.maxAge = own * 1000;
    session.cookie = cookie;
    this.#loadedMaxAge = lifetimeSeconds(cookie);
    req.session = session;
    this.#loadedText = dataText(session);
    this.#savedText = this.#loadedText;
  }

  #newCookie(): Cookie {
    const options = this.#cookieOptions;
    const cookie = new Cookie(options);
    if (options.secure === 'auto') cookie.secure = this.#info.secure === true;
    if (options.sameSite === 'auto') cookie.sameSite = this.#info.secure ? 'none' : 'lax';
    return cookie;
  }

  /** Hands the data of `session` to the core session, key by key (the core writes what changed). */
  #sync(session: Session, text: string): void {
    const core = this.#core;
    for (const key of Object.keys(session)) if (key !== 'cookie') core.set(key, session[key]);
    for (const key of Object.keys(core.data))
      if (key === 'cookie' || !Object.hasOwn(session, key)) core.delete(key);
    this.#savedText = text;
  }

  save(): Promise<void> {
    const session = this.#req.session;
    if (!session) return Promise.reject(new Error('the session was destroyed'));
    const text = dataText(session);
    if (text !== this.#savedText) this.#sync(session, text);
    return this.#core.update(NOOP).then(NOOP);
  }

  reload(): Promise<void> {
    const core = this.#core;
    if (core.isNew || this.#destroyed) return Promise.reject(new Error('failed to load session'));
    const info = { ...this.#info, cookie: `${this.#shared.options.name}=${core.id}` };
    return Promise.resolve(this.#shared.manager.load(info)).then((fresh) => {
      if (fresh.isNew) throw new Error('failed to load session');
      this.#core = fresh;
      this.#present(this.#req.session?.cookie ?? this.#newCookie());
    });
  }

  regenerate(): Promise<void> {
    const core = this.#core;
    core.regenerate();
    for (const key of Object.keys(core.data)) core.delete(key);
    // A new session starts with the configured cookie, as in express-session.
    core.setMaxAge(undefined);
    this.#destroyed = false;
    this.#present(this.#newCookie());
    return Promise.resolve();
  }

  destroy(): Promise<void> {
    this.#destroyed = true;
    delete this.#req.session;
    return Promise.resolve();
  }

  /** The commit of the held response: the Set-Cookie to add, or the answer to send instead. */
  #commit(): Awaitable<CommitOutcome> {
    const done = (setCookie: string | undefined): CommitOutcome => {
      this.#leave();
      return { setCookie };
    };
    const failed = (err: unknown): CommitOutcome => {
      this.#leave();
      const answer = errorAnswer(err, this.#shared.manager.config.logger);
      if (answer) return { answer };
      console.error(err);
      return INTERNAL_ERROR;
    };
    try {
      const cookie = this.#persist();
      return isPromise(cookie) ? cookie.then(done, failed) : done(cookie);
    } catch (err) {
      return failed(err);
    }
  }

  /** Writes what the request changed; returns the Set-Cookie value to send, if any. */
  #persist(): Awaitable<string | undefined> {
    const { manager, options } = this.#shared;
    const req = this.#req;
    const core = this.#core;
    const session = req.session;
    if (typeof req.sessionID !== 'string') return undefined;
    if (this.#destroyed || (session == null && options.unsetDestroy)) {
      core.kill();
      return then(manager.commit(core, this.#info), (expired) =>
        expired === undefined ? undefined : this.#expiredCookie(),
      );
    }
    if (!(session instanceof Session))
      return then(manager.commit(core, this.#info), () => undefined);
    const text = dataText(session);
    if (text !== this.#savedText) this.#sync(session, text);
    const modified = text !== this.#loadedText;
    const maxAge = lifetimeSeconds(session.cookie);
    if (maxAge !== this.#loadedMaxAge) {
      core.setMaxAge(maxAge);
      if (maxAge !== null && maxAge > manager.config.timeout) this.#warnLifetime(maxAge);
    }
    const committed =
      // saveUninitialized: a new session nobody wrote to is stored all the same.
      options.saveUninitialized && core.isNew && !modified
        ? core.update(NOOP).then(() => manager.commit(core, this.#info))
        : manager.commit(core, this.#info);
    return then(committed, (sent) => this.#cookie(session, sent !== undefined, modified));
  }

  /** express-session's rule for sending the cookie, with the core's word on new sessions. */
  #cookie(session: Session, coreSends: boolean, modified: boolean): string | undefined {
    const core = this.#core;
    const send =
      this.#cookieId !== core.id
        ? coreSends
        : this.#shared.options.rolling || (session.cookie.expires != null && modified);
    if (!send || (session.cookie.secure && !this.#info.secure)) return undefined;
    session.touch();
    return session.cookie.serialize(
      this.#shared.options.name,
      signExpressSessionCookie(core.id, this.#secret),
    );
  }

  #warnLifetime(maxAge: number): void {
    const shared = this.#shared;
    if (shared.warnedLifetime) return;
    shared.warnedLifetime = true;
    const { timeout, logger } = shared.manager.config;
    logger.warn(
      `[websession] express-session: a cookie.maxAge of ${maxAge} s outlives the server-side idle timeout of ${timeout} s, after which the session ends; set the websession option { timeout: ${maxAge} } to keep such sessions (logged once)`,
    );
  }

  #expiredCookie(): string {
    const cookie = this.#newCookie();
    cookie.expires = new Date(0);
    return cookie.serialize(this.#shared.options.name, '');
  }
}

/**
 * express-session's middleware on websession: same options, same `req.session` API, same cookie;
 * the differences (all on the safe side) are listed in docs/express-session.md.
 * @example
 * import session from 'websession/express-session';
 * app.use(session({ secret: process.env.SESSION_SECRET, resave: false, saveUninitialized: false }));
 */
export function createMiddleware(options?: ExpressSessionOptions): SessionMiddleware {
  const resolved = resolveOptions(options);
  const manager = new SessionManager(resolved.coreStore, resolved.config);
  holdExpressResponses();
  const shared: Shared = {
    manager,
    options: resolved,
    queue: resolved.serialize ? new SessionQueue() : undefined,
    warnedLifetime: false,
  };
  if (options?.genid !== undefined)
    manager.config.logger.warn(
      '[websession] express-session: the genid option is not used; session ids always come from the CSPRNG (256 bits)',
    );
  const verifier = resolved.secrets && new CookieVerifier(resolved.secrets);
  const unsignWithOptions = verifier && ((value: string) => verifier.sessionId(value));
  let storeReady = true;
  const appStore = resolved.store as Partial<ConnectStoreLike> & Partial<Store>;
  if (typeof appStore.on === 'function') {
    appStore.on('disconnect', () => {
      storeReady = false;
    });
    appStore.on('connect', () => {
      storeReady = true;
    });
  }
  return function session(incoming, res, next): void {
    const req = incoming as SessionRequest;
    if (req.session || !storeReady) {
      next();
      return;
    }
    const o = resolved;
    const cookieOptions = typeof o.cookie === 'function' ? o.cookie(req) : o.cookie;
    if (!originalPath(req).startsWith(cookieOptions.path ?? '/')) {
      next();
      return;
    }
    const secrets = o.secrets ?? (req.secret ? [req.secret] : undefined);
    if (secrets === undefined) {
      next(new Error('secret option required for sessions'));
      return;
    }
    req.sessionStore = o.store;
    const cookieId = cookieSessionId(
      req,
      o.name,
      // cookie-parser's secret (`req.secret`) is the request's: verified without a memo.
      unsignWithOptions ?? ((value) => verifyExpressSessionCookie(value, secrets)?.sid),
    );
    req.sessionID = cookieId;
    const userAgent = req.headers['user-agent'];
    const info: RequestInfo = {
      cookie:
        cookieId !== undefined && isValidSessionId(cookieId)
          ? `${o.name}=${cookieId}`
          : oldCookie(req, o.name, manager),
      ip: req.socket.remoteAddress,
      secure: isSecure(req, o.proxy),
      userAgent,
    };
    new RequestCycle(
      shared,
      req,
      res,
      info,
      secrets[0] as ExpressSessionSecret,
      cookieOptions,
      cookieId,
    ).enter(next);
  };
}
