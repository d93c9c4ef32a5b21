/**
 * The per-request session: typed data with web.py-style attribute access, and the state the
 * manager needs at commit (new, killed, regenerated, baseline for change detection).
 * @module
 */
import type { SessionData, SessionMeta } from './codec.js';
import { MAX_COOKIE_AGE } from './cookie.js';
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
  /**
   * Adds a flash message under `key` for the next request (typically the page a redirect leads
   * to). Messages live for exactly one following request, read or not.
   */
  flash(key: string, value: unknown): void;
  /** The messages flashed under `key` by the previous request, removed as they are read. */
  flashes(key: string): unknown[];
  /** Every message flashed by the previous request, by key, removed as they are read. */
  flashes(): Record<string, unknown[]>;
  /**
   * Binds the session to a user (or unbinds it with null), so that the user's sessions can be
   * listed and revoked (`SessionManager.listUserSessions`, `revokeUserSessions`).
   */
  setUser(user: string | null): void;
  /** The user the session is bound to, if any. */
  getUser(): string | undefined;
  /**
   * Gives this session's cookie a lifetime of its own ("remember me" at login): `seconds` makes
   * it a persistent cookie with that Max-Age, renewed on every response; `null` makes it a
   * browser-session cookie even when `cookie_max_age` is set; `undefined` goes back to
   * `cookie_max_age`. Kept across `regenerate()`, gone with `kill()`; never past the absolute
   * `lifetime` nor 400 days (longer values are capped).
   * @example if (form.remember) session.setMaxAge(30 * 86400);
   */
  setMaxAge(seconds: number | null | undefined): void;
  /** This session's own cookie lifetime (see `setMaxAge`), or undefined for `cookie_max_age`. */
  getMaxAge(): number | null | undefined;
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
  'flash',
  'flashes',
  'setUser',
  'getUser',
  'setMaxAge',
  'getMaxAge',
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
  /** Flash messages from the previous request (consumed as read; dropped at commit). */
  flashIn: Record<string, unknown[]>;
  /** Flash messages for the next request. */
  flashOut: Record<string, unknown[]>;
  /** The stored record carried flash messages (so a save must clear them). */
  hadFlash: boolean;
  /**
   * Keys written or deleted through the session in this request, with the value each had
   * before its first write (for cheap change detection). Undefined until the first write.
   */
  touched: Writes | undefined;
  /** Metadata (user) changed in this request. */
  metaChanged: boolean;
  /** The handler read the session's state: data, user, id or isNew (the response then depends on the cookie). */
  read: boolean;
  /** The host that regenerates and updates this session. */
  host: SessionHost<T>;
}

/** What the session proxy needs from its manager. */
export interface SessionHost<T extends SessionData> {
  regenerate(state: SessionState<T>): void;
  update(state: SessionState<T>, fn: (data: Partial<T>) => void): Promise<Partial<T>>;
  /** A change was made after the commit: it is dropped; the host logs that (once). */
  late(state: SessionState<T>): void;
}

const hasOwn = (o: object, k: PropertyKey) => Object.hasOwn(o, k);

/**
 * No flash messages: what a state holds until a message comes (shared and frozen, so that a
 * session without flash messages, nearly every one, makes no object for them).
 */
export const NO_FLASH = Object.freeze({}) as Record<string, unknown[]>;

function checkKey(key: unknown): string {
  if (typeof key !== 'string') throw new TypeError('[websession] session keys must be strings');
  if (key === '__proto__') throw new TypeError('[websession] "__proto__" cannot be a session key');
  return key;
}

/** The message of a change made once the session was committed. */
export const LATE_CHANGE =
  'the session was changed after its response started (the headers were sent and the session saved): this change is not saved; change the session before the first write of the response';

/**
 * True when the session was committed already: the change is then dropped, and the host logs it
 * (once). Never a throw: such a change usually runs in a timer or a callback after the response,
 * where a throw would reach no one but the process (an uncaught exception ends it).
 */
function late(state: SessionState<SessionData>): boolean {
  if (!state.committed) return false;
  state.host.late(state);
  return true;
}

/** True when a change may be made now; false when it is dropped (committed); throws when killed. */
function alive(state: SessionState<SessionData>): boolean {
  if (late(state)) return false;
  if (state.killed) throw new SessionStateError('this session was killed in this request');
  return true;
}

/** What a key held before its first write in a request. */
interface Before {
  had: boolean;
  value: unknown;
}

/** True when `data` no longer holds at `key` what `before` says it held. */
const differs = (data: Record<string, unknown>, key: string, before: Before) =>
  before.had !== hasOwn(data, key) || !Object.is(before.value, data[key]);

/**
 * The keys written or deleted in a request, each with what it held before its first write. The
 * first key is kept in the object itself: nearly every request that writes writes one key, and
 * then no Map is made.
 */
export class Writes implements Before {
  readonly key: string;
  readonly had: boolean;
  readonly value: unknown;
  /** The keys written after the first one. */
  #more: Map<string, Before> | undefined = undefined;

  constructor(data: Record<string, unknown>, key: string) {
    this.key = key;
    this.had = hasOwn(data, key);
    this.value = data[key];
  }

  /** Records what `key` holds in `data`, unless it was written before in this request. */
  note(data: Record<string, unknown>, key: string): void {
    if (key === this.key || this.#more?.has(key)) return;
    this.#more ??= new Map();
    this.#more.set(key, { had: hasOwn(data, key), value: data[key] });
  }

  /** The keys whose values in `data` differ from before their first write (undefined: none). */
  changedIn(data: Record<string, unknown>): string[] | undefined {
    // Built as needed: most requests change one key, and an array literal of one is the smallest.
    let keys = differs(data, this.key, this) ? [this.key] : undefined;
    if (this.#more)
      for (const [key, before] of this.#more) {
        if (!differs(data, key, before)) continue;
        if (keys) keys.push(key);
        else keys = [key];
      }
    return keys;
  }
}

/** Records the value a key had before its first write in this request. */
function noteWrite(state: SessionState<SessionData>, key: string): void {
  const data = state.data as Record<string, unknown>;
  if (state.touched) state.touched.note(data, key);
  else state.touched = new Writes(data, key);
}

function writeKey(state: SessionState<SessionData>, key: string, value: unknown): void {
  checkKey(key);
  if (!alive(state)) return;
  noteWrite(state, key);
  (state.data as Record<string, unknown>)[key] = value;
}

function deleteKey(state: SessionState<SessionData>, key: string): void {
  if (!alive(state)) return;
  if (!hasOwn(state.data, key)) return;
  noteWrite(state, key);
  delete (state.data as Record<string, unknown>)[key];
}

/** Where a session object keeps its state (a symbol: invisible to data access and JSON). */
const STATE = Symbol('websession.state');

/** The methods of every session, on one prototype (no per-request closures). */
class SessionMethods {
  readonly [STATE]: SessionState<SessionData>;
  constructor(state: SessionState<SessionData>) {
    this[STATE] = state;
  }
  get(key: string, fallback?: unknown): unknown {
    const state = this[STATE];
    state.read = true;
    const d = state.data as Record<string, unknown>;
    return hasOwn(d, key) && d[key] !== undefined ? d[key] : fallback;
  }
  set(key: string, value: unknown): void {
    writeKey(this[STATE], key, value);
  }
  has(key: string): boolean {
    this[STATE].read = true;
    return hasOwn(this[STATE].data, key);
  }
  delete(key: string): void {
    deleteKey(this[STATE], key);
  }
  kill(): void {
    if (late(this[STATE])) return;
    this[STATE].killed = true;
  }
  regenerate(): void {
    if (alive(this[STATE])) this[STATE].host.regenerate(this[STATE]);
  }
  update(fn: (data: Partial<SessionData>) => void): Promise<Partial<SessionData>> {
    const state = this[STATE];
    // Dropped after the commit: `fn` is not run, the data is answered as it is.
    if (late(state)) return Promise.resolve({ ...state.data });
    alive(state);
    state.read = true; // it answers the data: a page built from it varies on Cookie
    return state.host.update(state, fn);
  }
  flash(key: string, value: unknown): void {
    const state = this[STATE];
    checkKey(key);
    if (!alive(state)) return;
    if (state.flashOut === NO_FLASH) state.flashOut = {};
    const list = state.flashOut[key] ?? [];
    list.push(value);
    state.flashOut[key] = list;
  }
  flashes(key?: string): unknown[] | Record<string, unknown[]> {
    const state = this[STATE];
    state.read = true;
    if (key === undefined) {
      const all = state.flashIn;
      state.flashIn = NO_FLASH;
      return all === NO_FLASH ? {} : all;
    }
    if (!hasOwn(state.flashIn, key)) return [];
    const list = state.flashIn[key] ?? [];
    delete state.flashIn[key];
    return list;
  }
  setUser(user: string | null): void {
    const state = this[STATE];
    if (user !== null && (typeof user !== 'string' || user.length === 0 || user.length > 256)) {
      throw new TypeError(
        '[websession] setUser takes a non-empty string of at most 256 characters, or null',
      );
    }
    if (!alive(state) || state.meta.user === (user ?? undefined)) return;
    const meta = { ...state.meta };
    if (user === null) delete meta.user;
    else meta.user = user;
    state.meta = meta;
    state.metaChanged = true;
  }
  getUser(): string | undefined {
    this[STATE].read = true;
    return this[STATE].meta.user;
  }
  setMaxAge(seconds: number | null | undefined): void {
    const state = this[STATE];
    if (seconds != null && !(typeof seconds === 'number' && seconds > 0 && seconds < Infinity)) {
      throw new TypeError(
        '[websession] setMaxAge takes a positive number of seconds, null (a browser-session cookie) or undefined (cookie_max_age)',
      );
    }
    if (!alive(state)) return;
    const maxAge = seconds == null ? seconds : Math.min(Math.floor(seconds) || 1, MAX_COOKIE_AGE);
    if (state.meta.maxAge === maxAge) return;
    const meta = { ...state.meta };
    if (maxAge === undefined) delete meta.maxAge;
    else meta.maxAge = maxAge;
    state.meta = meta;
    state.metaChanged = true;
    state.sendCookie = true;
  }
  getMaxAge(): number | null | undefined {
    this[STATE].read = true;
    return this[STATE].meta.maxAge;
  }
  toJSON(): Record<string, unknown> {
    this[STATE].read = true;
    return { ...this[STATE].data };
  }
  // Any read of session state counts: a page built from the id, isNew or the user depends on the
  // cookie as much as one built from the data (its cache headers must say so).
  get id(): string {
    this[STATE].read = true;
    return this[STATE].id;
  }
  get isNew(): boolean {
    this[STATE].read = true;
    return this[STATE].isNew;
  }
  get data(): Record<string, unknown> {
    this[STATE].read = true;
    return { ...this[STATE].data };
  }
  /** The state behind a session (for the manager). */
  static stateOf(target: SessionMethods): SessionState<SessionData> {
    return target[STATE];
  }
}

/** The data behind a session, noted as read. */
const dataOf = (target: object) => {
  const state = SessionMethods.stateOf(target as SessionMethods);
  state.read = true;
  return state.data as Record<string, unknown>;
};

/** One Proxy handler for every session: attribute access reads and writes the data. */
const handler: ProxyHandler<SessionMethods> = {
  get(target, prop) {
    if (typeof prop === 'symbol') return Reflect.get(target, prop);
    if (RESERVED.has(prop))
      return prop === 'then' || prop === 'constructor'
        ? undefined
        : Reflect.get(target, prop, target);
    const d = dataOf(target);
    return hasOwn(d, prop) ? d[prop] : undefined;
  },
  set(target, prop, value) {
    if (typeof prop === 'symbol' || RESERVED.has(prop)) {
      throw new TypeError(
        `[websession] "${String(prop)}" is a session method; use session.set("${String(prop)}", value)`,
      );
    }
    writeKey(SessionMethods.stateOf(target), prop, value);
    return true;
  },
  deleteProperty(target, prop) {
    if (typeof prop === 'string' && !RESERVED.has(prop))
      deleteKey(SessionMethods.stateOf(target), prop);
    return true;
  },
  has(target, prop) {
    return typeof prop === 'string' && hasOwn(dataOf(target), prop);
  },
  ownKeys(target) {
    return Reflect.ownKeys(dataOf(target));
  },
  getOwnPropertyDescriptor(target, prop) {
    const d = dataOf(target);
    if (typeof prop !== 'string' || !hasOwn(d, prop)) return undefined;
    return { value: d[prop], writable: true, enumerable: true, configurable: true };
  },
};

/** The state behind a session object, or undefined for any other value. */
export function sessionState(session: unknown): SessionState<SessionData> | undefined {
  if (typeof session !== 'object' || session === null) return undefined;
  const state = (session as { [STATE]?: SessionState<SessionData> })[STATE];
  return state && typeof state === 'object' ? state : undefined;
}

/** Wraps a state in the user-facing Session object. */
export function createSession<T extends SessionData>(state: SessionState<T>): Session<T> {
  return new Proxy(
    new SessionMethods(state as unknown as SessionState<SessionData>),
    handler,
  ) as unknown as Session<T>;
}
