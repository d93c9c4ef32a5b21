/**
 * `Store` and `MemoryStore` as express-session exports them, for the store packages written
 * against it: `require('session-file-store')(session)`, `class RedisStore extends Store`,
 * `Store.call(this)` with `util.inherits`. `Store` is a plain function constructor over
 * EventEmitter (so both `extends` and `.call(this)` work) with express-session's base methods.
 * @module
 */
import { EventEmitter } from 'node:events';
import type { ConnectStoreLike } from '../../stores/connect.js';
import { Cookie, type CookieOptions } from './cookie.js';
import { Session, type SessionRequest } from './session.js';

/** A callback of the store API: an error, or nothing (and a result). */
export type StoreCallback<T = void> = (err?: unknown, result?: T) => void;

/** The cookie of a stored session: its lifetime as express-session stores it (the rest as set). */
export interface StoredCookie {
  originalMaxAge: number | null;
  /** A Date, or its JSON form once stored as JSON. */
  expires?: Date | string | null | undefined;
}

/**
 * A session as an express-session store holds it: its data (typed by the application) and its
 * `cookie`. express-session's own `SessionData` type fits it.
 */
export interface StoredSessionData {
  cookie: StoredCookie;
}

/** The callback API of an express-session store (connect-redis, connect-pg-simple, …). */
export type { ConnectStoreLike };

/** A request as the base methods of {@link Store} see it. */
export interface StoreRequest extends SessionRequest {
  session?: Session | undefined;
  sessionStore?: unknown;
}

/** express-session's `Store`: an EventEmitter with `regenerate`, `load` and `createSession`. */
export interface Store extends EventEmitter {
  /** Set by express-session's middleware; here by this package's (starts a new session). */
  generate?(req: StoreRequest): void;
  /** Destroys the session of `req`, then starts a new one (`generate`). */
  regenerate(req: StoreRequest, fn: StoreCallback): void;
  /** Gets session `sid` as a {@link Session} (or nothing). */
  load(sid: string, fn: StoreCallback<Session>): void;
  /** Makes `sess` (as stored) the session of `req`. */
  createSession(req: StoreRequest, sess: StoredSessionData): Session;
  get?(sid: string, callback: StoreCallback<StoredSessionData | null | undefined>): unknown;
  set?(sid: string, session: StoredSessionData, callback?: StoreCallback): unknown;
  destroy?(sid: string, callback?: StoreCallback): unknown;
}

/** The `Store` constructor: call it with `new`, `extends` it, or `Store.call(this)`. */
export interface StoreConstructor {
  new (): Store;
  (this: Store): void;
  readonly prototype: Store;
}

/** express-session's abstract store; subclasses add get/set/destroy (and optionally more). */
export const Store = function Store(this: Store): void {
  EventEmitter.call(this);
} as unknown as StoreConstructor;
Object.setPrototypeOf(Store.prototype, EventEmitter.prototype);
Object.setPrototypeOf(Store, EventEmitter);

function defineMethod(target: object, name: string, value: unknown): void {
  Object.defineProperty(target, name, {
    configurable: true,
    enumerable: false,
    writable: true,
    value,
  });
}

defineMethod(
  Store.prototype,
  'regenerate',
  function regenerate(this: Store, req: StoreRequest, fn: StoreCallback): void {
    this.destroy?.(String(req.sessionID), (err?: unknown) => {
      this.generate?.(req);
      fn(err);
    });
  },
);

defineMethod(
  Store.prototype,
  'load',
  function load(this: Store, sid: string, fn: StoreCallback<Session>): void {
    this.get?.(sid, (err, sess) => {
      if (err) return fn(err);
      if (!sess) return fn();
      fn(null, this.createSession({ sessionID: sid, sessionStore: this }, sess));
    });
  },
);

defineMethod(
  Store.prototype,
  'createSession',
  function createSession(this: Store, req: StoreRequest, sess: StoredSessionData): Session {
    const { expires, originalMaxAge } = sess.cookie;
    const cookie = new Cookie(sess.cookie as unknown as CookieOptions);
    if (typeof expires === 'string') cookie.expires = new Date(expires);
    cookie.originalMaxAge = originalMaxAge ?? null;
    sess.cookie = cookie;
    const session = new Session(req, sess);
    req.session = session;
    return session;
  },
);

/**
 * Runs `callback` once the current operation is done, never synchronously (as express-session's
 * MemoryStore falls back to). Not on a later turn of the event loop: requests of one session run
 * one at a time, and each turn a store call waits for lets the whole queue wait with it.
 */
function later<T>(callback: StoreCallback<T> | undefined, err?: unknown, result?: T): void {
  if (callback) process.nextTick(callback, err, result);
}

/** The interface of {@link MemoryStore}. */
export interface MemoryStore extends Store {
  /** Sessions by id, as JSON. */
  sessions: Record<string, string>;
  get(sid: string, callback: StoreCallback<StoredSessionData | null | undefined>): void;
  set(sid: string, session: StoredSessionData, callback?: StoreCallback): void;
  destroy(sid: string, callback?: StoreCallback): void;
  touch(sid: string, session: StoredSessionData, callback?: StoreCallback): void;
  all(callback: StoreCallback<Record<string, StoredSessionData>>): void;
  length(callback: StoreCallback<number>): void;
  clear(callback?: StoreCallback): void;
}

/** The `MemoryStore` constructor. */
export interface MemoryStoreConstructor {
  new (): MemoryStore;
  (this: MemoryStore): void;
  readonly prototype: MemoryStore;
}

/**
 * express-session's MemoryStore (sessions as JSON in an object of this process, expired by their
 * cookie's `expires`). Without a `store` option the middleware keeps sessions in websession's own
 * MemoryStore instead, which is bounded and faster; this one is for code that names it.
 */
export const MemoryStore = function MemoryStore(this: MemoryStore): void {
  Store.call(this);
  this.sessions = Object.create(null) as Record<string, string>;
} as unknown as MemoryStoreConstructor;
Object.setPrototypeOf(MemoryStore.prototype, Store.prototype);
Object.setPrototypeOf(MemoryStore, Store);

/** The session `sid` as stored, or undefined; an expired one is removed. */
function read(store: MemoryStore, sid: string): StoredSessionData | undefined {
  const text = store.sessions[sid];
  if (!text) return undefined;
  const sess = JSON.parse(text) as StoredSessionData;
  const raw = sess.cookie?.expires as Date | string | null | undefined;
  const expires = typeof raw === 'string' ? new Date(raw) : raw;
  if (expires && expires.valueOf() <= Date.now()) {
    delete store.sessions[sid];
    return undefined;
  }
  return sess;
}

const memoryMethods: Pick<
  MemoryStore,
  'get' | 'set' | 'destroy' | 'touch' | 'all' | 'length' | 'clear'
> = {
  get(this: MemoryStore, sid, callback) {
    later(callback, null, read(this, sid));
  },
  set(this: MemoryStore, sid, session, callback) {
    this.sessions[sid] = JSON.stringify(session);
    later(callback);
  },
  destroy(this: MemoryStore, sid, callback) {
    delete this.sessions[sid];
    later(callback);
  },
  touch(this: MemoryStore, sid, session, callback) {
    const current = read(this, sid);
    if (current) {
      current.cookie = session.cookie;
      this.sessions[sid] = JSON.stringify(current);
    }
    later(callback);
  },
  all(this: MemoryStore, callback) {
    const out = Object.create(null) as Record<string, StoredSessionData>;
    for (const sid of Object.keys(this.sessions)) {
      const sess = read(this, sid);
      if (sess) out[sid] = sess;
    }
    later(callback, null, out);
  },
  length(this: MemoryStore, callback) {
    this.all((err, sessions) => {
      if (err) callback(err);
      else callback(null, Object.keys(sessions ?? {}).length);
    });
  },
  clear(this: MemoryStore, callback) {
    this.sessions = Object.create(null) as Record<string, string>;
    later(callback);
  },
};
for (const [name, fn] of Object.entries(memoryMethods))
  defineMethod(MemoryStore.prototype, name, fn);
