/**
 * `Session`: express-session's `req.session`. Its data are its own enumerable properties (plus
 * `cookie`), as in express-session; its methods (`save`, `reload`, `regenerate`, `destroy`,
 * `touch`, `resetMaxAge`) are on the prototype and hand the work to the request's cycle, which
 * runs it through websession's core. Each method takes express-session's callback, or returns a
 * promise when called without one.
 * @module
 */
import type { Cookie } from './cookie.js';

/** A callback of express-session's session methods. */
export type SessionCallback = (err?: unknown) => void;

/** What the session methods need of the request cycle that made the session. */
export interface SessionHost {
  save(): Promise<void>;
  reload(): Promise<void>;
  regenerate(): Promise<void>;
  destroy(): Promise<void>;
}

/** Where a request keeps its cycle (a symbol: invisible to the application's own properties). */
export const HOST: unique symbol = Symbol('websession.express-session.host');

/** The request properties a session reads. */
export interface SessionRequest {
  sessionID?: unknown;
  [HOST]?: SessionHost | undefined;
}

/** Runs `work` and answers through `fn` (on a later tick, as express-session) or a promise. */
function answer(work: Promise<void>, fn: SessionCallback | undefined): Promise<void> | undefined {
  if (typeof fn !== 'function') return work;
  work.then(
    () => fn(),
    (err: unknown) => fn(err),
  );
  return undefined;
}

function hostOf(session: Session): SessionHost {
  const host = session.req[HOST];
  if (!host) throw new Error('this session is not the one of a request of this middleware');
  return host;
}

/** Calls the host's `method`, turning a synchronous throw into a rejection. */
function run(session: Session, method: keyof SessionHost): Promise<void> {
  try {
    return hostOf(session)[method]();
  } catch (err) {
    return Promise.reject(err);
  }
}

/** express-session's session object: data as properties, `cookie`, and the session methods. */
export class Session {
  /** The session id (what the cookie carries, signed). */
  declare readonly id: string;
  /** The request of this session (not enumerable). */
  declare readonly req: SessionRequest;
  /** The session cookie; set its `maxAge` or `expires` to change this session's lifetime. */
  declare cookie: Cookie;
  [key: string]: unknown;

  /** A session for `req` (named by `req.sessionID`) holding a copy of `data`'s properties. */
  constructor(req: SessionRequest, data?: object | null) {
    Object.defineProperty(this, 'req', { value: req });
    Object.defineProperty(this, 'id', { value: req.sessionID });
    if (typeof data === 'object' && data !== null) {
      for (const prop in data) {
        if (!(prop in this)) this[prop] = (data as Record<string, unknown>)[prop];
      }
    }
  }

  /** Resets the cookie's `maxAge` to its original value (the session was used). */
  touch(): this {
    return this.resetMaxAge();
  }

  /** Resets the cookie's `maxAge` to `originalMaxAge`. */
  resetMaxAge(): this {
    this.cookie.maxAge = this.cookie.originalMaxAge;
    return this;
  }

  /** Writes the session to the store now (it is written at the end of the request anyway). */
  save(fn: SessionCallback): this;
  save(): Promise<void>;
  save(fn?: SessionCallback): this | Promise<void> {
    return answer(run(this, 'save'), fn) ?? this;
  }

  /** Reads the session again from the store, dropping this request's unsaved changes. */
  reload(fn: SessionCallback): this;
  reload(): Promise<void>;
  reload(fn?: SessionCallback): this | Promise<void> {
    return answer(run(this, 'reload'), fn) ?? this;
  }

  /**
   * Ends this session and starts a new, empty one with a new id (call it on login, against
   * session fixation); `req.session` is the new session once the callback runs.
   */
  regenerate(fn: SessionCallback): this;
  regenerate(): Promise<void>;
  regenerate(fn?: SessionCallback): this | Promise<void> {
    return answer(run(this, 'regenerate'), fn) ?? this;
  }

  /** Ends this session: `req.session` is removed, the record deleted, the cookie expired. */
  destroy(fn: SessionCallback): this;
  destroy(): Promise<void>;
  destroy(fn?: SessionCallback): this | Promise<void> {
    return answer(run(this, 'destroy'), fn) ?? this;
  }
}
