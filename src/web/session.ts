/**
 * `web.session`: web.py's `web.session.Session(app, store, initializer)` and the stores, callable
 * with or without `new`. The returned session is one module-level object that resolves to the
 * current request's session, so handlers write `session.logged_in = true` as in web.py.
 * @module
 */
import type { SessionData } from '../core/codec.js';
import type { Initializer, SessionConfig } from '../core/config.js';
import { SessionStateError } from '../core/errors.js';
import { SessionManager } from '../core/manager.js';
import { isCookieSealer, type StoreOrSealer } from '../core/sealer.js';
import type { Session as RequestSession, SessionApi } from '../core/session.js';
import { CookieStore as CookieStoreClass, type CookieStoreOptions } from '../stores/cookie.js';
import {
  type DatabaseHandle,
  DBStore as DBStoreClass,
  type DBStoreOptions,
} from '../stores/db/index.js';
import { DiskStore as DiskStoreClass, type DiskStoreOptions } from '../stores/disk.js';
import { MemoryStore as MemoryStoreClass, type MemoryStoreOptions } from '../stores/memory.js';
import {
  type RedisClientLike,
  RedisStore as RedisStoreClass,
  type RedisStoreOptions,
} from '../stores/redis.js';
import { ShelfStore as ShelfStoreClass, type ShelfStoreOptions } from '../stores/shelf.js';
import type { Application } from './application.js';
import { config } from './config.js';
import { type RequestContext, SESSION_SLOT, tryGetContext } from './ctx.js';
import { keepAcrossReloads } from './reloader-handover.js';
import { sessionProcessor } from './session-processor.js';
import { setStartCheck } from './start-checks.js';
import { setStoreFailureLogger } from './store-failure-logger.js';

/**
 * The dict methods of web.py's session (its data is a dict with attribute access), on top of the
 * session's own methods. Data keys with any of these names are reached with `get` and `set`.
 */
export interface WebSessionMethods<T extends SessionData = SessionData> {
  /**
   * The session id, as web.py's `session.session_id` (the same value as `id`); undefined
   * outside a request or before the session processor has loaded the session.
   */
  readonly session_id: string | undefined;
  /** The store (web.py's `session.store`), or the sealer (CookieStore). */
  readonly store: StoreOrSealer;
  /** The manager behind this session object. */
  readonly manager: SessionManager<T>;
  /** The value of `key`; when `key` is not set, sets it to `value` first (Python's `setdefault`). */
  setdefault<K extends keyof T & string>(key: K, value: T[K]): T[K];
  /**
   * Removes `key` and returns its value, or `fallback` when it is not set. Without a fallback a
   * missing key gives undefined (Python raises `KeyError`; `session[key]` gives undefined too).
   */
  pop<K extends keyof T & string>(key: K): T[K] | undefined;
  pop<K extends keyof T & string, D>(key: K, fallback: D): T[K] | D;
  /** The data's keys (the id and the client's ip are not data: they are not listed). */
  keys(): (keyof T & string)[];
  /** The data's values, in the order of `keys()`. */
  values(): T[keyof T][];
  /** The data's `[key, value]` pairs, in the order of `keys()`. */
  items(): [keyof T & string, T[keyof T]][];
  /** Removes every data key; the session itself lives on (to end it, call `kill()`). */
  clear(): void;
  /** A shallow copy of the data, as a plain object. */
  copy(): Partial<T>;
  /**
   * Atomic read-modify-write when given a function (see the session's `update(fn)`): reads the
   * stored session under a per-session lock, applies `fn` and writes before the promise settles.
   * @example await session.update((s) => { s.count = (s.count ?? 0) + 1; });
   */
  update(fn: (data: Partial<T>) => void): Promise<Partial<T>>;
  /**
   * Given a plain object (or `[key, value]` pairs), merges it into this request's data, as
   * Python's `dict.update`; saved with the rest of the request's changes.
   * @example session.update({ cart: [], step: 1 });
   */
  update(mapping: Partial<T> | Iterable<readonly [keyof T & string, unknown]>): void;
}

/**
 * The module-level session of the web layer: the current request's session with web.py's dict
 * methods, plus `session_id`, `store` and `manager`.
 */
export type WebSession<T extends SessionData = SessionData> = Omit<SessionApi<T>, 'update'> &
  WebSessionMethods<T> &
  Partial<Omit<T, keyof SessionApi<T> | keyof WebSessionMethods<T>>>;

/** The processor name the session registers under: a second `Session(app, …)` replaces it. */
const PROCESSOR = 'websession.session';

/** Options beyond web.py's three arguments: any session config key, overriding `web.config.session_parameters`. */
export type WebSessionOptions<T extends SessionData> = SessionConfig<T>;

type AnySession = RequestSession<SessionData>;

/** The current request's session, or undefined outside a request or before it is loaded. */
function loaded(): AnySession | undefined {
  return tryGetContext()?.extra.get(SESSION_SLOT) as AnySession | undefined;
}

/** The current request's session; `name` is what the caller used, for the error. */
function current(name: string): AnySession {
  const context = tryGetContext();
  if (!context) throw new SessionStateError(`session.${name} used outside of a request`);
  return sessionIn(context);
}

/** The session the processor loaded into `context`. */
function sessionIn(context: RequestContext): AnySession {
  const session = context.extra.get(SESSION_SLOT) as AnySession | undefined;
  if (!session)
    throw new SessionStateError(
      'the session is not loaded for this request (is the app the one given to Session()?)',
    );
  return session;
}

/**
 * The methods of the web-layer session: made once for every session object and every request.
 * Each finds the current request's session when called.
 */
const METHODS: Record<string, (...args: never[]) => unknown> = Object.assign(Object.create(null), {
  get: (key: string, fallback?: unknown) => current('get').get(key, fallback),
  set: (key: string, value: unknown) => current('set').set(key, value),
  has: (key: string) => current('has').has(key),
  delete: (key: string) => current('delete').delete(key),
  kill: () => current('kill').kill(),
  regenerate: () => current('regenerate').regenerate(),
  flash: (key: string, value: unknown) => current('flash').flash(key, value),
  flashes: (key?: string) => {
    const session = current('flashes');
    return key === undefined ? session.flashes() : session.flashes(key);
  },
  setUser: (user: string | null) => current('setUser').setUser(user),
  getUser: () => current('getUser').getUser(),
  setMaxAge: (seconds: number | null | undefined) => current('setMaxAge').setMaxAge(seconds),
  getMaxAge: () => current('getMaxAge').getMaxAge(),
  toJSON: () => current('toJSON').data,
  setdefault(key: string, value: unknown): unknown {
    const session = current('setdefault');
    if (session.has(key)) return session.get(key);
    session.set(key, value);
    return value;
  },
  pop(key: string, fallback?: unknown): unknown {
    const session = current('pop');
    if (!session.has(key)) return fallback;
    const value = session.get(key);
    session.delete(key);
    return value;
  },
  keys: () => Object.keys(current('keys').data),
  values: () => Object.values(current('values').data),
  items: () => Object.entries(current('items').data),
  clear(): void {
    const session = current('clear');
    for (const key of Object.keys(session.data)) session.delete(key);
  },
  copy: () => current('copy').data,
  update(arg: unknown): Promise<Partial<SessionData>> | undefined {
    const session = current('update');
    if (typeof arg === 'function') return session.update(arg as (data: SessionData) => void);
    if (arg === null || typeof arg !== 'object')
      throw new TypeError(
        '[websession] session.update takes a function (an atomic update) or an object to merge',
      );
    const pairs =
      Symbol.iterator in arg
        ? (arg as Iterable<readonly [string, unknown]>)
        : Object.entries(arg as object);
    for (const [key, value] of pairs) session.set(key, value);
    return undefined;
  },
});

/** Properties that are not data and cannot be set. */
const READ_ONLY = new Set(['session_id', 'id', 'isNew', 'data', 'store', 'manager']);

/** What one `Session()` keeps: its store and manager (the request's session is in the context). */
interface Target {
  store: StoreOrSealer;
  manager: SessionManager<SessionData>;
}

function notData(prop: string, action: 'set' | 'delete'): TypeError {
  const what = READ_ONLY.has(prop)
    ? `session.${prop} is read-only`
    : `"${prop}" is a session method`;
  const instead =
    action === 'set'
      ? `session.set("${prop}", value) and session.get("${prop}")`
      : `session.delete("${prop}")`;
  return new TypeError(`[websession] ${what}; for data under that name use ${instead}`);
}

/** One Proxy handler for every web-layer session object. */
const handler: ProxyHandler<Target> = {
  get(target, prop) {
    if (typeof prop === 'symbol') return undefined;
    const method = METHODS[prop];
    if (method !== undefined) return method;
    switch (prop) {
      case 'store':
        return target.store;
      case 'manager':
        return target.manager;
      case 'session_id':
        return loaded()?.id;
      case 'then':
        return undefined;
    }
    return (current(prop) as unknown as Record<string, unknown>)[prop];
  },
  set(_target, prop, value) {
    if (typeof prop === 'symbol' || METHODS[prop] !== undefined || READ_ONLY.has(prop))
      throw notData(String(prop), 'set');
    (current(prop) as unknown as Record<string, unknown>)[prop] = value;
    return true;
  },
  deleteProperty(_target, prop) {
    if (typeof prop === 'symbol' || METHODS[prop] !== undefined || READ_ONLY.has(prop))
      throw notData(String(prop), 'delete');
    current(prop).delete(prop);
    return true;
  },
  has(_target, prop) {
    if (typeof prop !== 'string') return false;
    const context = tryGetContext();
    return context !== undefined && sessionIn(context).has(prop);
  },
  ownKeys() {
    const session = loaded();
    return session ? Object.keys(session.data) : [];
  },
  getOwnPropertyDescriptor(_target, prop) {
    const session = loaded();
    if (typeof prop !== 'string' || !session?.has(prop)) return undefined;
    return { value: session.get(prop), writable: true, enumerable: true, configurable: true };
  },
};

/**
 * `web.session.Session(app, store, initializer)`: sessions for every request of `app`.
 * Configuration comes from `web.config.session_parameters` (read now) and `options`.
 *
 * The returned object is the current request's session, with web.py's dict methods: `get`,
 * `setdefault`, `pop`, `keys`, `values`, `items`, `clear`, `copy`, and `update(mapping)` (or
 * `update(fn)`, an atomic update). Attribute access reads and writes the data; a data key named
 * like a method or like `session_id`, `id`, `isNew`, `data`, `store` or `manager` is reached
 * with `get`/`set` only (assigning or deleting it as an attribute throws a TypeError).
 *
 * @example
 * const session = web.session.Session(app, web.session.DiskStore('sessions'));
 * // in a handler: session.logged_in = true; session.get('logged_in', false); session.kill();
 */
export function Session<T extends SessionData = SessionData>(
  app: Application | null,
  store: StoreOrSealer,
  initializer?: Initializer<T> | null,
  options: WebSessionOptions<T> = {},
): WebSession<T> {
  const manager = new SessionManager<T>(store, {
    ...(config.session_parameters as SessionConfig<T>),
    ...options,
    ...(initializer ? { initializer } : {}),
  });

  // In debug mode a MemoryStore's sessions are handed to the reloaded process (see
  // reloader-handover.ts); a sealer keeps none.
  if (!isCookieSealer(store)) keepAcrossReloads(store);

  if (app) {
    // One slot for every Session(): a session object made by code that ran before a later
    // Session(app, …) (as after an in-process reload) still finds the current request's session.
    app.set_processor(PROCESSOR, sessionProcessor(manager, SESSION_SLOT));
    // The app's 503 answers to store failures are logged where this manager logs.
    setStoreFailureLogger(app, manager.config.logger);
    // app.run() checks the store before it listens (a missing table fails the start).
    setStartCheck(app, PROCESSOR, async () => store.ready?.());
  }

  const target: Target = { store, manager: manager as unknown as SessionManager<SessionData> };
  return new Proxy(target, handler) as unknown as WebSession<T>;
}

/** `web.session.DiskStore(dir)`: one file per session (callable with or without `new`). */
export function DiskStore(dir: string, options?: DiskStoreOptions): DiskStoreClass {
  return new DiskStoreClass(dir, options);
}

/**
 * `web.session.CookieStore()`: each session sealed (AES-256-GCM) in its browser's cookie, no
 * server state; the key is the session config's `secret_key`. At most 4,096 bytes per cookie.
 */
export function CookieStore(options?: CookieStoreOptions): CookieStoreClass {
  return new CookieStoreClass(options);
}

/** `web.session.MemoryStore()`: sessions in this process's memory. */
export function MemoryStore(options?: MemoryStoreOptions): MemoryStoreClass {
  return new MemoryStoreClass(options);
}

/**
 * `web.session.ShelfStore(filename)`: every session in one embedded LMDB file, shared safely by
 * the processes of one machine (needs the `lmdb` package).
 */
export function ShelfStore(filename: string, options?: ShelfStoreOptions): ShelfStoreClass {
  return new ShelfStoreClass(filename, options);
}

/**
 * `web.session.RedisStore(urlOrClient)`: sessions in Redis, expired by Redis TTL (needs the
 * `ioredis` package for a URL; or pass an ioredis / node-redis client the app already has).
 * @example web.session.RedisStore('redis://127.0.0.1:6379/0?prefix=sess:')
 */
export function RedisStore(
  client: RedisClientLike | string,
  options?: RedisStoreOptions,
): RedisStoreClass {
  return new RedisStoreClass(client, options);
}

/**
 * `web.session.DBStore(db, 'sessions')`: sessions in a table of the application's database.
 * `db` is `web.database({ dbn, db, … })` or the application's own better-sqlite3 Database, pg
 * Pool or Client, or mysql2 pool or connection.
 */
export function DBStore(
  db: DatabaseHandle,
  tableName = 'sessions',
  options?: DBStoreOptions,
): DBStoreClass {
  return new DBStoreClass(db, tableName, options);
}
