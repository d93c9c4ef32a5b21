/**
 * `websession/react-router`: a React Router 7 (and Remix) `SessionStorage` backed by any
 * websession store. Loaders and actions keep React Router's API (`getSession`, `commitSession`,
 * `destroySession`) and gain the manager's guarantees: signed ids stored hashed, writes of only
 * the keys a request changed, per-session locking, and {@link updateSession} for atomic
 * read-modify-write.
 *
 * @example
 * // app/sessions.server.ts
 * import { storeFromUrl } from 'websession';
 * import { createWebSessionStorage } from 'websession/react-router';
 *
 * type Data = { userId: string; count: number };
 * export const { getSession, commitSession, destroySession } =
 *   createWebSessionStorage<Data>(await storeFromUrl('redis://127.0.0.1:6379/0'));
 * @module
 */
import type {
  Session as RouterSession,
  SessionData as RouterSessionData,
  SessionStorage,
} from 'react-router';
import type { SessionData } from '../core/codec.js';
import type { SessionConfig } from '../core/config.js';
import type { RequestInfo, SessionManager } from '../core/manager.js';
import type { Session } from '../core/session.js';
import { answerResponse, errorAnswer, type ManagerSource, toManager } from './common.js';

export * from './public-types.js';

/** Options of {@link createWebSessionStorage} beyond the store or manager. */
export interface WebSessionStorageOptions<T extends SessionData = SessionData> {
  /** Session config, used when a store (not a manager) is given. */
  config?: SessionConfig<T>;
}

/** The websession behind each React Router session this module made. */
const backing = new WeakMap<object, Session>();

/** Where React Router keeps a flash value: a key of its own in the data, until read. */
const flashKey = (name: string) => `__flash_${name}__`;

/**
 * A React Router session whose every call goes to the websession `ws`: nothing to copy back at
 * commit, and the manager sees exactly which keys the request changed.
 */
function routerSession<Data, FlashData>(ws: Session): RouterSession<Data, FlashData> {
  const session = {
    get id() {
      return ws.isNew ? '' : ws.id;
    },
    get data() {
      return ws.data;
    },
    has: (name: string) => ws.has(name) || ws.has(flashKey(name)),
    get(name: string) {
      if (ws.has(name)) return ws.get(name);
      const key = flashKey(name);
      if (!ws.has(key)) return undefined;
      const value = ws.get(key);
      ws.delete(key);
      return value;
    },
    set: (name: string, value: unknown) => ws.set(name, value),
    flash: (name: string, value: unknown) => ws.set(flashKey(name), value),
    unset: (name: string) => ws.delete(name),
  };
  return session as unknown as RouterSession<Data, FlashData>;
}

/** The websession behind a session of a {@link createWebSessionStorage} storage. */
function backingOf(session: object): Session {
  const found = backing.get(session);
  if (!found)
    throw new TypeError(
      '[websession] this session was not made by a websession storage: get it with getSession()',
    );
  return found;
}

/**
 * The websession `Session` behind a React Router session: for what React Router's API has no
 * word for, e.g. `regenerate()` at login, `setUser()`, `setMaxAge()` ("remember me").
 */
export function websessionOf<T extends SessionData = SessionData>(
  session: RouterSession<T, never> | RouterSession,
): Session<T> {
  return backingOf(session) as unknown as Session<T>;
}

/**
 * Atomic read-modify-write of a React Router session: reads the stored session under its lock,
 * writes this request's pending changes, applies `fn` (synchronous; it may run more than once)
 * and writes, before returning the data. Parallel requests never lose each other's updates, as
 * they would with `session.set(k, session.get(k) + 1)` and `commitSession`. Still commit the
 * session (its cookie) as usual.
 * @example
 * const session = await getSession(request.headers.get('Cookie'));
 * const data = await updateSession(session, (d) => { d.count = (d.count ?? 0) + 1; });
 */
export function updateSession<Data extends RouterSessionData, FlashData = Data>(
  session: RouterSession<Data, FlashData>,
  fn: (data: Partial<Data>) => void,
): Promise<Partial<Data>> {
  const ws = backingOf(session) as unknown as Session<Data>;
  return ws.update(fn);
}

/** Rethrows a load or commit error as the answer React Router sends: 503, or expired. */
function asResponse(err: unknown, manager: SessionManager<never>): never {
  const answer = errorAnswer(err, manager.config.logger);
  if (answer) throw answerResponse(answer);
  throw err;
}

/** The cookie lifetime React Router's `commitSession` options ask for, in seconds. */
function lifetimeOf(options: { maxAge?: number; expires?: Date } | undefined): number | undefined {
  if (options?.maxAge !== undefined) return options.maxAge;
  if (options?.expires !== undefined)
    return Math.ceil((options.expires.getTime() - Date.now()) / 1000);
  return undefined;
}

/**
 * A React Router `SessionStorage` over a websession store or manager. The cookie (name,
 * attributes, signing) is the manager's config; `getSession` takes the request's Cookie header as
 * React Router's storages do.
 *
 * - `commitSession(session, options)` writes the keys this request changed (other requests'
 *   changes to other keys are kept) and returns the Set-Cookie to send: an empty string when the
 *   browser's cookie is still right (an empty header, which browsers ignore). `options.maxAge` or
 *   `options.expires` is "remember me": that session's cookie lifetime from now on (as
 *   `websessionOf(session).setMaxAge`); other options are the manager config's.
 * - `destroySession(session)` deletes the record and returns the expiring cookie.
 * - A store outage is thrown as a 503 `Response` (React Router sends a thrown Response as the
 *   answer); other errors are thrown as they are.
 * - A session is committed once: changes after `commitSession` throw a `SessionStateError`.
 *
 * The manager sees no client IP nor scheme here: with `secure: 'auto'` (the default) the cookie
 * has no Secure flag; set `secure: true` in the config behind HTTPS.
 *
 * @param source a `SessionManager`, a `Store`, or `{ manager }` / `{ store, config }`
 */
export function createWebSessionStorage<Data extends SessionData = SessionData, FlashData = Data>(
  source: ManagerSource<Data>,
  options: WebSessionStorageOptions<Data> = {},
): SessionStorage<Data, FlashData> {
  const manager = toManager(source, options.config) as unknown as SessionManager<never>;
  const infoOf = new WeakMap<object, RequestInfo>();
  const commit = async (session: RouterSession<Data, FlashData>): Promise<string> => {
    const ws = backingOf(session);
    try {
      return (await manager.commit(ws as never, infoOf.get(session))) ?? '';
    } catch (err) {
      return asResponse(err, manager);
    }
  };
  return {
    async getSession(cookieHeader) {
      const info: RequestInfo = { cookie: cookieHeader };
      let ws: Session;
      try {
        ws = (await manager.load(info)) as unknown as Session;
      } catch (err) {
        return asResponse(err, manager);
      }
      const session = routerSession<Data, FlashData>(ws);
      backing.set(session, ws);
      infoOf.set(session, info);
      return session;
    },
    async commitSession(session, cookieOptions) {
      const seconds = lifetimeOf(cookieOptions);
      if (seconds !== undefined) backingOf(session).setMaxAge(Math.max(1, seconds));
      return commit(session);
    },
    async destroySession(session) {
      backingOf(session).kill();
      return commit(session);
    },
  };
}
