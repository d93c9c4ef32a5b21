/**
 * `websession/next`: sessions for the Next.js App Router (Node.js runtime): one helper for route
 * handlers and server actions, reading the cookie with `headers()` and setting it with
 * `cookies().set`.
 *
 * @example
 * // lib/session.ts
 * import { storeFromUrl } from 'websession';
 * import { nextSession } from 'websession/next';
 *
 * export const withSession = nextSession<{ logged_in: boolean }>(
 *   await storeFromUrl('redis://127.0.0.1:6379/0'),
 * );
 *
 * // app/login/route.ts
 * import { redirect } from 'next/navigation';
 * export async function POST() {
 *   await withSession((session) => {
 *     session.regenerate();
 *     session.logged_in = true;
 *   });
 *   redirect('/');
 * }
 * @module
 */
import { parseSetCookie } from 'cookie';
import { cookies, headers } from 'next/headers.js';
import type { SessionData } from '../core/codec.js';
import type { SessionConfig } from '../core/config.js';
import { SessionExpiredError } from '../core/errors.js';
import type { Session } from '../core/session.js';
import { fetchHeaders, type ManagerSource, requestInfo, toManager } from './common.js';
import type { AppData } from './types.js';

export * from './public-types.js';

/** Options of {@link nextSession} beyond the store or manager. */
export interface NextSessionOptions<T extends SessionData = SessionData> {
  /** Session config, used when a store (not a manager) is given. */
  config?: SessionConfig<T>;
}

/** Runs a function with the request's session, then commits it (see {@link nextSession}). */
export type WithNextSession<T extends SessionData> = <R>(
  fn: (session: Session<T>) => R | Promise<R>,
) => Promise<R>;

/**
 * Sets the session cookie through Next's cookie store (our Set-Cookie, as its fields). Where
 * Next refuses cookies (a Server Component), a renewal of the cookie the request already has is
 * skipped; a new or changed cookie is an error.
 */
async function setCookie(value: string): Promise<void> {
  const parsed = parseSetCookie(value);
  const jar = await cookies();
  try {
    jar.set(parsed.name, parsed.value ?? '', {
      domain: parsed.domain,
      path: parsed.path,
      maxAge: parsed.maxAge,
      expires: parsed.expires,
      httpOnly: parsed.httpOnly,
      secure: parsed.secure,
      sameSite: parsed.sameSite,
      partitioned: parsed.partitioned,
    });
  } catch (err) {
    const renewal = parsed.value && jar.get(parsed.name)?.value === parsed.value;
    if (!renewal) throw err;
  }
}

/**
 * A helper that runs `fn` with the current request's session and commits it when `fn` returns
 * or throws (a `redirect()` inside `fn` is a throw: what was set before it is saved, and the
 * cookie goes with the redirect). Use it in route handlers and server actions, where Next lets
 * cookies be set; in a Server Component it can read the session, but a change that needs a new
 * cookie throws there (Next refuses cookies outside actions and route handlers).
 *
 * An expired session (with `ignore_expiry: false`) and a store outage are thrown as their errors
 * (`SessionExpiredError`, `StoreError`): Next answers them with its error page. In a route
 * handler that should answer 503 instead, wrap the handler with `websession/fetch`.
 *
 * The client's IP is read from `X-Forwarded-For` only with `trust_proxy` (`next start` appends
 * the socket's address there, so `trust_proxy: true` gives the client behind no other proxy).
 *
 * @param source a `SessionManager`, a `Store`, or `{ manager }` / `{ store, config }`
 */
export function nextSession<T extends SessionData = AppData>(
  source: ManagerSource<T>,
  options: NextSessionOptions<T> = {},
): WithNextSession<T> {
  const manager = toManager(source, options.config);
  return async (fn) => {
    const info = requestInfo(manager, fetchHeaders(await headers()), undefined, false);
    let session: Session<T>;
    try {
      session = await manager.load(info);
    } catch (err) {
      // An expired session's answer clears its cookie: clear it here too, where Next allows.
      if (err instanceof SessionExpiredError && err.setCookie)
        await setCookie(err.setCookie).catch(() => {});
      throw err;
    }
    let result: Awaited<ReturnType<typeof fn>>;
    try {
      result = await fn(session);
    } catch (err) {
      // What was set before the throw (or a `redirect()`) is saved, and its cookie sent.
      const cookie = await manager.commit(session, info);
      if (cookie) await setCookie(cookie);
      throw err;
    }
    const cookie = await manager.commit(session, info);
    if (cookie) await setCookie(cookie);
    return result;
  };
}
