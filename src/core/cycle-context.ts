/**
 * What both request cycles share: the configuration, the events, the Session host, the cookie
 * attributes, and the rules of expiry and of cookie renewal that hold wherever the session lives.
 * @module
 */

import { performance } from 'node:perf_hooks';
import type { SessionData, SessionMeta, SessionPayload } from './codec.js';
import type { ResolvedConfig } from './config.js';
import { type CookieOptions, serializeExpiredCookie } from './cookie.js';
import type { SessionEmitter, SessionEventName, SessionEvents } from './events.js';
import type { RequestInfo } from './request.js';
import { createSession, type Session, type SessionHost, type SessionState } from './session.js';
import { loadedState, newState } from './state.js';
import type { StoredSession } from './store.js';

/** Why a session is expired for a request. */
export type ExpiryReason = SessionEvents['expired']['reason'];

export class CycleContext<T extends SessionData> {
  readonly config: ResolvedConfig<T>;
  readonly events: SessionEmitter;
  readonly host: SessionHost<T>;
  /** Cookie attributes for plain and HTTPS requests, resolved once. */
  readonly cookieOptions: readonly [CookieOptions, CookieOptions];

  constructor(config: ResolvedConfig<T>, events: SessionEmitter, host: SessionHost<T>) {
    this.config = config;
    this.events = events;
    this.host = host;
    this.cookieOptions = [this.#resolveCookieOptions(false), this.#resolveCookieOptions(true)];
  }

  #resolveCookieOptions(secureRequest: boolean): CookieOptions {
    const c = this.config;
    return {
      name: c.cookie_name,
      domain: c.cookie_domain,
      path: c.cookie_path,
      httpOnly: c.httponly,
      secure: c.secure === 'auto' ? secureRequest : c.secure,
      sameSite: c.samesite,
      maxAge: c.cookie_max_age,
    };
  }

  // Hot paths test `events.listens(…)` first, so an event nobody listens to allocates nothing.
  emit<E extends SessionEventName>(event: E, detail: SessionEvents[E]): void {
    if (this.events.listens(event)) this.events.emit(event, detail);
  }

  /** A clock reading for an event's `ms`, taken only when someone listens to one of `events`. */
  clock(a: SessionEventName, b?: SessionEventName): number {
    return this.events.listens(a) || (b !== undefined && this.events.listens(b))
      ? performance.now()
      : 0;
  }

  since(started: number): number {
    return started > 0 ? performance.now() - started : 0;
  }

  /** A new session (not stored until it gets data). */
  fresh(request: RequestInfo, clientHasCookie: boolean): Session<T> {
    return createSession(newState(this.config, this.host, request, clientHasCookie));
  }

  /** The session of a record as read (ids undefined for a sealed cookie). */
  loaded(
    ids: { id: string | undefined; key: string | undefined },
    request: RequestInfo,
    payload: SessionPayload,
    record: StoredSession,
    sendCookie: boolean,
  ): Session<T> {
    return createSession(loadedState(this.host, ids, request.ip, payload, record, sendCookie));
  }

  /** The Set-Cookie that expires the session cookie, for this request's scheme. */
  expiredCookie(request: RequestInfo): string {
    return serializeExpiredCookie(this.cookieOptions[request.secure ? 1 : 0]);
  }

  /** Why a stored session is expired for this request, or undefined when it is live. */
  expiryReason(
    request: RequestInfo,
    record: StoredSession,
    payload: SessionPayload,
    now: number,
  ): ExpiryReason | undefined {
    const c = this.config;
    if (now - record.atime > c.timeout * 1000) return 'timeout';
    if (c.lifetime !== undefined && now - payload.meta.created > c.lifetime * 1000)
      return 'lifetime';
    if (!c.ignore_change_ip && payload.meta.ip !== request.ip) return 'ip';
    return undefined;
  }

  /** Whether a loaded session's cookie is sent again on every response (it has a Max-Age). */
  renewsCookie(meta: SessionMeta): boolean {
    const own = meta.maxAge;
    return own === undefined ? this.config.cookie_max_age !== undefined : own !== null;
  }

  /**
   * The cookie attributes for this session on this request: the configured ones, or with the
   * session's own lifetime (`setMaxAge`), which never reaches past the absolute `lifetime`.
   */
  optionsFor(state: SessionState<T>, request: RequestInfo): CookieOptions {
    const options = this.cookieOptions[request.secure ? 1 : 0];
    const own = state.meta.maxAge;
    if (own === undefined) return options;
    if (own === null)
      return options.maxAge === undefined ? options : { ...options, maxAge: undefined };
    const lifetime = this.config.lifetime;
    const left =
      lifetime === undefined ? own : Math.ceil(lifetime - (Date.now() - state.meta.created) / 1000);
    return { ...options, maxAge: Math.max(1, Math.min(own, left)) };
  }
}
