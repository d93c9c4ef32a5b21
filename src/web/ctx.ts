/**
 * `web.ctx`: the current request, found through AsyncLocalStorage so handler code reads it as a
 * module-level object, as in web.py.
 * @module
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { SessionStateError } from '../core/errors.js';

/** What `web.ctx` holds during a request. */
export interface RequestContext {
  /** Client IP address. */
  ip: string;
  /** HTTP method, upper case. */
  method: string;
  /** Path of the request, without query string, relative to `homepath`. */
  path: string;
  /** Query string with its leading `?`, or ''. */
  query: string;
  /** `path + query`. */
  fullpath: string;
  /** `protocol://host`. */
  homedomain: string;
  /** Mount point of the application ('' at the root). */
  homepath: string;
  /** `homedomain + homepath`: the base of absolute URLs. */
  home: string;
  /** Host header (or the listening address). */
  host: string;
  /** `http` or `https`. */
  protocol: 'http' | 'https';
  /** Request headers, lower-case names. */
  env: Record<string, string | undefined>;
  /** Response status line; handlers may set it (`web.ctx.status = '201 Created'`). */
  status: string;
  /** Response headers, in order. */
  headers: [string, string][];
  /** Raw request body. */
  body: Buffer;
  /** Anything a processor wants to keep for the request. */
  extra: Map<unknown, unknown>;
}

const storage = new AsyncLocalStorage<RequestContext>();

/** Key of `extra` under which the session processor keeps the request's session (for the debug page). */
export const SESSION_SLOT: unique symbol = Symbol('websession.current-session');

/** Runs `fn` with `context` as the current request. */
export function runWithContext<R>(context: RequestContext, fn: () => R): R {
  return storage.run(context, fn);
}

/** The current request's context, or undefined outside a request. */
export function tryGetContext(): RequestContext | undefined {
  return storage.getStore();
}

/** The current request's context. Throws outside a request. */
export function getContext(): RequestContext {
  const context = storage.getStore();
  if (!context) throw new SessionStateError('web.ctx used outside of a request');
  return context;
}

/** `web.ctx`: reads and writes go to the current request's context. */
export const ctx: RequestContext = new Proxy({} as RequestContext, {
  get(_t, prop) {
    return Reflect.get(getContext(), prop);
  },
  set(_t, prop, value) {
    return Reflect.set(getContext(), prop, value);
  },
  has(_t, prop) {
    return prop in getContext();
  },
});
