/**
 * What every framework adapter shares: building the manager from the options, reading the
 * request's cookie, client IP and scheme (with `trust_proxy`), and mapping load/commit errors to
 * HTTP answers (an expired session → 200 `expired_message`, a store outage → 503).
 * Nothing here imports a framework.
 * @module
 */
import type { SessionData } from '../core/codec.js';
import type { SessionConfig } from '../core/config.js';
import { SessionExpiredError, StoreError } from '../core/errors.js';
import { type RequestInfo, SessionManager } from '../core/manager.js';
import type { Store } from '../stores/store.js';

/** The body of the 503 answer to a store outage (the same in every adapter and the web layer). */
export const STORE_UNAVAILABLE_BODY =
  '503 Service Unavailable: the session store is unavailable, try again shortly';

/**
 * Options of every adapter: a ready {@link SessionManager} (share one between apps), or a store
 * and a configuration to build one from.
 */
export type SessionOptions<T extends SessionData = SessionData> =
  | { manager: SessionManager<T>; store?: never; config?: never }
  | { store: Store; config?: SessionConfig<T>; manager?: never };

/** What adapters accept: a manager, a store, or {@link SessionOptions}. */
export type ManagerSource<T extends SessionData = SessionData> =
  | SessionManager<T>
  | Store
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
  // A Store (SessionManager checks its shape and throws a ConfigError otherwise).
  return new SessionManager<T>(source as Store, config);
}

/** Request headers as Node, Koa and Fastify give them (lower-case names). */
export type HeaderBag = Record<string, string | string[] | undefined>;

function first(value: string | string[] | null | undefined): string | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (!text) return undefined;
  const comma = text.indexOf(',');
  const hop = (comma >= 0 ? text.slice(0, comma) : text).trim();
  return hop === '' ? undefined : hop;
}

/** A socket address without the IPv4-mapped IPv6 prefix (`::ffff:127.0.0.1` → `127.0.0.1`). */
export function plainIp(address: string | undefined): string | undefined {
  return address?.startsWith('::ffff:') ? address.slice(7) : address;
}

/**
 * What the manager needs of a request. The client IP is the socket's peer and `secure` is the
 * socket's TLS, unless `trust_proxy` is set: then the first hop of `X-Forwarded-For` and
 * `X-Forwarded-Proto` (when present) are believed.
 */
export function requestInfo(
  manager: SessionManager<never> | SessionManager<SessionData>,
  get: (
    name: 'cookie' | 'x-forwarded-for' | 'x-forwarded-proto',
  ) => string | string[] | null | undefined,
  socketIp: string | undefined,
  socketSecure: boolean,
): RequestInfo {
  let ip = plainIp(socketIp);
  let secure = socketSecure;
  if (manager.config.trust_proxy) {
    ip = first(get('x-forwarded-for')) ?? ip;
    const proto = first(get('x-forwarded-proto'));
    if (proto) secure = proto.toLowerCase() === 'https';
  }
  const cookie = get('cookie');
  return { cookie: Array.isArray(cookie) ? cookie.join('; ') : cookie, ip, secure };
}

/** An HTTP answer an adapter sends instead of running the handler. */
export interface ErrorAnswer {
  status: number;
  headers: Record<string, string>;
  setCookie?: string | undefined;
  body: string;
}

/**
 * The answer to an error of `load()` or `commit()`: an expired session is answered 200 with
 * `expired_message` and an expired cookie (as web.py), a store failure 503. Any other error is
 * the application's: undefined, let the framework handle it.
 */
export function errorAnswer(
  err: unknown,
  logger?: { warn(message: string, error?: unknown): void },
): ErrorAnswer | undefined {
  if (err instanceof SessionExpiredError) {
    return {
      status: 200,
      headers: { 'Content-Type': 'text/html; charset=utf-8' },
      setCookie: err.setCookie,
      body: err.body,
    };
  }
  if (err instanceof StoreError) {
    logger?.warn(err.message, err.cause);
    return {
      status: 503,
      headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Retry-After': '1' },
      body: STORE_UNAVAILABLE_BODY,
    };
  }
  return undefined;
}
