/**
 * SessionManager: the framework-agnostic request cycle. `load()` turns a Cookie header into a
 * Session, `commit()` persists what changed and returns the Set-Cookie value (or nothing).
 * Adapters and the web layer are thin wrappers around these two calls.
 * @module
 */

import { performance } from 'node:perf_hooks';
import type { Store, StoredSession, StoreMutator } from '../stores/store.js';
import {
  decodePayload,
  encodePayload,
  encodeValue,
  type SessionData,
  type SessionMeta,
  type SessionPayload,
} from './codec.js';
import { type ResolvedConfig, resolveConfig, type SessionConfig } from './config.js';
import {
  type CookieOptions,
  IdCache,
  readCookie,
  serializeExpiredCookie,
  serializeSessionCookie,
} from './cookie.js';
import {
  ConfigError,
  SessionExpiredError,
  SessionStateError,
  SessionTooLargeError,
  StoreError,
  StoreUnavailableError,
  UnsupportedError,
} from './errors.js';
import {
  SessionEmitter,
  type SessionEventName,
  type SessionEvents,
  type SessionListener,
} from './events.js';
import { generateSessionId, isValidSessionId, storeKey } from './id.js';
import { createSession, type Session, type SessionHost, type SessionState } from './session.js';

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

/** One of a user's live sessions, as {@link SessionManager.listUserSessions} reports it. */
export interface UserSessionInfo {
  /** The store key (SHA-256 of the id): what `revokeSession` takes. Never the id itself. */
  key: string;
  /** Creation time, ms since epoch. */
  created: number;
  /** Last access, ms since epoch. */
  atime: number;
  /** Client IP recorded when the session was created. */
  ip: string | undefined;
  /** User-Agent recorded when the session was created. */
  userAgent: string | undefined;
  /** True for the session given as `current`. */
  current: boolean;
}

const states = new WeakMap<object, SessionState<SessionData>>();

function byteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

function hasKeys(o: object): boolean {
  for (const _ in o) return true;
  return false;
}

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
  };
  /** Memo of cookie signatures and store keys of recent ids. */
  readonly #ids: IdCache;
  #cleanupTimer: NodeJS.Timeout | undefined;
  #cleanupRunning = false;
  #closed = false;

  constructor(store: Store, config: SessionConfig<T> = {}) {
    if (!store || typeof store.get !== 'function' || typeof store.update !== 'function') {
      throw new ConfigError('SessionManager needs a store (MemoryStore, DiskStore, …)');
    }
    this.store = store;
    this.config = resolveConfig(config);
    this.#ids = new IdCache(this.config.secret_keys);
    store.configure?.({ timeout: this.config.timeout });
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

  // Hot paths test `#events.listens(…)` themselves, so an event nobody listens to allocates nothing.
  #emit<E extends SessionEventName>(event: E, detail: SessionEvents[E]): void {
    if (this.#events.listens(event)) this.#events.emit(event, detail);
  }

  /** Cookie attributes for one request. */
  cookieOptions(secureRequest: boolean): CookieOptions {
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

  /** Store calls in flight with their deadline, checked by one timer (not one timer per call). */
  readonly #pending = new Set<{
    at: number;
    op: string;
    key: string;
    fail: (err: unknown) => void;
  }>();
  #deadlineTimer: NodeJS.Timeout | undefined;

  /** The error a failed store call becomes (an `error` event, timed from `started`, is emitted). */
  #fail(op: string, key: string, err: unknown, started: number): unknown {
    let out = err;
    if (
      !(err instanceof StoreError) &&
      !(err instanceof SessionTooLargeError) &&
      !(err instanceof Error && (err as { code?: string }).code?.startsWith('ERR_'))
    ) {
      out = new StoreUnavailableError(
        this.store.kind,
        `${op} failed: ${(err as Error)?.message ?? String(err)}`,
        { cause: err },
      );
    }
    if (this.#events.listens('error'))
      this.#events.emit('error', {
        key: key.slice(0, 12),
        ms: started > 0 ? performance.now() - started : 0,
        op,
        error: out,
      });
    return out;
  }

  #checkDeadlines(): void {
    const now = performance.now();
    for (const entry of this.#pending) {
      if (entry.at > now) continue;
      this.#pending.delete(entry);
      const timedOut = new StoreUnavailableError(
        this.store.kind,
        `${entry.op} timed out after ${this.config.store_timeout} ms`,
      );
      entry.fail(this.#fail(entry.op, entry.key, timedOut, entry.at - this.config.store_timeout));
    }
    if (this.#pending.size === 0 && this.#deadlineTimer) {
      clearInterval(this.#deadlineTimer);
      this.#deadlineTimer = undefined;
    }
  }

  /** Runs one store call with the configured deadline; failures become StoreUnavailableError. */
  #call<R>(op: string, key: string, promise: Promise<R>): Promise<R> {
    const ms = this.config.store_timeout;
    if (ms <= 0 || this.store.capabilities.inProcess) {
      const started = this.#events.listens('error') ? performance.now() : 0;
      return promise.catch((err: unknown) => {
        throw this.#fail(op, key, err, started);
      });
    }
    return new Promise<R>((resolve, reject) => {
      const entry = { at: performance.now() + ms, op, key, fail: reject };
      this.#pending.add(entry);
      if (!this.#deadlineTimer) {
        this.#deadlineTimer = setInterval(
          () => this.#checkDeadlines(),
          Math.max(5, Math.min(250, ms / 4)),
        );
        // Not unref'd: a call in flight keeps the process up until it settles or times out;
        // the timer stops as soon as nothing is in flight.
      }
      promise.then(
        (value) => {
          this.#pending.delete(entry);
          resolve(value);
        },
        (err: unknown) => {
          if (!this.#pending.delete(entry)) return; // already failed by its deadline
          reject(this.#fail(op, key, err, entry.at - ms));
        },
      );
    });
  }

  #newState(request: RequestInfo, clientHasCookie: boolean): SessionState<T> {
    const id = generateSessionId();
    const meta: SessionMeta = { created: Date.now() };
    if (request.ip !== undefined) meta.ip = request.ip;
    if (request.userAgent) meta.ua = request.userAgent.slice(0, 512);
    let data: Partial<T> = {};
    const init = this.config.initializer;
    if (typeof init === 'function') {
      const out = init(data);
      if (out && typeof out === 'object') data = out;
    } else if (init) {
      data = structuredClone(init) as Partial<T>;
    }
    const state: SessionState<T> = {
      id,
      key: storeKey(id),
      data,
      meta,
      baseline: '',
      atime: 0,
      isNew: true,
      killed: false,
      replacedKey: undefined,
      sendCookie: false,
      clientHasCookie,
      dead: false,
      ip: request.ip,
      committed: false,
      flashIn: {},
      flashOut: {},
      hadFlash: false,
      touched: undefined,
      metaChanged: false,
      host: this.#host,
    };
    state.baseline = this.#text(state);
    return state;
  }

  #wrap(state: SessionState<T>): Session<T> {
    const session = createSession(state);
    states.set(session as object, state as SessionState<SessionData>);
    return session;
  }

  #stateOf(session: Session<T>): SessionState<T> {
    const state = states.get(session as object) as SessionState<T> | undefined;
    if (!state) throw new SessionStateError('not a session made by this manager');
    return state;
  }

  #expire(request: RequestInfo, key: string): never {
    // web.py: kill the session and answer expired_message.
    void this.store
      .delete(key)
      .catch((err: unknown) =>
        this.config.logger.warn('[websession] delete of expired session failed', err),
      );
    const setCookie = serializeExpiredCookie(this.cookieOptions(request.secure ?? false));
    throw new SessionExpiredError(this.config.expired_message, setCookie);
  }

  /**
   * Loads the session named by the request's cookie, or starts a new one (never stored until it
   * gets data). A malformed, forged or unknown cookie never reaches the store or is adopted.
   * @throws SessionExpiredError when the session expired and `ignore_expiry` is false
   * @throws StoreError when the store fails (adapters answer 503)
   */
  async load(request: RequestInfo = {}): Promise<Session<T>> {
    if (this.#closed) throw new SessionStateError('this SessionManager is closed');
    this.#scheduleCleanup();
    const c = this.config;
    const raw = readCookie(request.cookie, c.cookie_name);
    const verified = this.#ids.verify(raw);
    if (!verified) return this.#wrap(this.#newState(request, raw !== undefined));

    const key = verified.key;
    const started = performance.now();
    const record = await this.#call('get', key, this.store.get(key));
    const ms = performance.now() - started;
    const now = Date.now();
    let payload: SessionPayload | undefined;
    if (record) {
      try {
        payload = decodePayload(record.data);
      } catch (err) {
        const aside = this.store.quarantine ? 'quarantined' : 'left in place';
        c.logger.warn(
          `[websession] [${this.store.kind}] corrupt session record ${key.slice(0, 12)}…, ${aside}, treated as no session`,
          err,
        );
        if (this.store.quarantine)
          await this.#call('quarantine', key, this.store.quarantine(key)).catch((e: unknown) =>
            c.logger.warn('[websession] quarantine failed', e),
          );
      }
    }
    let reason: SessionEvents['expired']['reason'] | undefined;
    if (!record || !payload) reason = 'unknown';
    else if (now - record.atime > c.timeout * 1000) reason = 'timeout';
    else if (c.lifetime !== undefined && now - payload.meta.created > c.lifetime * 1000)
      reason = 'lifetime';
    else if (!c.ignore_change_ip && payload.meta.ip !== request.ip) reason = 'ip';
    if (reason !== undefined) {
      if (reason !== 'unknown') this.#emit('expired', { key: key.slice(0, 12), ms, reason });
      if (!c.ignore_expiry || reason === 'ip') this.#expire(request, key);
      // Expired: remove it now rather than at the next cleanup.
      if (record && payload) void this.store.delete(key).catch(() => {});
      return this.#wrap(this.#newState(request, true));
    }
    const p = payload as SessionPayload;
    const stored = record as StoredSession;
    if (this.#events.listens('loaded')) this.#events.emit('loaded', { key: key.slice(0, 12), ms });
    const state: SessionState<T> = {
      id: verified.id,
      key,
      data: p.data as Partial<T>,
      meta: p.meta,
      baseline: stored.data,
      atime: stored.atime,
      isNew: false,
      killed: false,
      replacedKey: undefined,
      sendCookie: verified.stale || c.cookie_max_age !== undefined,
      clientHasCookie: true,
      dead: false,
      ip: request.ip,
      committed: false,
      flashIn: p.flash ? { ...p.flash } : {},
      flashOut: {},
      hadFlash: p.flash !== undefined,
      touched: undefined,
      metaChanged: false,
      host: this.#host,
    };
    return this.#wrap(state);
  }

  /** The payload this request would store, as text (not size-checked). */
  #text(state: SessionState<T>, data: Partial<T> = state.data): string {
    const payload: SessionPayload = { v: 1, meta: state.meta, data: data as SessionData };
    if (hasKeys(state.flashOut)) payload.flash = state.flashOut;
    return encodePayload(payload);
  }

  #checkSize(text: string): string {
    // UTF-8 takes at most 3 bytes per UTF-16 unit: count bytes only when it could matter.
    const max = this.config.max_size;
    if (text.length > max || (text.length * 3 > max && byteLength(text) > max)) {
      throw new SessionTooLargeError(byteLength(text), this.config.max_size);
    }
    return text;
  }

  /**
   * Changed keys found cheaply from the writes made through the session, or undefined when the
   * data holds objects (which may have been mutated in place: then only a full compare tells).
   */
  #fastChangedKeys(state: SessionState<T>): string[] | undefined {
    const data = state.data as SessionData;
    for (const k in data) {
      const v = data[k];
      if (typeof v === 'object' ? v !== null : typeof v === 'function') return undefined;
    }
    const keys: string[] = [];
    if (!state.touched) return keys;
    for (const [k, before] of state.touched) {
      if (before.had !== Object.hasOwn(data, k) || !Object.is(before.value, data[k])) keys.push(k);
    }
    return keys;
  }

  /** Keys whose values differ between the baseline and the current data. */
  #changedKeys(state: SessionState<T>): string[] {
    let original: SessionData = {};
    try {
      original = decodePayload(state.baseline).data;
    } catch {
      // a corrupt baseline cannot happen for loaded sessions; treat every key as changed
    }
    const current = state.data as SessionData;
    const keys = new Set([...Object.keys(original), ...Object.keys(current)]);
    const changed: string[] = [];
    for (const k of keys) {
      const had = Object.hasOwn(original, k);
      const has = Object.hasOwn(current, k);
      if (had !== has || encodeValue(original[k]) !== encodeValue(current[k])) changed.push(k);
    }
    return changed;
  }

  /** A mutator that merges this request's changes (keys, user, flash) into the stored record. */
  #merge(
    state: SessionState<T>,
    changed: string[],
    after?: (data: Partial<T>) => void,
  ): StoreMutator {
    return (current) => {
      let payload: SessionPayload;
      if (current && current.data === state.baseline && !after) {
        // Nobody wrote since we loaded: the request's own view is the merged record.
        return {
          data: this.#checkSize(this.#text(state)),
          atime: Date.now(),
          user: state.meta.user,
        };
      }
      if (current) {
        payload = decodePayload(current.data);
        const src = state.data as SessionData;
        for (const k of changed) {
          if (Object.hasOwn(src, k)) payload.data[k] = src[k];
          else delete payload.data[k];
        }
        payload.meta = state.meta;
        if (state.hadFlash || hasKeys(state.flashOut)) {
          if (hasKeys(state.flashOut)) payload.flash = state.flashOut;
          else delete payload.flash;
        }
      } else if (state.isNew) {
        payload = { v: 1, meta: state.meta, data: structuredClone(state.data as SessionData) };
        if (hasKeys(state.flashOut)) payload.flash = state.flashOut;
      } else {
        return undefined; // killed or expired elsewhere: never revive it
      }
      after?.(payload.data as Partial<T>);
      return {
        data: this.#checkSize(encodePayload(payload)),
        atime: Date.now(),
        user: state.meta.user,
      };
    };
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
    if (state.committed)
      throw new SessionStateError('session.update() after the request was committed');
    if (state.replacedKey) await this.#finishRegenerate(state);
    if (state.dead) {
      fn(state.data);
      return { ...state.data };
    }
    const wasNew = state.isNew;
    const changed = this.#fastChangedKeys(state) ?? this.#changedKeys(state);
    const started = performance.now();
    const stored = await this.#call(
      'update',
      state.key,
      this.store.update(state.key, this.#merge(state, changed, fn)),
    );
    if (!stored) {
      state.dead = true;
      fn(state.data);
      return { ...state.data };
    }
    const payload = decodePayload(stored.data);
    const event = {
      key: state.key.slice(0, 12),
      ms: performance.now() - started,
      bytes: stored.data.length,
    };
    this.#emit(wasNew ? 'created' : 'saved', event);
    if (wasNew) state.sendCookie = true;
    state.isNew = false;
    state.data = payload.data as Partial<T>;
    state.meta = payload.meta;
    state.hadFlash = payload.flash !== undefined;
    state.flashOut = {};
    state.touched = undefined;
    state.metaChanged = false;
    state.baseline = stored.data;
    state.atime = stored.atime;
    return { ...state.data };
  }

  /**
   * Moves a regenerated session to its new key now (data as it is), deleting the old record. The
   * new record is written first (a failure then loses nothing); the old one is removed in one
   * locked step that also tells whether it was still there. When it was not (the session was
   * killed, revoked or expired meanwhile), the new record is removed again and the session stays
   * dead: a late regenerate never revives it under a new id.
   */
  async #finishRegenerate(state: SessionState<T>): Promise<void> {
    const old = state.replacedKey as string;
    const text = this.#checkSize(this.#text(state));
    const now = Date.now();
    const started = performance.now();
    await this.#call(
      'set',
      state.key,
      this.store.set(state.key, { data: text, atime: now, user: state.meta.user }),
    );
    let alive = false;
    await this.#call(
      'delete',
      old,
      this.store.update(old, (current) => {
        alive = current !== undefined;
        return null;
      }),
    );
    state.replacedKey = undefined;
    if (!alive) {
      await this.#call('delete', state.key, this.store.delete(state.key));
      state.dead = true;
      return;
    }
    if (this.#events.listens('created'))
      this.#events.emit('created', {
        key: state.key.slice(0, 12),
        ms: performance.now() - started,
        bytes: text.length,
      });
    state.isNew = false;
    state.baseline = text;
    state.atime = now;
  }

  /**
   * Persists what the request changed and returns the Set-Cookie value to send, or undefined.
   * Unchanged sessions are not rewritten (their access time is refreshed at most every
   * `touch_interval`); new sessions without data are not stored and get no cookie; killed
   * sessions are deleted and their cookie expired.
   * @throws SessionTooLargeError, CodecError, StoreError
   */
  async commit(session: Session<T>, request: RequestInfo = {}): Promise<CommitResult> {
    const state = this.#stateOf(session);
    if (state.committed) return undefined;
    state.committed = true;
    const c = this.config;
    const cookie = () =>
      serializeSessionCookie(
        this.#ids.sign(state.id, state.key),
        this.cookieOptions(request.secure ?? false),
      );

    if (state.killed) {
      const started = performance.now();
      const keys = [state.key, state.replacedKey].filter((k): k is string => k !== undefined);
      for (const k of keys) await this.#call('delete', k, this.store.delete(k));
      if (!state.isNew || state.replacedKey)
        this.#emit('killed', { key: state.key.slice(0, 12), ms: performance.now() - started });
      return state.clientHasCookie
        ? serializeExpiredCookie(this.cookieOptions(request.secure ?? false))
        : undefined;
    }
    if (state.dead) return undefined;
    if (state.replacedKey) {
      await this.#finishRegenerate(state);
      return state.dead ? undefined : cookie();
    }

    const fast = this.#fastChangedKeys(state);
    let keys: string[];
    let changed: boolean;
    if (fast !== undefined) {
      keys = fast;
      changed = keys.length > 0 || state.metaChanged || state.hadFlash || hasKeys(state.flashOut);
    } else {
      changed = this.#text(state) !== state.baseline;
      keys = changed ? this.#changedKeys(state) : [];
    }
    const started = performance.now();
    if (state.isNew) {
      if (!changed) return state.sendCookie ? cookie() : undefined;
      const text = this.#checkSize(this.#text(state));
      await this.#call(
        'set',
        state.key,
        this.store.set(state.key, { data: text, atime: Date.now(), user: state.meta.user }),
      );
      if (this.#events.listens('created'))
        this.#events.emit('created', {
          key: state.key.slice(0, 12),
          ms: performance.now() - started,
          bytes: text.length,
        });
      return cookie();
    }
    if (changed) {
      const stored = await this.#call(
        'update',
        state.key,
        // The record as loaded: stores that can write "if unchanged" in one step try that first.
        this.store.update(state.key, this.#merge(state, keys), {
          data: state.baseline,
          atime: state.atime,
        }),
      );
      if (!stored) return undefined; // killed elsewhere meanwhile: stays dead
      if (this.#events.listens('saved'))
        this.#events.emit('saved', {
          key: state.key.slice(0, 12),
          ms: performance.now() - started,
          bytes: stored.data.length,
        });
    } else {
      const now = Date.now();
      if (now - state.atime >= c.touch_interval * 1000) {
        await this.#call('touch', state.key, this.store.touch(state.key, now));
        if (this.#events.listens('touched'))
          this.#events.emit('touched', {
            key: state.key.slice(0, 12),
            ms: performance.now() - started,
          });
      }
    }
    return state.sendCookie ? cookie() : undefined;
  }

  #requireUserIndex(): (user: string) => Promise<string[]> {
    const fn = this.store.userSessions;
    if (!fn)
      throw new UnsupportedError(
        this.store.kind,
        "this store keeps no user index: listing or revoking a user's sessions is not available",
      );
    return fn.bind(this.store);
  }

  /**
   * The live sessions bound to `user` (`session.setUser`), newest access first, without scanning
   * all sessions. `current` marks the session of the request given.
   * @throws UnsupportedError when the store has no user index
   */
  async listUserSessions(user: string, current?: Session<T>): Promise<UserSessionInfo[]> {
    const index = this.#requireUserIndex();
    const currentKey = current ? this.#stateOf(current).key : undefined;
    const keys = await this.#call('userSessions', user, index(user));
    const now = Date.now();
    const out: UserSessionInfo[] = [];
    for (const key of keys) {
      if (!isValidSessionId(key)) continue;
      const record = await this.#call('get', key, this.store.get(key));
      if (!record) continue;
      let payload: SessionPayload;
      try {
        payload = decodePayload(record.data);
      } catch {
        continue;
      }
      if (payload.meta.user !== user) continue;
      if (now - record.atime > this.config.timeout * 1000) continue;
      if (
        this.config.lifetime !== undefined &&
        now - payload.meta.created > this.config.lifetime * 1000
      )
        continue;
      out.push({
        key,
        created: payload.meta.created,
        atime: record.atime,
        ip: payload.meta.ip,
        userAgent: payload.meta.ua,
        current: key === currentKey,
      });
    }
    return out.sort((a, b) => b.atime - a.atime);
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
    const index = this.#requireUserIndex();
    const keep =
      typeof options.except === 'string'
        ? options.except
        : options.except
          ? this.#stateOf(options.except).key
          : undefined;
    let removed = 0;
    for (const key of await this.#call('userSessions', user, index(user))) {
      if (key === keep || !isValidSessionId(key)) continue;
      const record = await this.#call('get', key, this.store.get(key));
      if (record) {
        try {
          if (decodePayload(record.data).meta.user !== user) continue;
        } catch {
          // corrupt: delete it all the same
        }
      }
      const started = performance.now();
      await this.#call('delete', key, this.store.delete(key));
      if (record) {
        removed++;
        this.#emit('killed', { key: key.slice(0, 12), ms: performance.now() - started });
      }
    }
    return removed;
  }

  /** Deletes one session by store key (as listed by `listUserSessions`). */
  async revokeSession(key: string): Promise<void> {
    if (!isValidSessionId(key))
      throw new SessionStateError('revokeSession takes a store key (64 hex characters)');
    const started = performance.now();
    await this.#call('delete', key, this.store.delete(key));
    this.#emit('killed', { key: key.slice(0, 12), ms: performance.now() - started });
  }

  /** Removes expired sessions now; returns how many. Runs in the background by itself too. */
  async cleanup(): Promise<number> {
    const c = this.config;
    return this.store.cleanup(
      c.lifetime !== undefined ? Math.min(c.timeout, c.lifetime) : c.timeout,
    );
  }

  #scheduleCleanup(): void {
    if (
      this.#cleanupTimer ||
      this.config.cleanup_interval === 0 ||
      this.store.capabilities.nativeTtl
    )
      return;
    const run = () => {
      if (this.#cleanupRunning || this.#closed) return;
      this.#cleanupRunning = true;
      this.cleanup()
        .catch((err: unknown) =>
          this.config.logger.warn(`[websession] [${this.store.kind}] cleanup failed`, err),
        )
        .finally(() => {
          this.#cleanupRunning = false;
        });
    };
    this.#cleanupTimer = setInterval(run, this.config.cleanup_interval * 1000);
    this.#cleanupTimer.unref();
    // A first pass soon after start, off the request path.
    setTimeout(run, 1000).unref();
  }

  /** Stops background cleanup. Does not close the store (it may be shared). */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#cleanupTimer) clearInterval(this.#cleanupTimer);
    this.#cleanupTimer = undefined;
  }
}
