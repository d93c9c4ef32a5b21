/**
 * The HTTP answer to a session that cannot be served, the same in every adapter and in the web
 * layer: an expired session (with `ignore_expiry: false`) is answered 200 with
 * `expired_message` and a cookie that clears it, as web.py does; a store failure 503 with
 * `Retry-After: 1`, its warning rate-limited (see failure-log.ts).
 * @module
 */

import { SESSION_CACHE_CONTROL } from './cache-headers.js';
import type { Logger } from './config.js';
import { SessionExpiredError, StoreError } from './errors.js';
import { logStoreFailure } from './failure-log.js';

/** The body of the 503 answer to a store outage (the same in every adapter and the web layer). */
export const STORE_UNAVAILABLE_BODY =
  '503 Service Unavailable: the session store is unavailable, try again shortly';

/** An HTTP answer sent instead of the application's. */
export interface ErrorAnswer {
  status: number;
  headers: Record<string, string>;
  setCookie?: string | undefined;
  body: string;
}

/**
 * The answer to an error of `load()` or `commit()` (or a store failure raised by a handler): an
 * expired session is answered 200 with `expired_message` and an expired cookie, a store failure
 * 503 (logged through `logger`, if given). Any other error is the application's: undefined, let
 * the framework handle it.
 */
export function errorAnswer(err: unknown, logger?: Logger): ErrorAnswer | undefined {
  if (err instanceof SessionExpiredError) {
    return {
      status: 200,
      // It clears the cookie and depends on it: no shared cache may keep it or serve it to others.
      headers: {
        'Content-Type': 'text/html; charset=utf-8',
        'Cache-Control': SESSION_CACHE_CONTROL,
        Vary: 'Cookie',
      },
      setCookie: err.setCookie,
      body: err.body,
    };
  }
  if (err instanceof StoreError) {
    if (logger) logStoreFailure(logger, err);
    return {
      status: 503,
      headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Retry-After': '1' },
      body: STORE_UNAVAILABLE_BODY,
    };
  }
  return undefined;
}
