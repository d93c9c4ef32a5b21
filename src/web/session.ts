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
import { RESERVED, type Session as RequestSession } from '../core/session.js';
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
import type { Store } from '../stores/store.js';
import type { Application } from './application.js';
import { config } from './config.js';
import { getContext, SESSION_SLOT, tryGetContext } from './ctx.js';
import { keepAcrossReloads } from './reloader.js';
import { sessionProcessor } from './session-processor.js';

/** The module-level session of the web layer: the current request's session plus `store` and `manager`. */
export type WebSession<T extends SessionData = SessionData> = RequestSession<T> & {
  /** The store (web.py's `session.store`). */
  readonly store: Store;
  /** The manager behind this session object. */
  readonly manager: SessionManager<T>;
};

/** The processor name the session registers under: a second `Session(app, …)` replaces it. */
const PROCESSOR = 'websession.session';

/** Options beyond web.py's three arguments: any session config key, overriding `web.config.session_parameters`. */
export type WebSessionOptions<T extends SessionData> = SessionConfig<T>;

/**
 * `web.session.Session(app, store, initializer)`: sessions for every request of `app`.
 * Configuration comes from `web.config.session_parameters` (read now) and `options`.
 *
 * @example
 * const session = web.session.Session(app, web.session.DiskStore('sessions'));
 * // in a handler: session.logged_in = true; session.get('logged_in', false); session.kill();
 */
export function Session<T extends SessionData = SessionData>(
  app: Application | null,
  store: Store,
  initializer?: Initializer<T> | null,
  options: WebSessionOptions<T> = {},
): WebSession<T> {
  const manager = new SessionManager<T>(store, {
    ...(config.session_parameters as SessionConfig<T>),
    ...options,
    ...(initializer ? { initializer } : {}),
  });
  // One slot for every Session(): a session object made by code that ran before a later
  // Session(app, …) (as after an in-process reload) still finds the current request's session.
  const slot = SESSION_SLOT;

  const current = (): RequestSession<T> => {
    const context = getContext();
    const session = context.extra.get(slot) as RequestSession<T> | undefined;
    if (!session)
      throw new SessionStateError(
        'the session is not loaded for this request (is the app the one given to Session()?)',
      );
    return session;
  };

  // In debug mode a MemoryStore's sessions are handed to the reloaded process (see reloader.ts).
  keepAcrossReloads(store);

  if (app) {
    app.set_processor(PROCESSOR, sessionProcessor(manager, slot));
  }

  return new Proxy({} as WebSession<T>, {
    get(_t, prop) {
      if (prop === 'store') return store;
      if (prop === 'manager') return manager;
      if (typeof prop === 'symbol') return undefined;
      if (prop === 'then') return undefined;
      if (!tryGetContext())
        throw new SessionStateError(`session.${prop} used outside of a request`);
      const session = current() as unknown as Record<string, unknown>;
      const value = session[prop];
      return typeof value === 'function' ? value.bind(session) : value;
    },
    set(_t, prop, value) {
      if (typeof prop === 'symbol' || prop === 'store' || prop === 'manager')
        throw new TypeError(`[websession] cannot set session.${String(prop)}`);
      (current() as unknown as Record<string, unknown>)[prop] = value;
      return true;
    },
    deleteProperty(_t, prop) {
      if (typeof prop === 'string' && !RESERVED.has(prop))
        delete (current() as unknown as Record<string, unknown>)[prop];
      return true;
    },
    has(_t, prop) {
      return (
        typeof prop === 'string' && tryGetContext() !== undefined && prop in (current() as object)
      );
    },
  });
}

/** `web.session.DiskStore(dir)`: one file per session (callable with or without `new`). */
export function DiskStore(dir: string, options?: DiskStoreOptions): DiskStoreClass {
  return new DiskStoreClass(dir, options);
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
