/**
 * `websession/hono`: session middleware for Hono, exposing `c.get('session')` / `c.var.session`.
 *
 * @example
 * import { Hono } from 'hono';
 * import { MemoryStore } from 'websession';
 * import { type SessionEnv, session } from 'websession/hono';
 *
 * type Data = { logged_in: boolean };
 * const app = new Hono<SessionEnv<Data>>();
 * app.use(session<Data>(new MemoryStore()));
 * app.get('/', (c) => c.text(c.var.session.get('logged_in', false) ? 'in' : 'out'));
 * @module
 */
import type { Context, MiddlewareHandler } from 'hono';
import type { SessionData } from '../core/codec.js';
import type { SessionConfig } from '../core/config.js';
import type { Session } from '../core/session.js';
import {
  answerResponse,
  aroundNext,
  errorAnswer,
  fetchHeaders,
  type HeaderBag,
  type ManagerSource,
  requestInfo,
  toManager,
  withSessionHeaders,
} from './common.js';
import { nodeIncomingHeaders, nodeOutgoing } from './node-server.js';
import type { AppData } from './types.js';

/** The node response hold, loaded on the first request served by `@hono/node-server`. */
let nodeHold: typeof import('./hold.js') | undefined;

export * from './public-types.js';

/**
 * Hono's `Env` with the session variable: `new Hono<SessionEnv<Data>>()` types `c.var.session` and
 * `c.get('session')` (an untyped `new Hono()` sees them as `any`).
 */
export type SessionEnv<T extends SessionData = AppData> = { Variables: { session: Session<T> } };

/** Options of the Hono middleware beyond the session config. */
export interface HonoSessionOptions<T extends SessionData = SessionData> {
  /** Session config, used when a store (not a manager) is given. */
  config?: SessionConfig<T>;
  /**
   * The client's IP address. Default: the socket's peer under `@hono/node-server`
   * (`c.env.incoming`), else none; `trust_proxy` makes X-Forwarded-For win either way.
   */
  ip?: (c: Context) => string | undefined;
}

function socketIp(c: Context): string | undefined {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  return env?.incoming?.socket?.remoteAddress;
}

/**
 * The headers the manager reads. Under `@hono/node-server`, node's own header object: reading the
 * fetch-style `c.req` headers there builds a `Headers` of every request header first.
 */
function proxyHeaders(c: Context): HeaderBag {
  return nodeIncomingHeaders(c.env) ?? fetchHeaders(c.req.raw.headers);
}

/**
 * Session middleware: loads the session before `next()` and commits it after, also when the
 * handler redirects or throws (Hono turns a throw into its error response; what was set before
 * the throw is saved, as web.py's processor does, and the cookie is added to that response).
 *
 * An expired session (with `ignore_expiry: false`) is answered 200 with `expired_message`, a store
 * outage 503, at load, at commit, or raised by the handler (`await session.update(…)`; this
 * replaces `app.onError`'s answer to it); other errors are left to Hono.
 *
 * @param source a `SessionManager`, a `Store`, or `{ manager }` / `{ store, config }`
 */
export function session<T extends SessionData = AppData>(
  source: ManagerSource<T>,
  options: HonoSessionOptions<T> = {},
): MiddlewareHandler<SessionEnv<T>> {
  const manager = toManager(source, options.config);
  const ipOf = options.ip ?? socketIp;
  return async (c, next) => {
    const info = requestInfo(manager, proxyHeaders(c), ipOf(c), c.req.url.startsWith('https:'));
    const out = await aroundNext(manager, info, (s) => c.set('session', s), next);
    // A store failure raised by the handler (e.g. by `session.update`) is answered 503 as at
    // commit, whether it reached us thrown or already turned into a response by `app.onError`.
    let answer = out.answer;
    const raised = out.thrown ? out.thrown.error : c.error;
    if (!answer && raised !== undefined) {
      const storeAnswer = errorAnswer(raised, manager.config.logger);
      if (storeAnswer) answer = { ...storeAnswer, setCookie: out.setCookie };
    }
    if (answer) {
      // Drop the handler's response first: Hono's `res` setter would carry its headers over.
      c.res = undefined as unknown as Response;
      c.res = answerResponse(answer);
      return c.res;
    }
    if (out.thrown) throw out.thrown.error;
    const read = out.read === true;
    if (!out.setCookie && !read) return;
    // Under @hono/node-server, node's response takes the headers as they are written, merged
    // with the application's (as on node:http): a header added to the fetch Response instead
    // turns its plain headers into a Headers object, which costs more than the whole session.
    const outgoing = nodeOutgoing(c.env);
    if (outgoing !== undefined) {
      nodeHold ??= await import('./hold.js');
      if (nodeHold.addSessionHeadersOnWrite(outgoing, out.setCookie, read)) return;
    }
    // Elsewhere, headers set in place; a response whose headers refuse changes (a `fetch()`
    // answer) is copied, and the copy replaces it (dropped first: Hono's setter would copy it).
    const res = withSessionHeaders(c.res, out.setCookie, read);
    if (res !== c.res) {
      c.res = undefined as unknown as Response;
      c.res = res;
    }
  };
}
