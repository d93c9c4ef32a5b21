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
import { type Awaitable, isPromise } from '../core/awaitable.js';
import { addCacheHeaders, sessionWasRead } from '../core/cache-headers.js';
import type { SessionData } from '../core/codec.js';
import type { SessionConfig } from '../core/config.js';
import type { RequestInfo, SessionManager } from '../core/manager.js';
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

/**
 * A throw out of Fastify's `done` after an asynchronous load or commit (a bug, not a request's
 * fault): logged, rather than left as an unhandled rejection that ends the process.
 */
function unexpected(err: unknown): void {
  console.error(err);
}

/** Where a request keeps what its session was loaded with (a symbol: no clash with the app's). */
const INFO = Symbol('websession.fastify.info');

/** A request as the plugin leaves it: its session and the request info it was loaded with. */
type Carrier = SessionCarrier & { [INFO]: RequestInfo | null };

const plugin: FastifyPluginAsync<FastifySessionOptions> = async (fastify, options) => {
  const manager = toManager(options as SessionOptions<SessionData>);
  const logger = manager.config.logger;
  fastify.decorateRequest('session', null, []);
  fastify.decorateRequest(INFO, null);

  // Callback-style hooks: with a store that answers at once, a request passes through the plugin
  // with no promise made and no turn of the microtask queue waited.
  fastify.addHook('onRequest', (request, reply, done) => {
    const raw = request.raw;
    const info = requestInfo(
      manager,
      raw.headers,
      raw.socket.remoteAddress,
      Boolean((raw.socket as { encrypted?: boolean }).encrypted),
    );
    const attach = (session: Session<SessionData>): void => {
      const carrier = request as unknown as Carrier;
      carrier.session = session;
      carrier[INFO] = info;
      done();
    };
    const fail = (err: unknown): void => {
      const a = errorAnswer(err, logger);
      if (a) reply.send(answerWith(reply, a, false));
      else done(err as Error);
    };
    let loaded: Awaitable<Session<SessionData>>;
    try {
      loaded = manager.load(info);
    } catch (err) {
      fail(err);
      return;
    }
    if (isPromise(loaded)) loaded.then(attach, fail).catch(unexpected);
    else attach(loaded);
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
  fastify.addHook('onSend', (request, reply, payload, done) => {
    const carrier = request as unknown as Carrier;
    const info = carrier[INFO];
    if (!info) {
      done(null, payload);
      return;
    }
    carrier[INFO] = null;
    const session = carrier.session as Session<SessionData>;
    const sent = (setCookie: string | undefined): void => {
      if (setCookie) reply.header('Set-Cookie', setCookie);
      addCacheHeaders(
        (name) => reply.getHeader(name),
        (name, value) => reply.header(name, value),
        setCookie,
        sessionWasRead(session),
      );
      done(null, payload);
    };
    const fail = (err: unknown): void => {
      const a = errorAnswer(err, logger);
      if (a) done(null, answerWith(reply, a, true));
      else done(err as Error);
    };
    let committed: Awaitable<string | undefined>;
    try {
      committed = manager.commit(session, info);
    } catch (err) {
      fail(err);
      return;
    }
    if (isPromise(committed)) committed.then(sent, fail).catch(unexpected);
    else sent(committed);
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
