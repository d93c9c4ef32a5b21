/**
 * The sealed-cookie cycle (CookieStore): the session is the cookie. Load opens the cookie's value,
 * commit seals the session into the Set-Cookie (again when its access time is due), and nothing
 * is kept on a server: the user-index calls and `revokeSession` throw.
 * @module
 */

import type { Awaitable } from './awaitable.js';
import { checkSize, payloadText, requestChanges } from './changes.js';
import { decodePayload, type SessionData, type SessionPayload } from './codec.js';
import {
  MAX_COOKIE_BYTES,
  MAX_SIGNATURE_CHECKS,
  mayRepeat,
  readCookie,
  readCookies,
  serializeExpiredCookie,
  serializeSessionCookie,
} from './cookie.js';
import type { SessionCycle } from './cycle.js';
import type { CycleContext } from './cycle-context.js';
import { SessionExpiredError, SessionTooLargeError, UnsupportedError } from './errors.js';
import type { CommitResult, RequestInfo } from './request.js';
import type { CookieSealer } from './sealer.js';
import type { Session, SessionState } from './session.js';
import type { StoredSession } from './store.js';
import type { UserIndexAccess } from './user-sessions.js';

export class SealedCycle<T extends SessionData> implements SessionCycle<T> {
  readonly #ctx: CycleContext<T>;
  readonly #sealer: CookieSealer;
  /** The Set-Cookie attributes after the value, per scheme (no Max-Age: fixed). */
  readonly #tail: [string | undefined, string | undefined] = [undefined, undefined];

  constructor(ctx: CycleContext<T>, sealer: CookieSealer) {
    this.#ctx = ctx;
    this.#sealer = sealer;
    const { timeout, store_timeout, secret_keys } = ctx.config;
    sealer.configure({ timeout, store_timeout, secret_keys });
  }

  /**
   * Every value of the cookie that opens (at most three looked at) is a candidate, the most
   * recently used wins; one that does not open (tampered, truncated, foreign key) is as if
   * absent. Then the usual expiry checks, on the sealed times.
   */
  load(request: RequestInfo): Awaitable<Session<T>> {
    const ctx = this.#ctx;
    const c = ctx.config;
    const name = c.cookie_name;
    const header = request.cookie;
    let values: string[];
    // Planted values that do not open must not push the real one out: up to as many as the
    // signature checks of a server session (each costs a decryption unless sealed here lately).
    if (mayRepeat(header, name)) values = readCookies(header, name, MAX_SIGNATURE_CHECKS);
    else {
      const raw = readCookie(header, name);
      values = raw === undefined ? [] : [raw];
    }
    let best: (StoredSession & { stale: boolean }) | undefined;
    let payload: SessionPayload | undefined;
    for (const value of values) {
      const opened = this.#sealer.open(value, name);
      if (!opened || (best && opened.atime <= best.atime)) continue;
      try {
        payload = decodePayload(opened.data);
        best = opened;
      } catch {
        // authentic but not a payload of this codec: as if absent
      }
    }
    if (!best || !payload) return ctx.fresh(request, values.length > 0);
    const reason = ctx.expiryReason(request, best, payload, Date.now());
    if (reason !== undefined) {
      ctx.emit('expired', { key: '', ms: 0, reason });
      if (!c.ignore_expiry || reason === 'ip')
        return Promise.reject(
          new SessionExpiredError(c.expired_message, ctx.expiredCookie(request)),
        );
      return ctx.fresh(request, true);
    }
    ctx.emit('loaded', { key: '', ms: 0 });
    const ids = { id: undefined, key: undefined };
    const sendCookie = best.stale || ctx.renewsCookie(payload.meta);
    return ctx.loaded(ids, request, payload, best, sendCookie);
  }

  /**
   * Seals the session into the Set-Cookie when the data changed, the session was regenerated,
   * the cookie was sealed with an older key or has a Max-Age to renew, or the access time is due
   * (`touch_interval`); a killed session's cookie is expired. The cookie (name and value) must
   * fit in 4,096 bytes, else SessionTooLargeError.
   */
  commit(state: SessionState<T>, request: RequestInfo): CommitResult {
    const ctx = this.#ctx;
    const c = ctx.config;
    const options = ctx.optionsFor(state, request);
    if (state.killed) {
      if (!state.isNew) ctx.emit('killed', { key: '', ms: 0 });
      return state.clientHasCookie ? serializeExpiredCookie(options) : undefined;
    }
    if (state.dead) return undefined;
    const regenerated = state.replacedKey !== undefined;
    state.replacedKey = undefined;
    const { changed } = requestChanges(state as SessionState<SessionData>);
    const now = Date.now();
    if (!changed && !regenerated) {
      if (state.isNew) return undefined;
      if (!state.sendCookie && now - state.atime < c.touch_interval * 1000) return undefined;
    }
    const text = checkSize(payloadText(state), c.max_size);
    const value = this.#sealer.seal(text, now, c.cookie_name);
    const size = Buffer.byteLength(c.cookie_name, 'utf8') + value.length;
    if (size > MAX_COOKIE_BYTES)
      throw new SessionTooLargeError(
        size,
        MAX_COOKIE_BYTES,
        'as a sealed cookie (name and value), over the limit of',
        'one cookie: CookieStore',
      );
    const event = state.isNew ? 'created' : changed || regenerated ? 'saved' : 'touched';
    if (event === 'touched') ctx.emit(event, { key: '', ms: 0 });
    else ctx.emit(event, { key: '', ms: 0, bytes: text.length });
    state.isNew = false;
    state.atime = now;
    if (options.maxAge !== undefined) return serializeSessionCookie(value, options);
    // A base64url value needs no encoding: the attributes are the same on every answer.
    const i = request.secure ? 1 : 0;
    let tail = this.#tail[i];
    if (tail === undefined) {
      tail = serializeSessionCookie('v', options).slice(c.cookie_name.length + 2);
      this.#tail[i] = tail;
    }
    return `${c.cookie_name}=${value}${tail}`;
  }

  /** In the cookie: one request's view is the session; it is sealed at commit. */
  async update(state: SessionState<T>, fn: (data: Partial<T>) => void): Promise<Partial<T>> {
    fn(state.data);
    state.metaChanged = true;
    return { ...state.data };
  }

  userIndex(): UserIndexAccess {
    throw serverOnly('the sessions of a user');
  }

  async revoke(_key: string): Promise<void> {
    throw serverOnly('a session by its key');
  }

  /** Nothing is kept on a server: nothing to remove. */
  async cleanup(): Promise<number> {
    return 0;
  }

  close(): void {}
}

/** The error of a call that needs the sessions kept on a server. */
function serverOnly(what: string): UnsupportedError {
  return new UnsupportedError(
    'cookie',
    `${what} cannot be reached: CookieStore keeps each session only in its browser's cookie, with nothing on the server to list or delete; use a server store (RedisStore, DBStore, DiskStore, ShelfStore) for this`,
  );
}
