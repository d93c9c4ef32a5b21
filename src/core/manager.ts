/**
 * SessionManager: the framework-agnostic request cycle. `load()` turns a Cookie header into a
 * Session, `commit()` persists what changed and returns the Set-Cookie value (or nothing).
 * Adapters and the web layer are thin wrappers around these two calls.
 *
 * The manager keeps the configuration, the events and this public API; the cycle itself is the
 * server-store cycle (`server-cycle.ts`) or, for a sealer (CookieStore), the sealed-cookie cycle
 * (`sealed-cycle.ts`), picked once here.
 *
 * With a store that answers at once (MemoryStore, DiskStore's synchronous file calls) both calls
 * return plain values and the request cycle creates no promise; otherwise they return promises.
 * `await` works on either.
 * @module
 */

import type { Awaitable } from './awaitable.js';
import type { SessionData } from './codec.js';
import { type ResolvedConfig, resolveConfig, type SessionConfig } from './config.js';
import type { CookieOptions } from './cookie.js';
import type { SessionCycle } from './cycle.js';
import { CycleContext } from './cycle-context.js';
import { ConfigError, SessionStateError } from './errors.js';
import { SessionEmitter, type SessionEventName, type SessionListener } from './events.js';
import { generateSessionId, isStoreKey, storeKey } from './id.js';
import type { CommitResult, RequestInfo } from './request.js';
import { SealedCycle } from './sealed-cycle.js';
import { isCookieSealer, type StoreOrSealer } from './sealer.js';
import { ServerCycle } from './server-cycle.js';
import {
  LATE_CHANGE,
  type Session,
  type SessionHost,
  type SessionState,
  sessionState,
} from './session.js';
import { listUserSessions, revokeUserSessions, type UserSessionInfo } from './user-sessions.js';

export type { CommitResult, RequestInfo, UserSessionInfo };

/**
 * Loads and commits sessions against one store with one configuration.
 *
 * @example
 * const manager = new SessionManager(new DiskStore('sessions'));
 * const session = await manager.load({ cookie: req.headers.cookie, ip });
 * try { await handler(session); } finally {
 *   const setCookie = await manager.commit(session);
 *   if (setCookie) res.setHeader('Set-Cookie', setCookie);
 * }
 */
export class SessionManager<T extends SessionData = SessionData> {
  /** The store sessions live in, or the sealer that keeps them in the cookie (CookieStore). */
  readonly store: StoreOrSealer;
  /** The resolved configuration. */
  readonly config: ResolvedConfig<T>;
  readonly #events = new SessionEmitter();
  readonly #host: SessionHost<T> = {
    regenerate: (s) => this.#regenerate(s),
    update: (s, fn) => {
      if (s.committed) {
        this.#host.late(s);
        return Promise.resolve({ ...s.data });
      }
      return this.#cycle.update(s, fn);
    },
    late: () => {
      if (this.#lateLogged) return;
      this.#lateLogged = true;
      this.config.logger.warn(
        `[websession] ${LATE_CHANGE} (logged once per manager; later ones are dropped as quietly)`,
      );
    },
  };
  #lateLogged = false;
  readonly #ctx: CycleContext<T>;
  readonly #cycle: SessionCycle<T>;
  #closed = false;

  constructor(store: StoreOrSealer, config: SessionConfig<T> = {}) {
    const sealer = isCookieSealer(store);
    if (
      !sealer &&
      (!store || typeof store.get !== 'function' || typeof store.update !== 'function')
    ) {
      throw new ConfigError('SessionManager needs a store (MemoryStore, DiskStore, …)');
    }
    this.store = store;
    this.config = resolveConfig(config);
    this.#ctx = new CycleContext(this.config, this.#events, this.#host);
    this.#cycle = sealer ? new SealedCycle(this.#ctx, store) : new ServerCycle(this.#ctx, store);
    this.#events.onListenerError = (err) =>
      this.config.logger.warn('[websession] a session event listener threw', err);
  }

  /**
   * Listens to a session event: `created`, `loaded`, `saved`, `touched`, `regenerated`,
   * `killed`, `expired`, `error`. Returns a function that removes the listener.
   * @example manager.on('saved', (e) => histogram.observe(e.ms));
   */
  on<E extends SessionEventName>(event: E, listener: SessionListener<E>): () => void {
    return this.#events.on(event, listener);
  }

  /** Removes a listener added with {@link SessionManager.on}. */
  off<E extends SessionEventName>(event: E, listener: SessionListener<E>): void {
    this.#events.off(event, listener);
  }

  /** Cookie attributes for one request. */
  cookieOptions(secureRequest: boolean): CookieOptions {
    return { ...this.#ctx.cookieOptions[secureRequest ? 1 : 0] };
  }

  #stateOf(session: Session<T>): SessionState<T> {
    const state = sessionState(session);
    if (!state || state.host !== this.#host)
      throw new SessionStateError('not a session made by this manager');
    return state as SessionState<T>;
  }

  /**
   * Loads the session named by the request's cookie, or starts a new one (never stored until it
   * gets data). A malformed, forged or unknown cookie never reaches the store or is adopted.
   * Returns the session itself when the store answered at once, else a promise of it.
   * @throws (rejects with) SessionExpiredError when the session expired and `ignore_expiry` is
   * false; StoreError when the store fails (adapters answer 503)
   */
  load(request: RequestInfo = {}): Awaitable<Session<T>> {
    if (this.#closed) return Promise.reject(new SessionStateError('this SessionManager is closed'));
    return this.#cycle.load(request);
  }

  /**
   * Persists what the request changed and returns the Set-Cookie value to send, or undefined.
   * Unchanged sessions are not rewritten (their access time is refreshed at most every
   * `touch_interval`); new sessions without data are not stored and get no cookie; killed
   * sessions are deleted and their cookie expired. Concurrent saves of one session in this
   * process share one store write (group commit). Returns the value itself when the store
   * answered at once, else a promise of it.
   * @throws (rejects with) SessionTooLargeError, CodecError, StoreError
   */
  commit(session: Session<T>, request: RequestInfo = {}): Awaitable<CommitResult> {
    try {
      const state = this.#stateOf(session);
      if (state.committed) return undefined;
      state.committed = true;
      return this.#cycle.commit(state, request);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** A new id now; the cycle moves the session to it at its next write (or commit). */
  #regenerate(state: SessionState<T>): void {
    const previous = state.key;
    if (!state.isNew && !state.replacedKey) state.replacedKey = state.key;
    state.id = generateSessionId();
    state.key = storeKey(state.id);
    if (!state.isNew) state.isNew = true;
    state.sendCookie = true;
    this.#ctx.emit('regenerated', {
      key: state.key.slice(0, 12),
      ms: 0,
      previous: previous.slice(0, 12),
    });
  }

  /**
   * The live sessions bound to `user` (`session.setUser`), newest access first, without scanning
   * all sessions. `current` marks the session of the request given.
   * @throws UnsupportedError when the store has no user index
   */
  async listUserSessions(user: string, current?: Session<T>): Promise<UserSessionInfo[]> {
    const currentKey = current ? this.#stateOf(current).key : undefined;
    return listUserSessions(this.#cycle.userIndex(), user, currentKey);
  }

  /**
   * Deletes the sessions bound to `user` ("log out everywhere"); with `except`, keeps that one
   * (the current session: "log out my other devices"). Returns how many were deleted.
   * @throws UnsupportedError when the store has no user index
   */
  async revokeUserSessions(
    user: string,
    options: { except?: Session<T> | string } = {},
  ): Promise<number> {
    const keep =
      typeof options.except === 'string'
        ? options.except
        : options.except
          ? this.#stateOf(options.except).key
          : undefined;
    return revokeUserSessions(this.#cycle.userIndex(), user, keep, (key, ms) =>
      this.#ctx.emit('killed', { key: key.slice(0, 12), ms }),
    );
  }

  /** Deletes one session by store key (as listed by `listUserSessions`). */
  async revokeSession(key: string): Promise<void> {
    if (!isStoreKey(key))
      throw new SessionStateError('revokeSession takes a store key (64 hex characters)');
    return this.#cycle.revoke(key);
  }

  /** Removes expired sessions now; returns how many. Runs in the background by itself too. */
  async cleanup(): Promise<number> {
    return this.#cycle.cleanup();
  }

  /** Stops background cleanup. Does not close the store (it may be shared). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#cycle.close();
  }
}
