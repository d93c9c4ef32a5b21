/**
 * What every framework adapter shares: building the manager from the options, reading the
 * request's cookie, client IP and scheme (with `trust_proxy`), and the request cycle around
 * `next()`. The answers to load/commit errors (an expired session → 200 `expired_message`, a
 * store outage → 503) are core/error-answer.ts's, shared with the web layer, and re-exported here.
 * Nothing here imports a framework; the fetch `Response` helpers use only the web platform's
 * globals (shared by the Hono and fetch adapters).
 * @module
 */
import { isPromise } from '../core/awaitable.js';
import { addCacheHeaders, sessionWasRead } from '../core/cache-headers.js';
import type { SessionData } from '../core/codec.js';
import type { SessionConfig } from '../core/config.js';
import { type ErrorAnswer, errorAnswer } from '../core/error-answer.js';
import { type RequestInfo, SessionManager } from '../core/manager.js';
import { clientAddress, type HeaderBag, isSecureRequest } from '../core/proxy.js';
import type { StoreOrSealer } from '../core/sealer.js';
import type { Session } from '../core/session.js';

export { type ErrorAnswer, errorAnswer, STORE_UNAVAILABLE_BODY } from '../core/error-answer.js';
export type { HeaderBag };

/**
 * Options of every adapter: a ready {@link SessionManager} (share one between apps), or a store
 * and a configuration to build one from.
 */
export type SessionOptions<T extends SessionData = SessionData> =
  | { manager: SessionManager<T>; store?: never; config?: never }
  | { store: StoreOrSealer; config?: SessionConfig<T>; manager?: never };

/** What adapters accept: a manager, a store, or {@link SessionOptions}. */
export type ManagerSource<T extends SessionData = SessionData> =
  | SessionManager<T>
  | StoreOrSealer
  | SessionOptions<T>;

/** The manager named by the options: the one given, or a new one over the given store. */
export function toManager<T extends SessionData>(
  source: ManagerSource<T>,
  config?: SessionConfig<T>,
): SessionManager<T> {
  if (source instanceof SessionManager) return source;
  if (source && typeof source === 'object' && 'manager' in source && source.manager) {
    return source.manager;
  }
  if (source && typeof source === 'object' && 'store' in source && source.store) {
    return new SessionManager<T>(source.store, { ...source.config, ...config });
  }
  // A Store or a sealer (SessionManager checks its shape and throws a ConfigError otherwise).
  return new SessionManager<T>(source as StoreOrSealer, config);
}

/**
 * What the manager needs of a request: its Cookie header, the client IP, whether it came over
 * HTTPS, and its User-Agent (recorded on a new session, for `listUserSessions`). The IP is the
 * socket's peer and `secure` the socket's TLS, unless `trust_proxy` names proxies in front: then
 * the `X-Forwarded-For` entry they appended and `X-Forwarded-Proto` are believed (see
 * `core/proxy.ts`, shared with the web layer).
 */
export function requestInfo(
  manager: { readonly config: { readonly trust_proxy: boolean | number } },
  headers: HeaderBag,
  socketIp: string | undefined,
  socketSecure: boolean,
): RequestInfo {
  const trust = manager.config.trust_proxy;
  const cookie = headers.cookie;
  const userAgent = headers['user-agent'];
  return {
    cookie: Array.isArray(cookie) ? cookie.join('; ') : cookie,
    ip: clientAddress(socketIp, headers, trust),
    secure: isSecureRequest(socketSecure, headers, trust),
    userAgent: Array.isArray(userAgent) ? userAgent[0] : userAgent,
  };
}

/** The headers of a fetch `Request` that {@link requestInfo} reads. */
export function fetchHeaders(headers: Headers): HeaderBag {
  return {
    cookie: headers.get('cookie') ?? undefined,
    'x-forwarded-for': headers.get('x-forwarded-for') ?? undefined,
    'x-forwarded-proto': headers.get('x-forwarded-proto') ?? undefined,
    'user-agent': headers.get('user-agent') ?? undefined,
  };
}

/** How a request cycle around `next()` ended: an answer to send instead, or the cookie to add. */
export type CycleOutcome =
  | { answer: ErrorAnswer; setCookie?: undefined; read?: undefined; thrown?: undefined }
  | {
      answer?: undefined;
      setCookie: string | undefined;
      /** The handler read the session (the answer then carries `Vary: Cookie`). */
      read: boolean;
      thrown: { error: unknown } | undefined;
    };

/**
 * The request cycle of middleware that wraps `next()` (Koa, Hono), as web.py's processor: load,
 * `attach` the session, run `next()`, and commit whether it returned or threw (the throw is
 * handed back in `thrown` for the adapter to rethrow). A load or commit error that is an HTTP
 * answer (expired session, store outage) comes back as `answer`; any other is thrown.
 */
export async function aroundNext<T extends SessionData>(
  manager: SessionManager<T>,
  info: RequestInfo,
  attach: (session: Session<T>) => void,
  next: () => Promise<unknown>,
): Promise<CycleOutcome> {
  const logger = manager.config.logger;
  const answerOrThrow = (err: unknown): CycleOutcome => {
    const answer = errorAnswer(err, logger);
    if (!answer) throw err;
    return { answer };
  };
  // A store in this process answers at once: no await then, which would cost a turn each.
  let session: Session<T>;
  try {
    const loaded = manager.load(info);
    session = isPromise(loaded) ? await loaded : loaded;
  } catch (err) {
    return answerOrThrow(err);
  }
  attach(session);
  let thrown: { error: unknown } | undefined;
  try {
    await next();
  } catch (error) {
    thrown = { error };
  }
  try {
    const committed = manager.commit(session, info);
    const setCookie = isPromise(committed) ? await committed : committed;
    return { setCookie, read: sessionWasRead(session), thrown };
  } catch (err) {
    return answerOrThrow(err);
  }
}

/** An error answer as a fetch `Response`. */
export function answerResponse(a: ErrorAnswer): Response {
  const headers = new Headers(a.headers);
  if (a.setCookie) headers.append('Set-Cookie', a.setCookie);
  return new Response(a.body, { status: a.status, headers });
}

/**
 * Adds the session's headers to a fetch `Response`: its Set-Cookie appended to the handler's
 * own, Cache-Control and Vary as every adapter sets them. Returns the response itself, or a copy
 * when its headers refuse changes (a `fetch()` answer passed on, `Response.redirect`): the copy
 * takes over the body stream without reading it.
 */
export function withSessionHeaders(
  response: Response,
  setCookie: string | undefined,
  read: boolean,
): Response {
  if (!setCookie && !read) return response;
  const add = (headers: Headers) => {
    if (setCookie) headers.append('Set-Cookie', setCookie);
    addCacheHeaders(
      (name) => headers.get(name),
      (name, value) => headers.set(name, value),
      setCookie,
      read,
    );
  };
  try {
    add(response.headers);
    return response;
  } catch (err) {
    // Immutable headers throw a TypeError at their first change, before anything was added.
    if (!(err instanceof TypeError)) throw err;
    const copy = new Response(response.body, response);
    add(copy.headers);
    return copy;
  }
}
