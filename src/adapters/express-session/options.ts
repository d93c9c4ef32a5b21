/**
 * express-session's options, checked once and resolved into what the middleware and websession's
 * core need.
 * @module
 */
import type { IncomingMessage } from 'node:http';
import type { SessionConfig } from '../../core/config.js';
import { ConfigError } from '../../core/errors.js';
import { isCookieSealer, type StoreOrSealer } from '../../core/sealer.js';
import type { Store } from '../../core/store.js';
import { type ConnectStoreLike, connectStore } from '../../stores/connect.js';
import type { ExpressSessionSecret } from '../../stores/express-session-cookie.js';
import { expressSessionMigration } from '../../stores/express-session-migration.js';
import { MemoryStore as CoreMemoryStore } from '../../stores/memory.js';
import type { CookieOptions } from './cookie.js';

/** The websession settings that apply under this middleware (cookie and secret come from its own options). */
export type CoreSettings = Omit<
  SessionConfig,
  | 'cookie_name'
  | 'cookie_domain'
  | 'cookie_path'
  | 'samesite'
  | 'secret_key'
  | 'httponly'
  | 'secure'
  | 'cookie_max_age'
  | 'initializer'
  | 'trust_proxy'
>;

/** express-session's options (see docs/express-session.md for how each one behaves here). */
export interface ExpressSessionOptions {
  /** Secret(s) signing the cookie: the first signs, every one verifies. Required (or `req.secret`). */
  secret?: ExpressSessionSecret | ExpressSessionSecret[] | undefined;
  /** Cookie name. Default `connect.sid`. */
  name?: string | undefined;
  /** Deprecated name of `name` in express-session; still read. */
  key?: string | undefined;
  /** A websession Store (or CookieStore), or an express-session store object (connect-redis, …). Default websession's MemoryStore. */
  store?: StoreOrSealer | ConnectStoreLike | undefined;
  /** The cookie's attributes (or a function of the request giving them). */
  cookie?: CookieOptions | ((req: IncomingMessage) => CookieOptions) | undefined;
  /** Re-send the cookie (renewing its expiry) on every response. Default false. */
  rolling?: boolean | undefined;
  /** Accepted; an unchanged session is never rewritten here (its access time is). */
  resave?: boolean | undefined;
  /** Store (and send a cookie for) a session nobody wrote to. Default false here (express-session: true). */
  saveUninitialized?: boolean | undefined;
  /** Trust `X-Forwarded-Proto` (true), never (false), or follow Express's `trust proxy` (undefined). */
  proxy?: boolean | undefined;
  /** What `req.session = null` / `delete req.session` does: 'keep' the session (default) or 'destroy' it. */
  unset?: 'keep' | 'destroy' | undefined;
  /** Accepted and not called: ids come from the CSPRNG (256 bits) only. */
  genid?: ((req: IncomingMessage) => string) | undefined;
  /**
   * One request at a time per session in this process (from loading the session to saving it),
   * so `req.session.count++` counts under parallel requests. Default true.
   */
  serialize?: boolean | undefined;
  /** websession's own settings: idle `timeout`, `store_timeout`, `max_size`, `logger`, … */
  websession?: CoreSettings | undefined;
}

/** What the middleware runs with. */
export interface ResolvedOptions {
  name: string;
  secrets: readonly ExpressSessionSecret[] | undefined;
  cookie: CookieOptions | ((req: IncomingMessage) => CookieOptions);
  rolling: boolean;
  saveUninitialized: boolean;
  proxy: boolean | undefined;
  unsetDestroy: boolean;
  serialize: boolean;
  /** The store the application gave (for `req.sessionStore`), or websession's MemoryStore. */
  store: StoreOrSealer | ConnectStoreLike;
  coreStore: StoreOrSealer;
  config: SessionConfig;
}

/** True for a websession Store or sealer (as opposed to an express-session store object). */
function isCoreStore(store: object): store is StoreOrSealer {
  const s = store as Partial<Store>;
  return (
    (typeof s.update === 'function' && typeof s.capabilities === 'object') ||
    isCookieSealer(store as StoreOrSealer)
  );
}

function isConnectStore(store: object): store is ConnectStoreLike {
  const s = store as Partial<ConnectStoreLike>;
  return (
    typeof s.get === 'function' && typeof s.set === 'function' && typeof s.destroy === 'function'
  );
}

/** Checks the options and resolves them; throws TypeError as express-session does, ConfigError for the rest. */
export function resolveOptions(options: ExpressSessionOptions = {}): ResolvedOptions {
  const o = options;
  if (o.genid !== undefined && typeof o.genid !== 'function')
    throw new TypeError('genid option must be a function');
  if (o.unset !== undefined && o.unset !== 'destroy' && o.unset !== 'keep')
    throw new TypeError('unset option must be "destroy" or "keep"');
  const raw = o.secret;
  if (Array.isArray(raw) && raw.length === 0)
    throw new TypeError('secret option array must contain one or more strings');
  const secrets = raw ? (Array.isArray(raw) ? [...raw] : [raw]) : undefined;
  if (secrets?.some((s) => (typeof s !== 'string' && !Buffer.isBuffer(s)) || s.length === 0))
    throw new TypeError('secret option must be a non-empty string or an array of them');
  const given = o.store;
  let coreStore: StoreOrSealer;
  if (given === undefined || given === null) coreStore = new CoreMemoryStore();
  else if (isCoreStore(given)) coreStore = given;
  else if (isConnectStore(given)) coreStore = connectStore(given);
  else
    throw new ConfigError(
      'store must be a websession Store or an express-session store (with get, set and destroy)',
    );
  const cookie = o.cookie ?? {};
  const maxAge = typeof cookie === 'function' ? undefined : cookie.maxAge;
  const name = o.name ?? o.key ?? 'connect.sid';
  // An express-session store holds the sessions express-session made: each moves into a session
  // of ours on its first request (same store, same secret), unless `websession.migrate` says else.
  const oldSecrets = secrets?.filter((s): s is string => typeof s === 'string');
  const migrate =
    given && !isCoreStore(given) && oldSecrets && oldSecrets.length > 0
      ? expressSessionMigration({ store: given, secret: oldSecrets, name })
      : undefined;
  const config: SessionConfig = {
    cookie_name: name,
    ...(migrate ? { migrate } : {}),
    // The server keeps a session as long as its cookie lives (a day for a browser-session cookie).
    ...(typeof maxAge === 'number' && maxAge > 0 ? { timeout: maxAge / 1000 } : {}),
    ...o.websession,
  };
  return {
    name,
    secrets,
    cookie,
    rolling: Boolean(o.rolling),
    saveUninitialized: o.saveUninitialized === true,
    proxy: o.proxy,
    unsetDestroy: o.unset === 'destroy',
    serialize: o.serialize !== false,
    store: given ?? coreStore,
    coreStore,
    config,
  };
}
