/**
 * SessionManager: the framework-agnostic request cycle. `load()` turns a Cookie header into a
 * Session, `commit()` persists what changed and returns the Set-Cookie value (or nothing).
 * Adapters and the web layer are thin wrappers around these two calls.
 *
 * With a store that answers at once (MemoryStore, DiskStore's synchronous file calls) both calls
 * return plain values and the request cycle creates no promise; otherwise they return promises.
 * `await` works on either.
 * @module
 */

import { performance } from 'node:perf_hooks';
import { type Awaitable, isPromise, then } from './awaitable.js';
import { checkSize, payloadText, requestChanges } from './changes.js';
import { CleanupSchedule } from './cleanup-schedule.js';
import { decodePayload, type SessionData, type SessionMeta, type SessionPayload } from './codec.js';
import { type ResolvedConfig, resolveConfig, type SessionConfig } from './config.js';
import {
  type CookieOptions,
  IdCache,
  MAX_CANDIDATES,
  MAX_COOKIE_BYTES,
  mayRepeat,
  readCookie,
  readCookies,
  serializeExpiredCookie,
  serializeSessionCookie,
  type VerifiedId,
} from './cookie.js';
import {
  ConfigError,
  SessionExpiredError,
  SessionStateError,
  SessionTooLargeError,
  StoreError,
  UnsupportedError,
} from './errors.js';
import {
  SessionEmitter,
  type SessionEventName,
  type SessionEvents,
  type SessionListener,
} from './events.js';
import { GroupCommit } from './group-commit.js';
import { generateSessionId, isStoreKey, storeKey } from './id.js';
import {
  createSession,
  LATE_CHANGE,
  type Session,
  type SessionHost,
  type SessionState,
  sessionState,
} from './session.js';
import { loadedState, newState } from './state.js';
import type { CookieSealer, Store, StoredSession } from './store.js';
import { StoreCalls } from './store-calls.js';
import {
  listUserSessions,
  revokeUserSessions,
  type UserIndexAccess,
  type UserSessionInfo,
} from './user-sessions.js';

export type { UserSessionInfo };

/** What an adapter knows of a request. */
export interface RequestInfo {
  /** The raw Cookie header. */
  cookie?: string | null | undefined;
  /** The client's IP address (see `clientAddress` for proxies). */
  ip?: string | undefined;
  /** True when the request came over HTTPS (for `secure: 'auto'`). */
  secure?: boolean | undefined;
  /** The User-Agent header, recorded when a session is created (for listing a user's sessions). */
  userAgent?: string | undefined;
}

/** The result of a commit: the Set-Cookie header value to send, if any. */
export type CommitResult = string | undefined;

const KILL = { kind: 'kill' } as const;

/** Tries of a new session's create-only first write before giving up (each with a fresh id). */
const MAX_CREATE_TRIES = 3;

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
  /** The store sessions live in. */
  readonly store: Store;
  /** The resolved configuration. */
  readonly config: ResolvedConfig<T>;
  readonly #events = new SessionEmitter();
  readonly #host: SessionHost<T> = {
    regenerate: (s) => this.#regenerate(s),
    update: (s, fn) => this.#update(s, fn),
    late: () => {
      if (this.#lateLogged) return;
      this.#lateLogged = true;
      this.config.logger.warn(
        `[websession] ${LATE_CHANGE} (logged once; the change threw a SessionStateError)`,
      );
    },
  };
  #lateLogged = false;
  /** Memo of cookie signatures and store keys of recent ids. */
  readonly #ids: IdCache;
  readonly #calls: StoreCalls;
  readonly #group: GroupCommit;
  /** Cookie attributes for plain and HTTPS requests, resolved once. */
  readonly #cookieOptions: readonly [CookieOptions, CookieOptions];
  /** The store when it keeps the session in the cookie (CookieStore), else undefined. */
  readonly #sealed: CookieSealer | undefined;
  /** CookieStore: the Set-Cookie attributes after the value, per scheme (no Max-Age: fixed). */
  readonly #sealedTail: [string | undefined, string | undefined] = [undefined, undefined];
  readonly #cleanup: CleanupSchedule;
  #cleanupScheduled = false;
  #closed = false;

  constructor(store: Store, config: SessionConfig<T> = {}) {
    if (!store || typeof store.get !== 'function' || typeof store.update !== 'function') {
      throw new ConfigError('SessionManager needs a store (MemoryStore, DiskStore, …)');
    }
    this.store = store;
    this.config = resolveConfig(config);
    this.#ids = new IdCache(this.config.secret_keys);
    this.#calls = new StoreCalls(
      store.kind,
      this.config.store_timeout,
      this.config.store_max_in_flight,
      this.#events,
    );
    this.#group = new GroupCommit(
      (key, mutator, expected) =>
        this.#calls.run('update', key, () => store.update(key, mutator, expected)),
      this.config.max_size,
      store.capabilities.gatherWrites === true,
    );
    this.#cookieOptions = [this.#resolveCookieOptions(false), this.#resolveCookieOptions(true)];
    this.#sealed = store.capabilities.inCookie === true ? (store as CookieSealer) : undefined;
    const { timeout, store_timeout, secret_keys } = this.config;
    store.configure?.(
      this.#sealed ? { timeout, store_timeout, secret_keys } : { timeout, store_timeout },
    );
    this.#cleanup = new CleanupSchedule(
      store,
      this.config.cleanup_interval,
      () => this.cleanup(),
      this.config.logger,
      (event) => this.#emit('cleanup', event),
    );
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

  // Hot paths test `#events.listens(…)` first, so an event nobody listens to allocates nothing.
  #emit<E extends SessionEventName>(event: E, detail: SessionEvents[E]): void {
    if (this.#events.listens(event)) this.#events.emit(event, detail);
  }

  /** A clock reading for an event's `ms`, taken only when someone listens to one of `events`. */
  #clock(a: SessionEventName, b?: SessionEventName): number {
    return this.#events.listens(a) || (b !== undefined && this.#events.listens(b))
      ? performance.now()
      : 0;
  }

  #since(started: number): number {
    return started > 0 ? performance.now() - started : 0;
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

  /** Cookie attributes for one request. */
  cookieOptions(secureRequest: boolean): CookieOptions {
    return { ...this.#cookieOptions[secureRequest ? 1 : 0] };
  }

  #wrap(state: SessionState<T>): Session<T> {
    return createSession(state);
  }

  #stateOf(session: Session<T>): SessionState<T> {
    const state = sessionState(session);
    if (!state || state.host !== this.#host)
      throw new SessionStateError('not a session made by this manager');
    return state as SessionState<T>;
  }

  /** web.py: kill the expired session and answer `expired_message`. */
  #expired(request: RequestInfo, key: string): SessionExpiredError {
    void Promise.resolve()
      .then(() => this.store.delete(key))
      .catch((err: unknown) =>
        this.config.logger.warn('[websession] delete of expired session failed', err),
      );
    const setCookie = serializeExpiredCookie(this.#cookieOptions[request.secure ? 1 : 0]);
    return new SessionExpiredError(this.config.expired_message, setCookie);
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
    if (this.#sealed) return this.#loadSealed(request, this.#sealed);
    if (!this.#cleanupScheduled) {
      this.#cleanupScheduled = true;
      this.#cleanup.start();
    }
    const name = this.config.cookie_name;
    const raw = readCookie(request.cookie, name);
    let verified = this.#ids.verify(raw);
    if (raw !== undefined && mayRepeat(request.cookie, name)) {
      // The name comes more than once (a cookie planted for a parent domain or a longer path):
      // the answer must not depend on their order.
      const candidates = this.#candidates(request.cookie as string, name);
      if (candidates.length > 1) return this.#loadAmong(request, candidates);
      verified = candidates[0];
    }
    if (!verified) return this.#wrap(newState(this.config, this.#host, request, raw !== undefined));
    const key = verified.key;
    const started = this.#clock('loaded', 'expired');
    try {
      const record = this.#calls.run('get', key, () => this.store.get(key));
      return isPromise(record)
        ? record.then((r) => this.#opened(request, verified, r, started))
        : this.#opened(request, verified, record, started);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * CookieStore: the session is the cookie. Every value of the cookie that opens (at most three
   * looked at) is a candidate, the most recently used wins; one that does not open (tampered,
   * truncated, foreign key) is as if absent. Then the usual expiry checks, on the sealed times.
   */
  #loadSealed(request: RequestInfo, store: CookieSealer): Awaitable<Session<T>> {
    const c = this.config;
    const name = c.cookie_name;
    const header = request.cookie;
    let values: string[];
    if (mayRepeat(header, name)) values = readCookies(header, name, MAX_CANDIDATES);
    else {
      const raw = readCookie(header, name);
      values = raw === undefined ? [] : [raw];
    }
    let best: (StoredSession & { stale: boolean }) | undefined;
    let payload: SessionPayload | undefined;
    for (const value of values) {
      const opened = store.open(value, name);
      if (!opened || (best && opened.atime <= best.atime)) continue;
      try {
        payload = decodePayload(opened.data);
        best = opened;
      } catch {
        // authentic but not a payload of this codec: as if absent
      }
    }
    if (!best || !payload) return this.#wrap(newState(c, this.#host, request, values.length > 0));
    const reason = this.#expiryReason(request, best, payload, Date.now());
    if (reason !== undefined) {
      this.#emit('expired', { key: '', ms: 0, reason });
      if (!c.ignore_expiry || reason === 'ip') {
        const setCookie = serializeExpiredCookie(this.#cookieOptions[request.secure ? 1 : 0]);
        return Promise.reject(new SessionExpiredError(c.expired_message, setCookie));
      }
      return this.#wrap(newState(c, this.#host, request, true));
    }
    this.#emit('loaded', { key: '', ms: 0 });
    const ids = { id: undefined, key: undefined };
    const sendCookie = best.stale || this.#renewsCookie(payload.meta);
    return this.#wrap(loadedState(this.#host, ids, request.ip, payload, best, sendCookie));
  }

  /**
   * CookieStore's commit: seals the session into the Set-Cookie when the data changed, the
   * session was regenerated, the cookie was sealed with an older key or has a Max-Age to renew,
   * or the access time is due (`touch_interval`); a killed session's cookie is expired. The
   * cookie (name and value) must fit in 4,096 bytes, else SessionTooLargeError.
   */
  #commitSealed(state: SessionState<T>, request: RequestInfo, store: CookieSealer): CommitResult {
    const c = this.config;
    const options = this.#optionsFor(state, request);
    if (state.killed) {
      if (!state.isNew) this.#emit('killed', { key: '', ms: 0 });
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
    const value = store.seal(text, now, c.cookie_name);
    const size = Buffer.byteLength(c.cookie_name, 'utf8') + value.length;
    if (size > MAX_COOKIE_BYTES)
      throw new SessionTooLargeError(
        size,
        MAX_COOKIE_BYTES,
        'as a sealed cookie (name and value), over the limit of',
        'one cookie: CookieStore',
      );
    const event = state.isNew ? 'created' : changed || regenerated ? 'saved' : 'touched';
    if (event === 'touched') this.#emit(event, { key: '', ms: 0 });
    else this.#emit(event, { key: '', ms: 0, bytes: text.length });
    state.isNew = false;
    state.atime = now;
    if (options.maxAge !== undefined) return serializeSessionCookie(value, options);
    // A base64url value needs no encoding: the attributes are the same on every answer.
    const i = request.secure ? 1 : 0;
    let tail = this.#sealedTail[i];
    if (tail === undefined) {
      tail = serializeSessionCookie('v', options).slice(c.cookie_name.length + 2);
      this.#sealedTail[i] = tail;
    }
    return `${c.cookie_name}=${value}${tail}`;
  }

  /** The well-formed, correctly signed, distinct values of the session cookie: at most three. */
  #candidates(header: string, name: string): (VerifiedId & { key: string })[] {
    const out: (VerifiedId & { key: string })[] = [];
    for (const value of readCookies(header, name)) {
      const verified = this.#ids.verify(value);
      if (verified && !out.some((v) => v.key === verified.key)) out.push(verified);
      if (out.length === MAX_CANDIDATES) break;
    }
    return out;
  }

  /**
   * Loads the session among several cookie candidates: each is looked up, and the live one is
   * taken (the most recently used when several are, then the smallest key), whatever their order
   * in the header. When none is live, the one with a record (else the smallest key) goes through
   * the usual expiry handling.
   */
  #loadAmong(
    request: RequestInfo,
    candidates: (VerifiedId & { key: string })[],
  ): Awaitable<Session<T>> {
    const started = this.#clock('loaded', 'expired');
    const pick = (records: (StoredSession | undefined)[]): Awaitable<Session<T>> => {
      const now = Date.now();
      let best = -1;
      let bestScore = -1;
      for (let i = 0; i < candidates.length; i++) {
        const record = records[i];
        let score = 0;
        if (record) {
          score = 1;
          try {
            const payload = decodePayload(record.data);
            if (this.#expiryReason(request, record, payload, now) === undefined) score = 2;
          } catch {
            // a corrupt record is not live
          }
        }
        const better =
          best < 0 ||
          score > bestScore ||
          (score === bestScore && (record?.atime ?? 0) > (records[best]?.atime ?? 0)) ||
          (score === bestScore &&
            (record?.atime ?? 0) === (records[best]?.atime ?? 0) &&
            (candidates[i] as { key: string }).key < (candidates[best] as { key: string }).key);
        if (better) {
          best = i;
          bestScore = score;
        }
      }
      return this.#opened(
        request,
        candidates[best] as VerifiedId & { key: string },
        records[best],
        started,
      );
    };
    try {
      const records = candidates.map((c) =>
        this.#calls.run('get', c.key, () => this.store.get(c.key)),
      );
      return records.some((r) => isPromise(r))
        ? Promise.all(records).then(pick)
        : pick(records as (StoredSession | undefined)[]);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Why a stored session is expired for this request, or undefined when it is live. */
  #expiryReason(
    request: RequestInfo,
    record: StoredSession,
    payload: SessionPayload,
    now: number,
  ): SessionEvents['expired']['reason'] | undefined {
    const c = this.config;
    if (now - record.atime > c.timeout * 1000) return 'timeout';
    if (c.lifetime !== undefined && now - payload.meta.created > c.lifetime * 1000)
      return 'lifetime';
    if (!c.ignore_change_ip && payload.meta.ip !== request.ip) return 'ip';
    return undefined;
  }

  /** The session of a record as read (or none): decoded and checked for expiry. */
  #opened(
    request: RequestInfo,
    verified: { id: string; key: string; stale: boolean },
    record: StoredSession | undefined,
    started: number,
  ): Awaitable<Session<T>> {
    const c = this.config;
    const key = verified.key;
    let payload: SessionPayload | undefined;
    if (record) {
      try {
        payload = decodePayload(record.data);
      } catch (err) {
        return this.#corrupt(request, key, err);
      }
    }
    let reason: SessionEvents['expired']['reason'] | undefined;
    const now = Date.now();
    if (!record || !payload) reason = 'unknown';
    else reason = this.#expiryReason(request, record, payload, now);
    if (reason !== undefined) {
      if (reason !== 'unknown')
        this.#emit('expired', { key: key.slice(0, 12), ms: this.#since(started), reason });
      if (!c.ignore_expiry || reason === 'ip') return Promise.reject(this.#expired(request, key));
      // Expired: remove it now rather than at the next cleanup.
      if (reason !== 'unknown')
        void Promise.resolve()
          .then(() => this.store.delete(key))
          .catch(() => {});
      return this.#wrap(newState(c, this.#host, request, true));
    }
    if (this.#events.listens('loaded'))
      this.#events.emit('loaded', { key: key.slice(0, 12), ms: this.#since(started) });
    const sendCookie = verified.stale || this.#renewsCookie((payload as SessionPayload).meta);
    return this.#wrap(
      loadedState(
        this.#host,
        verified,
        request.ip,
        payload as SessionPayload,
        record as StoredSession,
        sendCookie,
      ),
    );
  }

  /** A record that does not decode: logged, moved aside where the store can, treated as none. */
  #corrupt(request: RequestInfo, key: string, err: unknown): Awaitable<Session<T>> {
    const c = this.config;
    const quarantine = this.store.quarantine?.bind(this.store);
    c.logger.warn(
      `[websession] [${this.store.kind}] corrupt session record ${key.slice(0, 12)}…, ${quarantine ? 'quarantined' : 'left in place'}, treated as no session`,
      err,
    );
    const fresh = () => this.#wrap(newState(c, this.#host, request, true));
    if (!quarantine) return fresh();
    return Promise.resolve()
      .then(() => this.#calls.run('quarantine', key, () => quarantine(key)))
      .catch((e: unknown) => c.logger.warn('[websession] quarantine failed', e))
      .then(fresh);
  }

  #regenerate(state: SessionState<T>): void {
    const previous = state.key;
    if (!state.isNew && !state.replacedKey) state.replacedKey = state.key;
    state.id = generateSessionId();
    state.key = storeKey(state.id);
    if (!state.isNew) state.isNew = true;
    state.sendCookie = true;
    this.#emit('regenerated', {
      key: state.key.slice(0, 12),
      ms: 0,
      previous: previous.slice(0, 12),
    });
  }

  async #update(state: SessionState<T>, fn: (data: Partial<T>) => void): Promise<Partial<T>> {
    if (state.committed) {
      this.#host.late(state);
      throw new SessionStateError(LATE_CHANGE);
    }
    if (this.#sealed) {
      // In the cookie: one request's view is the session; it is sealed at commit.
      fn(state.data);
      state.metaChanged = true;
      return { ...state.data };
    }
    if (state.replacedKey) await this.#finishRegenerate(state);
    if (state.dead) {
      fn(state.data);
      return { ...state.data };
    }
    const wasNew = state.isNew;
    if (wasNew) {
      // The first write of a new session is create-only (a repeated id never lands on another
      // visitor's record); the update then runs on the record as stored.
      const text = checkSize(payloadText(state), this.config.max_size);
      const now = Date.now();
      await this.#create(state, text, now);
      state.isNew = false;
      state.sendCookie = true;
      state.baseline = text;
      state.atime = now;
      state.touched = undefined;
      state.metaChanged = false;
      state.hadFlash = false;
    }
    const { keys } = requestChanges(state as SessionState<SessionData>);
    const started = this.#clock(wasNew ? 'created' : 'saved');
    const outcome = await this.#group.submit(
      state.key,
      {
        kind: 'save',
        state: state as SessionState<SessionData>,
        keys,
        fn: fn as (data: SessionData) => void,
      },
      true,
    );
    if (outcome.error !== undefined) throw outcome.error;
    if (outcome.text === undefined) {
      state.dead = true;
      fn(state.data);
      return { ...state.data };
    }
    const payload = decodePayload(outcome.text);
    this.#emit(wasNew ? 'created' : 'saved', {
      key: state.key.slice(0, 12),
      ms: this.#since(started),
      bytes: outcome.text.length,
    });
    if (wasNew) state.sendCookie = true;
    state.isNew = false;
    state.data = payload.data as Partial<T>;
    state.meta = payload.meta;
    state.hadFlash = payload.flash !== undefined;
    state.flashOut = {};
    state.touched = undefined;
    state.metaChanged = false;
    state.baseline = outcome.text;
    state.atime = Date.now();
    return { ...state.data };
  }

  /**
   * Stores a new (or regenerated) session's first record create-only, so that a repeated id never
   * overwrites another visitor's record: when the key is taken, a new id is drawn and the write
   * tried again (a few times; then a StoreError). Stores without `create` are written with `set`.
   */
  #create(state: SessionState<T>, text: string, atime: number): Awaitable<void> {
    const store = this.store;
    const record = { data: text, atime, user: state.meta.user };
    const attempt = (tries: number): Awaitable<void> => {
      const key = state.key;
      const created = store.create
        ? this.#calls.run('create', key, () =>
            (store.create as NonNullable<Store['create']>)(key, record),
          )
        : then(
            this.#calls.run('set', key, () => store.set(key, record)),
            () => true,
          );
      return then(created, (ok) => {
        if (ok) return undefined;
        if (tries >= MAX_CREATE_TRIES)
          throw new StoreError(
            store.kind,
            `${MAX_CREATE_TRIES} new session ids in a row were taken already: is the random source broken?`,
          );
        this.config.logger.warn(
          `[websession] [${store.kind}] a new session id was taken already (the random source repeated?); drew another, the stored session is untouched`,
        );
        state.id = generateSessionId();
        state.key = storeKey(state.id);
        return attempt(tries + 1);
      });
    };
    return attempt(1);
  }

  /** Removes the record of `key`: in the batch of its session when one is in flight, else now. */
  #remove(key: string): Awaitable<unknown> {
    return this.#group.busy(key)
      ? this.#group.submit(key, KILL, false)
      : this.#calls.run('delete', key, () => this.store.delete(key));
  }

  /**
   * Moves a regenerated session to its new key now (data as it is), deleting the old record. The
   * new record is written first (a failure then loses nothing); the old one is removed in one
   * locked step (in the batch of the old id's writes, if any) that also tells whether it was
   * still there. When it was not (the session was killed, revoked or expired meanwhile), the new
   * record is removed again and the session stays dead: a late regenerate never revives it.
   */
  #finishRegenerate(state: SessionState<T>): Awaitable<void> {
    const old = state.replacedKey as string;
    const text = checkSize(payloadText(state), this.config.max_size);
    const now = Date.now();
    const started = this.#clock('created');
    return then(this.#create(state, text, now), () =>
      then(this.#group.submit(old, KILL, false), (outcome) => {
        const key = state.key;
        state.replacedKey = undefined;
        if (!outcome.alive)
          return then(
            this.#calls.run('delete', key, () => this.store.delete(key)),
            () => {
              state.dead = true;
            },
          );
        this.#emit('created', {
          key: key.slice(0, 12),
          ms: this.#since(started),
          bytes: text.length,
        });
        state.isNew = false;
        state.baseline = text;
        state.atime = now;
        return undefined;
      }),
    );
  }

  #cookie(state: SessionState<T>, request: RequestInfo): string {
    return serializeSessionCookie(
      this.#ids.sign(state.id, state.key),
      this.#optionsFor(state, request),
    );
  }

  /** Whether a loaded session's cookie is sent again on every response (it has a Max-Age). */
  #renewsCookie(meta: SessionMeta): boolean {
    const own = meta.maxAge;
    return own === undefined ? this.config.cookie_max_age !== undefined : own !== null;
  }

  /**
   * The cookie attributes for this session on this request: the configured ones, or with the
   * session's own lifetime (`setMaxAge`), which never reaches past the absolute `lifetime`.
   */
  #optionsFor(state: SessionState<T>, request: RequestInfo): CookieOptions {
    const options = this.#cookieOptions[request.secure ? 1 : 0];
    const own = state.meta.maxAge;
    if (own === undefined) return options;
    if (own === null)
      return options.maxAge === undefined ? options : { ...options, maxAge: undefined };
    const lifetime = this.config.lifetime;
    const left =
      lifetime === undefined ? own : Math.ceil(lifetime - (Date.now() - state.meta.created) / 1000);
    return { ...options, maxAge: Math.max(1, Math.min(own, left)) };
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
      if (this.#sealed) return this.#commitSealed(state, request, this.#sealed);
      return this.#commit(state, request);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  #commit(state: SessionState<T>, request: RequestInfo): Awaitable<CommitResult> {
    if (state.killed) return this.#commitKill(state, request);
    if (state.dead) return undefined;
    if (state.replacedKey)
      return then(this.#finishRegenerate(state), () =>
        state.dead ? undefined : this.#cookie(state, request),
      );
    const { keys, changed } = requestChanges(state as SessionState<SessionData>);
    if (state.isNew && !changed) return state.sendCookie ? this.#cookie(state, request) : undefined;
    const key = state.key;
    if (state.isNew) {
      const text = checkSize(payloadText(state), this.config.max_size);
      const started = this.#clock('created');
      return then(this.#create(state, text, Date.now()), () => {
        this.#emit('created', {
          key: state.key.slice(0, 12),
          ms: this.#since(started),
          bytes: text.length,
        });
        return this.#cookie(state, request);
      });
    }
    if (changed) {
      const started = this.#clock('saved');
      const change = { kind: 'save' as const, state: state as SessionState<SessionData>, keys };
      return then(this.#group.submit(key, change, false), (outcome) => {
        if (outcome.error !== undefined) throw outcome.error;
        if (outcome.text === undefined) return undefined; // killed elsewhere meanwhile: stays dead
        this.#emit('saved', {
          key: key.slice(0, 12),
          ms: this.#since(started),
          bytes: outcome.text.length,
        });
        return state.sendCookie ? this.#cookie(state, request) : undefined;
      });
    }
    const now = Date.now();
    if (now - state.atime < this.config.touch_interval * 1000)
      return state.sendCookie ? this.#cookie(state, request) : undefined;
    const started = this.#clock('touched');
    return then(
      this.#calls.run('touch', key, () => this.store.touch(key, now)),
      () => {
        this.#emit('touched', { key: key.slice(0, 12), ms: this.#since(started) });
        return state.sendCookie ? this.#cookie(state, request) : undefined;
      },
    );
  }

  #commitKill(state: SessionState<T>, request: RequestInfo): Awaitable<CommitResult> {
    const started = this.#clock('killed');
    const replaced = state.replacedKey;
    return then(this.#remove(state.key), () =>
      then(replaced === undefined ? undefined : this.#remove(replaced), () => {
        if (!state.isNew || replaced)
          this.#emit('killed', { key: state.key.slice(0, 12), ms: this.#since(started) });
        return state.clientHasCookie
          ? serializeExpiredCookie(this.#cookieOptions[request.secure ? 1 : 0])
          : undefined;
      }),
    );
  }

  get #userIndex(): UserIndexAccess {
    if (this.#sealed) throw this.#serverOnly('the sessions of a user');
    return {
      store: this.store,
      timeout: this.config.timeout,
      lifetime: this.config.lifetime,
      call: (op, key, run) => this.#calls.run(op, key, run),
    };
  }

  /**
   * The live sessions bound to `user` (`session.setUser`), newest access first, without scanning
   * all sessions. `current` marks the session of the request given.
   * @throws UnsupportedError when the store has no user index
   */
  async listUserSessions(user: string, current?: Session<T>): Promise<UserSessionInfo[]> {
    const currentKey = current ? this.#stateOf(current).key : undefined;
    return listUserSessions(this.#userIndex, user, currentKey);
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
    return revokeUserSessions(this.#userIndex, user, keep, (key, ms) =>
      this.#emit('killed', { key: key.slice(0, 12), ms }),
    );
  }

  /** Deletes one session by store key (as listed by `listUserSessions`). */
  async revokeSession(key: string): Promise<void> {
    if (!isStoreKey(key))
      throw new SessionStateError('revokeSession takes a store key (64 hex characters)');
    if (this.#sealed) throw this.#serverOnly('a session by its key');
    const started = performance.now();
    await this.#calls.run('delete', key, () => this.store.delete(key));
    this.#emit('killed', { key: key.slice(0, 12), ms: performance.now() - started });
  }

  /** The error of a call that needs the sessions kept on a server. */
  #serverOnly(what: string): UnsupportedError {
    return new UnsupportedError(
      'cookie',
      `${what} cannot be reached: CookieStore keeps each session only in its browser's cookie, with nothing on the server to list or delete; use a server store (RedisStore, DBStore, DiskStore, ShelfStore) for this`,
    );
  }

  /** Removes expired sessions now; returns how many. Runs in the background by itself too. */
  async cleanup(): Promise<number> {
    const c = this.config;
    return this.store.cleanup(
      c.lifetime !== undefined ? Math.min(c.timeout, c.lifetime) : c.timeout,
    );
  }

  /** Stops background cleanup. Does not close the store (it may be shared). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#cleanup.stop();
  }
}
