/**
 * The web layer's session processor: loads the request's session before the handler and
 * commits it after, whether the handler returned or threw (as web.py's `_processor`). With a
 * store that answers at once, and a handler that does, it runs without a promise.
 * @module
 */
import { type Awaitable, isPromise, then } from '../core/awaitable.js';
import { addCacheHeaders, sessionWasRead } from '../core/cache-headers.js';
import type { SessionData } from '../core/codec.js';
import type { RequestInfo, SessionManager } from '../core/manager.js';
import type { Session } from '../core/session.js';
import { getContext } from './ctx.js';
import { header } from './request.js';
import type { Processor } from './types.js';

/** The processor of `manager`; the request's session is kept in the context's `extra` under `slot`. */
export function sessionProcessor<T extends SessionData>(
  manager: SessionManager<T>,
  slot: symbol,
): Processor {
  return (handler) => {
    const context = getContext();
    const env = context.env;
    const request: RequestInfo = {
      cookie: env.cookie,
      ip: context.ip,
      secure: context.protocol === 'https',
      userAgent: env['user-agent'],
    };
    return then(manager.load(request), (session) => {
      context.extra.set(slot, session);
      let result: Awaitable<unknown>;
      try {
        result = handler();
      } catch (err) {
        return finish(manager, session, request, () => {
          throw err;
        });
      }
      if (!isPromise(result)) return finish(manager, session, request, () => result);
      return result.then(
        (value) => finish(manager, session, request, () => value),
        (err: unknown) =>
          finish(manager, session, request, () => {
            throw err;
          }),
      );
    });
  };
}

/** Commits, adds the cookie, then gives the handler's outcome (a commit error wins, as `finally`). */
function finish<T extends SessionData>(
  manager: SessionManager<T>,
  session: Session<T>,
  request: RequestInfo,
  outcome: () => unknown,
): Awaitable<unknown> {
  return then(manager.commit(session, request), (setCookie) => {
    if (setCookie) header('Set-Cookie', setCookie);
    const headers = getContext().headers;
    addCacheHeaders(
      (name) => {
        const values: string[] = [];
        for (const [key, value] of headers) if (key.toLowerCase() === name) values.push(value);
        return values.length === 0 ? undefined : values.join(', ');
      },
      (name, value) => header(name, value, true),
      setCookie,
      sessionWasRead(session),
    );
    return outcome();
  });
}
