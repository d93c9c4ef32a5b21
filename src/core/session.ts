/**
 * The per-request session: typed data with web.py-style attribute access, and the state the
 * manager needs at commit (new, killed, regenerated, baseline for change detection).
 * @module
 */
import type { SessionData, SessionMeta } from './codec.js';
import { SessionStateError } from './errors.js';

/** The methods of a session. Data keys with these names are reached with `get`/`set`. */
export interface SessionApi<T extends SessionData = SessionData> {
  /** The value of `key`, or `fallback` when it is not set (web.py's `session.get(key, default)`). */
  get<K extends keyof T & string>(key: K): T[K] | undefined;
  get<K extends keyof T & string, D>(key: K, fallback: D): NonNullable<T[K]> | D;
  /** Sets `key` (same as `session[key] = value`). */
  set<K extends keyof T & string>(key: K, value: T[K]): void;
  /** True when `key` is set. */
  has(key: keyof T & string): boolean;
  /** Removes `key`. */
  delete(key: keyof T & string): void;
  /** Ends the session: its record is deleted and the cookie expired at the end of the request. */
  kill(): void;
  /**
   * Gives the session a new id at the end of the request, keeping the data, deleting the old
   * record: call it on login against session fixation.
   */
  regenerate(): void;
  /**
   * Atomic read-modify-write: reads the stored session under a per-session lock, persists this
   * request's pending changes, applies `fn` and writes, before returning. Parallel requests of
   * one session never lose each other's updates. `fn` must be synchronous (it may be re-run).
   * @returns the session data after the update.
   * @example await session.update((s) => { s.count = (s.count ?? 0) + 1; });
   */
  update(fn: (data: Partial<T>) => void): Promise<Partial<T>>;
  /** The session id (what the cookie carries, before signing). */
  readonly id: string;
  /** True until the session has been stored. */
  readonly isNew: boolean;
  /** A shallow copy of the data. */
  readonly data: Partial<T>;
}

/** A session: its methods plus web.py-style attribute access to its data (`session.logged_in`). */
export type Session<T extends SessionData = SessionData> = SessionApi<T> &
  Partial<Omit<T, keyof SessionApi<T>>>;

/** Names that are methods of a session, not data. */
export const RESERVED = new Set([
  'get',
  'set',
  'has',
  'delete',
  'kill',
  'regenerate',
  'update',
  'id',
  'isNew',
  'data',
  'then',
  'toJSON',
  'constructor',
]);

/** Internal per-request state. Created and read by SessionManager only. */
export interface SessionState<T extends SessionData = SessionData> {
  id: string;
  key: string;
  data: Partial<T>;
  meta: SessionMeta;
  /** Codec text of the payload as loaded (or as initialized), for change detection. */
  baseline: string;
  /** Access time of the stored record (ms); 0 when not stored. */
  atime: number;
  /** Not in the store (yet). */
  isNew: boolean;
  killed: boolean;
  /** Store key of the record to delete because of regenerate(). */
  replacedKey: string | undefined;
  /** The cookie must be (re)sent at commit. */
  sendCookie: boolean;
  /** The client sent a cookie naming this session (so a kill must expire it). */
  clientHasCookie: boolean;
  /** Set when the record vanished under us (killed elsewhere): nothing more is written. */
  dead: boolean;
  /** The request's client ip. */
  ip: string | undefined;
  /** Set once committed: later changes are an error. */
  committed: boolean;
}

/** What the session proxy needs from its manager. */
export interface SessionHost<T extends SessionData> {
  regenerate(state: SessionState<T>): void;
  update(state: SessionState<T>, fn: (data: Partial<T>) => void): Promise<Partial<T>>;
}

const hasOwn = (o: object, k: PropertyKey) => Object.hasOwn(o, k);

function checkKey(key: unknown): string {
  if (typeof key !== 'string') throw new TypeError('[websession] session keys must be strings');
  if (key === '__proto__') throw new TypeError('[websession] "__proto__" cannot be a session key');
  return key;
}

/** Wraps a state in the user-facing Session object. */
export function createSession<T extends SessionData>(
  state: SessionState<T>,
  host: SessionHost<T>,
): Session<T> {
  const data = () => state.data as Record<string, unknown>;
  const alive = () => {
    if (state.killed) throw new SessionStateError('this session was killed in this request');
  };
  const api: SessionApi<T> = {
    get(key: string, fallback?: unknown) {
      const d = data();
      return (hasOwn(d, key) && d[key] !== undefined ? d[key] : fallback) as never;
    },
    set(key: string, value: unknown) {
      alive();
      data()[checkKey(key)] = value;
    },
    has: (key: string) => hasOwn(data(), key),
    delete(key: string) {
      alive();
      delete data()[key];
    },
    kill() {
      state.killed = true;
    },
    regenerate() {
      alive();
      host.regenerate(state);
    },
    update(fn) {
      alive();
      return host.update(state, fn);
    },
    get id() {
      return state.id;
    },
    get isNew() {
      return state.isNew;
    },
    get data() {
      return { ...state.data };
    },
  } as SessionApi<T>;

  return new Proxy(api as object, {
    get(target, prop) {
      if (typeof prop === 'symbol') return Reflect.get(target, prop);
      if (RESERVED.has(prop))
        return prop === 'then'
          ? undefined
          : prop === 'toJSON'
            ? () => ({ ...state.data })
            : Reflect.get(target, prop);
      const d = data();
      return hasOwn(d, prop) ? d[prop] : undefined;
    },
    set(_target, prop, value) {
      if (typeof prop === 'symbol' || RESERVED.has(prop)) {
        throw new TypeError(
          `[websession] "${String(prop)}" is a session method; use session.set("${String(prop)}", value)`,
        );
      }
      alive();
      data()[checkKey(prop)] = value;
      return true;
    },
    deleteProperty(_target, prop) {
      if (typeof prop === 'string' && !RESERVED.has(prop)) {
        alive();
        delete data()[prop];
      }
      return true;
    },
    has(_target, prop) {
      return typeof prop === 'string' && hasOwn(data(), prop);
    },
    ownKeys() {
      return Reflect.ownKeys(data());
    },
    getOwnPropertyDescriptor(_target, prop) {
      const d = data();
      if (typeof prop !== 'string' || !hasOwn(d, prop)) return undefined;
      return { value: d[prop], writable: true, enumerable: true, configurable: true };
    },
  }) as Session<T>;
}
