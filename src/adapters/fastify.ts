/**
 * `websession/fastify`: a Fastify plugin. The session is `sessionOf(request)` (at run time also
 * `request.session`, left untyped so that @fastify/session's types can coexist).
 *
 * @example
 * import Fastify from 'fastify';
 * import { MemoryStore } from 'websession';
 * import { fastifySession, sessionOf } from 'websession/fastify';
 *
 * const app = Fastify();
 * await app.register(fastifySession, { store: new MemoryStore() });
 * app.get('/', async (request) => (sessionOf(request).get('logged_in', false) ? 'in' : 'out'));
 * @module
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { addCacheHeaders, sessionWasRead } from '../core/cache-headers.js';
import type { SessionData } from '../core/codec.js';
import type { SessionConfig } from '../core/config.js';
import type { SessionManager } from '../core/manager.js';
import type { StoreOrSealer } from '../core/sealer.js';
import type { Session } from '../core/session.js';
import {
  type ErrorAnswer,
  errorAnswer,
  requestInfo,
  type SessionOptions,
  toManager,
} from './common.js';
import type { AppData } from './types.js';

export * from './public-types.js';

/**
 * The request as the plugin leaves it. `request.session` is not declared on `FastifyRequest`:
 * @fastify/session declares it with its own type, and two declarations of one property must
 * agree (TS2717), so an application migrating with both installed could not compile. Our code
 * reads and writes it through this type, whatever other declarations say.
 */
type SessionCarrier = { session?: unknown };

/**
 * Options of {@link fastifySession}: `{ store, config }` or `{ manager }`. The session data type
 * is not checked here (a plugin's options cannot be generic): type the session through
 * `AppSessionData` or `sessionOf<T>(request)`.
 */
export type FastifySessionOptions =
  // biome-ignore lint/suspicious/noExplicitAny: a manager or config of any session data type
  | { manager: SessionManager<any>; store?: never; config?: never }
  // biome-ignore lint/suspicious/noExplicitAny: a manager or config of any session data type
  | { store: StoreOrSealer; config?: SessionConfig<any>; manager?: never };

/**
 * Puts an error answer's status and headers on `reply` and returns its body for the caller to
 * send; with `replace`, the headers the reply has already (the handler's) are dropped first.
 */
function answerWith(reply: FastifyReply, a: ErrorAnswer, replace: boolean): string {
  if (replace) for (const name of Object.keys(reply.getHeaders())) reply.removeHeader(name);
  reply.code(a.status).headers(a.headers);
  if (a.setCookie) reply.header('Set-Cookie', a.setCookie);
  return a.body;
}

const plugin: FastifyPluginAsync<FastifySessionOptions> = async (fastify, options) => {
  const manager = toManager(options as SessionOptions<SessionData>);
  const logger = manager.config.logger;
  const infos = new WeakMap<FastifyRequest, ReturnType<typeof requestInfo>>();
  fastify.decorateRequest('session', null, []);

  fastify.addHook('onRequest', async (request, reply) => {
    const raw = request.raw;
    const info = requestInfo(
      manager,
      raw.headers,
      raw.socket.remoteAddress,
      Boolean((raw.socket as { encrypted?: boolean }).encrypted),
    );
    try {
      (request as SessionCarrier).session = await manager.load(info);
      infos.set(request, info);
    } catch (err) {
      const a = errorAnswer(err, logger);
      if (!a) throw err;
      return reply.send(answerWith(reply, a, false));
    }
  });

  // A store failure raised by a route's handler (e.g. by `await sessionOf(request).update(…)`) is
  // answered 503 with the shared body, as at load and commit. Wrapping the handlers leaves the
  // application's error handler alone: it still gets every other error.
  fastify.addHook('onRoute', (route) => {
    const handler = route.handler;
    route.handler = function (this: FastifyInstance, request, reply) {
      const answerStoreFailure = (err: unknown): FastifyReply => {
        const a = reply.sent ? undefined : errorAnswer(err, logger);
        if (!a) throw err;
        return reply.send(answerWith(reply, a, true));
      };
      let result: unknown;
      try {
        result = handler.call(this, request, reply);
      } catch (err) {
        return answerStoreFailure(err);
      }
      return result instanceof Promise ? result.catch(answerStoreFailure) : result;
    };
  });

  // onSend runs for every reply.send(): handlers' answers, reply.redirect(), error and 404
  // answers; so the session is committed before the headers go out, also after a throw.
  fastify.addHook('onSend', async (request, reply, payload) => {
    const info = infos.get(request);
    if (!info) return payload;
    infos.delete(request);
    let setCookie: string | undefined;
    try {
      setCookie = await manager.commit(
        (request as SessionCarrier).session as Session<SessionData>,
        info,
      );
    } catch (err) {
      const a = errorAnswer(err, logger);
      if (!a) throw err;
      return answerWith(reply, a, true);
    }
    if (setCookie) reply.header('Set-Cookie', setCookie);
    addCacheHeaders(
      (name) => reply.getHeader(name),
      (name, value) => reply.header(name, value),
      setCookie,
      sessionWasRead((request as SessionCarrier).session as Session<SessionData>),
    );
    return payload;
  });
};

// What `fastify-plugin` does, without importing it: the plugin's hooks and decorator apply to the
// instance it is registered on (and its children) instead of a new encapsulated context.
Object.assign(plugin, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'websession',
  [Symbol.for('plugin-meta')]: { name: 'websession', fastify: '4.x || 5.x' },
});

/**
 * The session plugin. Loads the session in an `onRequest` hook and commits it in `onSend`, before
 * the headers are sent: a `reply.redirect()` saves what was set before it, and so does a handler
 * that throws (Fastify's error answer is sent through `onSend` too; as web.py's processor).
 * An expired session (with `ignore_expiry: false`) is answered 200 with `expired_message`, a store
 * outage 503: at load, at commit, or raised by the handler of a route declared after the plugin
 * (`await sessionOf(request).update(…)`); other errors go to the app's error handler. A StoreError
 * that reaches an error handler elsewhere has `statusCode` 503.
 *
 * Options: `{ store, config }` or `{ manager }`.
 */
export const fastifySession = plugin;
export default fastifySession;

/**
 * The session of a request: typed by `AppSessionData`, or by the data type you give.
 * @example const s = sessionOf<{ user: string }>(request);
 */
export function sessionOf<T extends SessionData = AppData>(request: FastifyRequest): Session<T> {
  return (request as SessionCarrier).session as Session<T>;
}
