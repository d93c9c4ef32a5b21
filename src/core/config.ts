/**
 * The session configuration: web.py's `session_parameters` with their names, plus what web.py
 * lacks. Defaults that differ from web.py's are marked, with the reason, in the README.
 * @module
 */

import type { SessionData } from './codec.js';
import { MAX_COOKIE_AGE } from './cookie.js';
import { ConfigError } from './errors.js';

/** Where websession writes warnings (corrupt records, store errors in background work). */
export interface Logger {
  warn(message: string, error?: unknown): void;
}

/** The `initializer` of a new session: an object (deep-copied) or a function. */
export type Initializer<T extends SessionData> =
  | Partial<T>
  // biome-ignore lint/suspicious/noConfusingVoidType: a function initializer may return nothing
  | ((data: Partial<T>) => void | Partial<T>);

/** Session configuration. Every key is optional; see {@link DEFAULT_CONFIG}. */
export interface SessionConfig<T extends SessionData = SessionData> {
  /** Cookie name. Default `webpy_session_id` (as web.py). */
  cookie_name?: string;
  /** Cookie Domain attribute. Default none (host-only, as web.py). */
  cookie_domain?: string | null;
  /** Cookie Path attribute. Default `/`. */
  cookie_path?: string | null;
  /** Cookie SameSite attribute. Default `Lax` (web.py: none). `null` omits it. */
  samesite?: 'Lax' | 'Strict' | 'None' | 'lax' | 'strict' | 'none' | null;
  /** Idle timeout in seconds: a session not used for this long is expired. Default 86400. */
  timeout?: number;
  /** True: an expired or unknown session silently becomes a new one. False: answer `expired_message`. Default true. */
  ignore_expiry?: boolean;
  /** True: a session may move between client IPs. False: an IP change expires it. Default true. */
  ignore_change_ip?: boolean;
  /**
   * Secret(s) to sign the cookie with (HMAC-SHA256), newest first; older keys are still
   * accepted and the cookie is re-signed with the newest. Default none (web.py ships a fixed
   * default secret; we do not). Each key must have at least 32 characters.
   */
  secret_key?: string | readonly string[] | null;
  /** Body of the answer to an expired session when `ignore_expiry` is false. Default `Session expired`. */
  expired_message?: string;
  /** Cookie HttpOnly attribute. Default true. */
  httponly?: boolean;
  /** Cookie Secure attribute: true, false, or `auto` (set on HTTPS requests). Default `auto` (web.py: false). */
  secure?: boolean | 'auto';
  /** Data every new session starts with: an object (deep-copied) or a function. Not stored on its own. */
  initializer?: Initializer<T> | null;
  /** Absolute lifetime in seconds from creation, whatever the activity. Default none. */
  lifetime?: number | null;
  /**
   * Cookie Max-Age in seconds (re-sent when the session is used). Default none: a browser-session
   * cookie. At most 400 days (RFC 6265bis: browsers cap it there); a larger value is capped, with a
   * warning through `logger`.
   */
  cookie_max_age?: number | null;
  /** An unchanged session's access time is written at most this often, in seconds. Default min(60, timeout/10). */
  touch_interval?: number;
  /** Seconds between background cleanups of expired sessions; 0 turns them off. Default min(timeout, 3600). */
  cleanup_interval?: number;
  /** Largest serialized session in bytes; a save over it fails with SessionTooLargeError. Default 65536. */
  max_size?: number;
  /** A store call slower than this many milliseconds fails with StoreUnavailableError. Default 5000; 0 = none. */
  store_timeout?: number;
  /**
   * Most store calls that may wait on the store at once (per manager). Past it a request is
   * answered 503 with `Retry-After` at once, without a store call, so a slow store cannot pile up
   * requests and memory. Calls a store answers in-process (MemoryStore, DiskStore) never count.
   * Default 512; 0 = no cap.
   */
  store_max_in_flight?: number;
  /**
   * Proxies in front of the app whose `X-Forwarded-For` / `X-Forwarded-Proto` are trusted:
   * `true` (one) or a hop count. Default false: the socket's address and scheme only.
   */
  trust_proxy?: boolean | number;
  /** Where warnings go. Default `console.warn`. */
  logger?: Logger;
}

/** Configuration with every default filled in. */
export interface ResolvedConfig<T extends SessionData = SessionData> {
  cookie_name: string;
  cookie_domain: string | undefined;
  cookie_path: string;
  samesite: 'lax' | 'strict' | 'none' | undefined;
  timeout: number;
  ignore_expiry: boolean;
  ignore_change_ip: boolean;
  secret_keys: readonly string[];
  expired_message: string;
  httponly: boolean;
  secure: boolean | 'auto';
  initializer: Initializer<T> | undefined;
  lifetime: number | undefined;
  cookie_max_age: number | undefined;
  touch_interval: number;
  cleanup_interval: number;
  max_size: number;
  store_timeout: number;
  store_max_in_flight: number;
  trust_proxy: boolean | number;
  logger: Logger;
}

/** The defaults, by key. */
export const DEFAULT_CONFIG = Object.freeze({
  cookie_name: 'webpy_session_id',
  cookie_domain: null,
  cookie_path: '/',
  samesite: 'Lax',
  timeout: 86400,
  ignore_expiry: true,
  ignore_change_ip: true,
  secret_key: null,
  expired_message: 'Session expired',
  httponly: true,
  secure: 'auto',
  initializer: null,
  lifetime: null,
  cookie_max_age: null,
  max_size: 65536,
  store_timeout: 5000,
  store_max_in_flight: 512,
  trust_proxy: false,
} as const);

const consoleLogger: Logger = {
  warn(message, error) {
    const detail = error instanceof Error ? error.message : error;
    // A StoreError's message already ends with its cause's: say it once.
    if (error === undefined || (typeof detail === 'string' && message.includes(detail)))
      console.warn(message);
    else console.warn(message, detail);
  },
};

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * The cookie-name prefixes of RFC 6265bis (section 4.1.3), matched without regard to case as
 * browsers do: a `__Secure-` cookie must be Secure; a `__Host-` cookie must be Secure, carry no
 * Domain and have Path `/`. A browser silently drops a cookie that breaks them, so the session
 * would never stick: such a configuration is refused. `secure: 'auto'` is refused too, as it
 * leaves Secure off on plain HTTP, where the cookie would be dropped.
 */
function checkCookiePrefix(
  name: string,
  secure: boolean | 'auto',
  domain: string | undefined,
  path: string,
): void {
  const prefix = /^__host-/i.test(name) ? '__Host-' : /^__secure-/i.test(name) ? '__Secure-' : '';
  if (!prefix) return;
  const why = `(a browser drops a ${prefix} cookie that breaks its rules, so the session would never stick)`;
  if (secure !== true)
    throw new ConfigError(
      `cookie_name ${JSON.stringify(name)} needs secure: true, got ${JSON.stringify(secure)}${secure === 'auto' ? ' ("auto" leaves Secure off on plain HTTP)' : ''} ${why}`,
    );
  if (prefix === '__Host-' && domain !== undefined)
    throw new ConfigError(
      `cookie_name ${JSON.stringify(name)} cannot have a cookie_domain, got ${JSON.stringify(domain)} ${why}`,
    );
  if (prefix === '__Host-' && path !== '/')
    throw new ConfigError(
      `cookie_name ${JSON.stringify(name)} needs cookie_path "/", got ${JSON.stringify(path)} ${why}`,
    );
}

function positive(name: string, value: unknown, allowZero = false): number {
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value < 0 ||
    (!allowZero && value === 0)
  ) {
    throw new ConfigError(
      `${name} must be a ${allowZero ? 'non-negative' : 'positive'} number of seconds, got ${String(value)}`,
    );
  }
  return value;
}

/** Checks a configuration and fills in the defaults. Throws ConfigError on any bad value. */
export function resolveConfig<T extends SessionData>(
  config: SessionConfig<T> = {},
): ResolvedConfig<T> {
  const c = config;
  const known = new Set([
    ...Object.keys(DEFAULT_CONFIG),
    'touch_interval',
    'cleanup_interval',
    'logger',
  ]);
  for (const key of Object.keys(c)) {
    if (!known.has(key)) throw new ConfigError(`unknown session config key "${key}"`);
  }
  const cookie_name = c.cookie_name ?? DEFAULT_CONFIG.cookie_name;
  if (typeof cookie_name !== 'string' || !TOKEN.test(cookie_name)) {
    throw new ConfigError(`cookie_name must be a cookie token, got ${JSON.stringify(cookie_name)}`);
  }
  const timeout = positive('timeout', c.timeout ?? DEFAULT_CONFIG.timeout);
  const rawSameSite = c.samesite === undefined ? DEFAULT_CONFIG.samesite : c.samesite;
  let samesite: ResolvedConfig['samesite'];
  if (rawSameSite !== null) {
    const lower = String(rawSameSite).toLowerCase();
    if (lower !== 'lax' && lower !== 'strict' && lower !== 'none') {
      throw new ConfigError(
        `samesite must be Lax, Strict, None or null, got ${JSON.stringify(rawSameSite)}`,
      );
    }
    samesite = lower;
  }
  const rawKeys = c.secret_key ?? [];
  const secret_keys = typeof rawKeys === 'string' ? [rawKeys] : [...rawKeys];
  for (const key of secret_keys) {
    if (typeof key !== 'string' || key.length < 32) {
      throw new ConfigError('each secret_key must be a string of at least 32 characters');
    }
  }
  const secure = c.secure ?? DEFAULT_CONFIG.secure;
  if (secure !== true && secure !== false && secure !== 'auto')
    throw new ConfigError('secure must be true, false or "auto"');
  if (samesite === 'none' && secure === false)
    throw new ConfigError('samesite None needs secure (browsers reject it otherwise)');
  const cookie_path = c.cookie_path ?? DEFAULT_CONFIG.cookie_path;
  if (
    typeof cookie_path !== 'string' ||
    !cookie_path.startsWith('/') ||
    /[;\s]/.test(cookie_path)
  ) {
    throw new ConfigError(
      `cookie_path must be a path starting with "/", got ${JSON.stringify(cookie_path)}`,
    );
  }
  const cookie_domain = c.cookie_domain ?? undefined;
  if (
    cookie_domain !== undefined &&
    (typeof cookie_domain !== 'string' || !/^[A-Za-z0-9.-]+$/.test(cookie_domain))
  ) {
    throw new ConfigError(
      `cookie_domain must be a domain name, got ${JSON.stringify(cookie_domain)}`,
    );
  }
  checkCookiePrefix(cookie_name, secure, cookie_domain, cookie_path);
  const logger = c.logger ?? consoleLogger;
  let cookie_max_age =
    c.cookie_max_age == null ? undefined : positive('cookie_max_age', c.cookie_max_age);
  if (cookie_max_age !== undefined && cookie_max_age > MAX_COOKIE_AGE) {
    logger.warn(
      `[websession] cookie_max_age ${cookie_max_age} s is over the 400 days a browser keeps a cookie (RFC 6265bis): capped to ${MAX_COOKIE_AGE} s`,
    );
    cookie_max_age = MAX_COOKIE_AGE;
  }
  const max_size = c.max_size ?? DEFAULT_CONFIG.max_size;
  if (!Number.isInteger(max_size) || max_size < 256)
    throw new ConfigError('max_size must be an integer of at least 256 bytes');
  const store_timeout = c.store_timeout ?? DEFAULT_CONFIG.store_timeout;
  if (!Number.isFinite(store_timeout) || store_timeout < 0)
    throw new ConfigError('store_timeout must be a non-negative number of milliseconds');
  const store_max_in_flight = c.store_max_in_flight ?? DEFAULT_CONFIG.store_max_in_flight;
  if (!Number.isInteger(store_max_in_flight) || store_max_in_flight < 0)
    throw new ConfigError('store_max_in_flight must be a non-negative integer (0: no cap)');
  const initializer = c.initializer ?? undefined;
  if (
    initializer !== undefined &&
    typeof initializer !== 'function' &&
    (typeof initializer !== 'object' || initializer === null)
  ) {
    throw new ConfigError('initializer must be an object or a function');
  }
  return {
    cookie_name,
    cookie_domain,
    cookie_path,
    samesite,
    timeout,
    ignore_expiry: c.ignore_expiry ?? DEFAULT_CONFIG.ignore_expiry,
    ignore_change_ip: c.ignore_change_ip ?? DEFAULT_CONFIG.ignore_change_ip,
    secret_keys,
    expired_message: c.expired_message ?? DEFAULT_CONFIG.expired_message,
    httponly: c.httponly ?? DEFAULT_CONFIG.httponly,
    secure,
    initializer,
    lifetime: c.lifetime == null ? undefined : positive('lifetime', c.lifetime),
    cookie_max_age,
    touch_interval: positive(
      'touch_interval',
      c.touch_interval ?? Math.min(60, timeout / 10),
      true,
    ),
    cleanup_interval: positive(
      'cleanup_interval',
      c.cleanup_interval ?? Math.min(timeout, 3600),
      true,
    ),
    max_size,
    store_timeout,
    store_max_in_flight,
    trust_proxy: c.trust_proxy ?? DEFAULT_CONFIG.trust_proxy,
    logger,
  };
}
