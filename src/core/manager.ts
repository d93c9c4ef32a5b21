/**
 * SessionManager: the framework-agnostic request cycle. `load()` turns a Cookie header into a
 * Session, `commit()` persists what changed and returns the Set-Cookie value (or nothing).
 * Adapters and the web layer are thin wrappers around these two calls.
 * @module
 */

import type { Store, StoredSession, StoreMutator } from '../stores/store.js';
import { structuredClone as clone } from './clone.js';
import {
  decodePayload,
  encodePayload,
  encodeValue,
  type SessionData,
  type SessionPayload,
} from './codec.js';
import { type ResolvedConfig, resolveConfig, type SessionConfig } from './config.js';
import {
  type CookieOptions,
  readCookie,
  serializeExpiredCookie,
  serializeSessionCookie,
  signId,
  verifyCookieValue,
} from './cookie.js';
import {
  ConfigError,
  SessionExpiredError,
  SessionStateError,
  SessionTooLargeError,
  StoreError,
  StoreUnavailableError,
} from './errors.js';
import { generateSessionId, storeKey } from './id.js';
import { createSession, type Session, type SessionState } from './session.js';

/** What an adapter knows of a request. */
export interface RequestInfo {
  /** The raw Cookie header. */
  cookie?: string | null | undefined;
  /** The client's IP address (after proxy handling, see `clientIp`). */
  ip?: string | undefined;
  /** True when the request came over HTTPS (for `secure: 'auto'`). */
  secure?: boolean | undefined;
}

/** The result of a commit: the Set-Cookie header value to send, if any. */
export type CommitResult = string | undefined;

const states = new WeakMap<object, SessionState<SessionData>>();

function byteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
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
  #cleanupTimer: NodeJS.Timeout | undefined;
  #cleanupRunning = false;
  #closed = false;

  constructor(store: Store, config: SessionConfig<T> = {}) {
    if (!store || typeof store.get !== 'function' || typeof store.update !== 'function') {
      throw new ConfigError('SessionManager needs a store (MemoryStore, DiskStore, …)');
    }
    this.store = store;
    this.config = resolveConfig(config);
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

  #withTimeout<R>(op: string, promise: Promise<R>): Promise<R> {
    const ms = this.config.store_timeout;
    const kind = this.store.kind;
    const wrapped = promise.catch((err: unknown) => {
      if (err instanceof StoreError || err instanceof SessionTooLargeError) throw err;
      if (err instanceof Error && (err as { code?: string }).code?.startsWith('ERR_')) throw err;
      throw new StoreUnavailableError(
        kind,
        `${op} failed: ${(err as Error)?.message ?? String(err)}`,
        { cause: err },
      );
    });
    if (ms <= 0) return wrapped;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new StoreUnavailableError(kind, `${op} timed out after ${ms} ms`)),
        ms,
      );
    });
    return Promise.race([wrapped, timeout]).finally(() => clearTimeout(timer));
  }

  #newState(ip: string | undefined, secure: boolean, clientHasCookie: boolean): SessionState<T> {
    const id = generateSessionId();
    const meta = { created: Date.now(), ip };
    let data: Partial<T> = {};
    const init = this.config.initializer;
    if (typeof init === 'function') {
      const out = init(data);
      if (out && typeof out === 'object') data = out;
    } else if (init) {
      data = clone(init) as Partial<T>;
    }
    void secure;
    return {
      id,
      key: storeKey(id),
      data,
      meta,
      baseline: encodePayload({ v: 1, meta, data }),
      atime: 0,
      isNew: true,
      killed: false,
      replacedKey: undefined,
      sendCookie: false,
      clientHasCookie,
      dead: false,
      ip,
      committed: false,
    };
  }

  #wrap(state: SessionState<T>): Session<T> {
    const session = createSession(state, {
      regenerate: (s) => this.#regenerate(s),
      update: (s, fn) => this.#update(s, fn),
    });
    states.set(session as object, state as SessionState<SessionData>);
    return session;
  }

  #stateOf(session: Session<T>): SessionState<T> {
    const state = states.get(session as object) as SessionState<T> | undefined;
    if (!state) throw new SessionStateError('not a session made by this manager');
    return state;
  }

  #expire(request: RequestInfo, state: SessionState<T> | undefined, key: string): never {
    // web.py: kill the session and answer expired_message.
    void this.store
      .delete(key)
      .catch((err: unknown) =>
        this.config.logger.warn('[websession] delete of expired session failed', err),
      );
    void state;
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
    const ip = request.ip;
    const raw = readCookie(request.cookie, c.cookie_name);
    const verified = verifyCookieValue(raw, c.secret_keys);
    if (!verified)
      return this.#wrap(this.#newState(ip, request.secure ?? false, raw !== undefined));

    const key = storeKey(verified.id);
    const record = await this.#withTimeout('get', this.store.get(key));
    const now = Date.now();
    let payload: SessionPayload | undefined;
    if (record) {
      try {
        payload = decodePayload(record.data);
      } catch (err) {
        c.logger.warn(
          `[websession] [${this.store.kind}] corrupt session record ${key.slice(0, 12)}…, treated as no session`,
          err,
        );
      }
    }
    const expired =
      !payload ||
      !record ||
      now - record.atime > c.timeout * 1000 ||
      (c.lifetime !== undefined && now - payload.meta.created > c.lifetime * 1000);
    if (expired) {
      if (!c.ignore_expiry) this.#expire(request, undefined, key);
      if (record && payload) {
        // Expired: remove it now rather than at the next cleanup.
        void this.store.delete(key).catch(() => {});
      }
      return this.#wrap(this.#newState(ip, request.secure ?? false, true));
    }
    if (!c.ignore_change_ip && payload!.meta.ip !== ip) this.#expire(request, undefined, key);
    const p = payload!;
    const state: SessionState<T> = {
      id: verified.id,
      key,
      data: p.data as Partial<T>,
      meta: p.meta,
      baseline: record!.data,
      atime: record!.atime,
      isNew: false,
      killed: false,
      replacedKey: undefined,
      sendCookie: verified.stale || c.cookie_max_age !== undefined,
      clientHasCookie: true,
      dead: false,
      ip,
      committed: false,
    };
    return this.#wrap(state);
  }

  #encode(state: SessionState<T>, data: Partial<T> = state.data): string {
    const text = encodePayload({ v: 1, meta: state.meta, data: data as SessionData });
    if (text.length > this.config.max_size || byteLength(text) > this.config.max_size) {
      throw new SessionTooLargeError(byteLength(text), this.config.max_size);
    }
    return text;
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

  /** A mutator that merges this request's changed keys into the stored record. */
  #merge(
    state: SessionState<T>,
    changed: string[],
    after?: (data: Partial<T>) => void,
  ): StoreMutator {
    return (current) => {
      let payload: SessionPayload;
      if (current) {
        payload = decodePayload(current.data);
      } else if (state.isNew) {
        payload = { v: 1, meta: state.meta, data: clone(state.data as SessionData) };
      } else {
        return undefined; // killed or expired elsewhere: never revive it
      }
      const src = state.data as SessionData;
      if (current) {
        for (const k of changed) {
          if (Object.hasOwn(src, k)) payload.data[k] = clone(src[k]);
          else delete payload.data[k];
        }
      }
      after?.(payload.data as Partial<T>);
      return { data: this.#encode(state, payload.data as Partial<T>), atime: Date.now() };
    };
  }

  #regenerate(state: SessionState<T>): void {
    if (!state.isNew && !state.replacedKey) state.replacedKey = state.key;
    state.id = generateSessionId();
    state.key = storeKey(state.id);
    if (!state.isNew) state.isNew = true;
    state.sendCookie = true;
  }

  async #update(state: SessionState<T>, fn: (data: Partial<T>) => void): Promise<Partial<T>> {
    if (state.committed)
      throw new SessionStateError('session.update() after the request was committed');
    if (state.replacedKey) await this.#finishRegenerate(state);
    if (state.dead) {
      fn(state.data);
      return { ...state.data };
    }
    const changed = this.#changedKeys(state);
    const stored = await this.#withTimeout(
      'update',
      this.store.update(state.key, this.#merge(state, changed, fn)),
    );
    if (!stored) {
      state.dead = true;
      fn(state.data);
      return { ...state.data };
    }
    const payload = decodePayload(stored.data);
    if (state.isNew) state.sendCookie = true;
    state.isNew = false;
    state.data = payload.data as Partial<T>;
    state.baseline = stored.data;
    state.atime = stored.atime;
    return { ...state.data };
  }

  /** Moves a regenerated session to its new key now (data as it is), deleting the old record. */
  async #finishRegenerate(state: SessionState<T>): Promise<void> {
    const old = state.replacedKey!;
    const text = this.#encode(state);
    const now = Date.now();
    await this.#withTimeout('set', this.store.set(state.key, { data: text, atime: now }));
    await this.#withTimeout('delete', this.store.delete(old));
    state.replacedKey = undefined;
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
    const opts = () => this.cookieOptions(request.secure ?? false);

    if (state.killed) {
      const keys = [state.key, state.replacedKey].filter((k): k is string => k !== undefined);
      for (const k of keys) await this.#withTimeout('delete', this.store.delete(k));
      return state.clientHasCookie ? serializeExpiredCookie(opts()) : undefined;
    }
    if (state.dead) return undefined;
    if (state.replacedKey) {
      await this.#finishRegenerate(state);
      return serializeSessionCookie(signId(state.id, c.secret_keys), opts());
    }

    const text = encodePayload({ v: 1, meta: state.meta, data: state.data as SessionData });
    const changed = text !== state.baseline;
    if (state.isNew) {
      if (!changed)
        return state.sendCookie
          ? serializeSessionCookie(signId(state.id, c.secret_keys), opts())
          : undefined;
      const sized = this.#encode(state);
      await this.#withTimeout('set', this.store.set(state.key, { data: sized, atime: Date.now() }));
      return serializeSessionCookie(signId(state.id, c.secret_keys), opts());
    }
    if (changed) {
      const keys = this.#changedKeys(state);
      const stored = await this.#withTimeout(
        'update',
        this.store.update(state.key, this.#merge(state, keys)),
      );
      if (!stored) return undefined; // killed elsewhere meanwhile: stays dead
    } else {
      const now = Date.now();
      if (now - state.atime >= c.touch_interval * 1000) {
        await this.#withTimeout('touch', this.store.touch(state.key, now));
      }
    }
    return state.sendCookie
      ? serializeSessionCookie(signId(state.id, c.secret_keys), opts())
      : undefined;
  }

  /** Removes expired sessions now; returns how many. Runs in the background by itself too. */
  async cleanup(): Promise<number> {
    return this.store.cleanup(
      this.config.lifetime !== undefined
        ? Math.min(this.config.timeout, this.config.lifetime)
        : this.config.timeout,
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
      if (this.#cleanupRunning) return;
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

/** Copies the stored record of a store (utility for tools and tests). */
export type { StoredSession };
