/**
 * `websession/koa`: session middleware for Koa, exposing `ctx.session`.
 *
 * @example
 * import Koa from 'koa';
 * import { MemoryStore } from 'websession';
 * import { session } from 'websession/koa';
 *
 * const app = new Koa();
 * app.use(session(new MemoryStore()));
 * app.use((ctx) => { ctx.body = ctx.session.get('logged_in', false) ? 'in' : 'out'; });
 * @module
 */
import type { Context, Middleware, Next } from 'koa';
import { addCacheHeaders, addResponseCacheHeaders } from '../core/cache-headers.js';
import type { SessionData } from '../core/codec.js';
import type { SessionConfig } from '../core/config.js';
import type { Session } from '../core/session.js';
import {
  aroundNext,
  type ErrorAnswer,
  errorAnswer,
  type ManagerSource,
  requestInfo,
  toManager,
} from './common.js';
import { isEncrypted } from './node.js';
import type { AppData } from './types.js';

export * from './public-types.js';

declare module 'koa' {
  interface DefaultContext {
    /** The request's session (set by websession's `session()` middleware). */
    session: Session<AppData>;
  }
}

/** The value of header `name` (any case) in an error's `headers`. */
function headerIn(
  headers: Record<string, string | string[]>,
  name: string,
): string | string[] | undefined {
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === name) return value;
  return undefined;
}

function answer(ctx: Context, a: ErrorAnswer): void {
  // Instead of the handler's answer: none of its headers (a redirect's Location…) stay.
  for (const name of ctx.res.getHeaderNames()) ctx.remove(name);
  ctx.status = a.status;
  ctx.set(a.headers);
  if (a.setCookie) ctx.append('Set-Cookie', a.setCookie);
  ctx.body = a.body;
}

/**
 * Session middleware: loads the session before `next()` and commits it after, also when a later
 * middleware throws (what was set before the throw is saved, as web.py's processor does; the
 * session cookie rides on the error's `headers`, which Koa's error answer keeps).
 *
 * An expired session (with `ignore_expiry: false`) is answered 200 with `expired_message`, a store
 * outage 503, at load, at commit, or thrown by a later middleware (`await session.update(…)`);
 * other errors are rethrown to Koa.
 *
 * @param source a `SessionManager`, a `Store`, or `{ manager }` / `{ store, config }`
 * @param config session config when a store is given
 */
export function session<T extends SessionData = AppData>(
  source: ManagerSource<T>,
  config?: SessionConfig<T>,
): Middleware {
  const manager = toManager(source, config);
  return async (ctx: Context, next: Next): Promise<void> => {
    const info = requestInfo(
      manager,
      ctx.req.headers,
      ctx.req.socket.remoteAddress,
      isEncrypted(ctx.req),
    );
    const out = await aroundNext(
      manager,
      info,
      (s) => {
        ctx.session = s as unknown as Session<AppData>;
      },
      next,
    );
    if (out.answer) {
      answer(ctx, out.answer);
      return;
    }
    const { setCookie, read, thrown } = out;
    // A store failure raised by a later middleware (e.g. by `session.update`): 503, as at commit.
    const storeAnswer = thrown && errorAnswer(thrown.error, manager.config.logger);
    if (storeAnswer) {
      answer(ctx, { ...storeAnswer, setCookie });
      return;
    }
    if (thrown) {
      // Koa's error answer drops every header set so far but keeps the error's own `headers`.
      const error = thrown.error;
      if (setCookie && typeof error === 'object' && error !== null) {
        const e = error as { headers?: Record<string, string | string[]> };
        const headers: Record<string, string | string[]> = {};
        const cookies: string[] = [];
        for (const [name, value] of Object.entries(e.headers ?? {})) {
          if (name.toLowerCase() === 'set-cookie')
            cookies.push(...(Array.isArray(value) ? value : [value]));
          else headers[name] = value;
        }
        e.headers = { ...headers, 'Set-Cookie': [...cookies, setCookie] };
        addCacheHeaders(
          (name) => headerIn(e.headers as Record<string, string | string[]>, name),
          (name, value) => {
            (e.headers as Record<string, string | string[]>)[name] = value;
          },
          setCookie,
          read,
        );
      }
      throw error;
    }
    if (setCookie) ctx.append('Set-Cookie', setCookie);
    // On node's response itself: Koa's `ctx.response.get` copies every header at each call.
    if (!ctx.res.headersSent) addResponseCacheHeaders(ctx.res, setCookie, read);
  };
}

/** The session of a context, typed with your own data type (when not declared in `AppSessionData`). */
export function sessionOf<T extends SessionData>(ctx: Context): Session<T> {
  return ctx.session as unknown as Session<T>;
}
