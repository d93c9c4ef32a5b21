/**
 * Typed errors of websession. Every message starts with `[websession]` and, where a store is
 * involved, the store's kind, so a log line says where it came from.
 * @module
 */

/** Base class of every error websession throws on purpose. */
export class WebSessionError extends Error {
  /** A stable machine-readable code, e.g. `ERR_STORE_UNAVAILABLE`. */
  readonly code: string;
  constructor(message: string, code = 'ERR_WEBSESSION', options?: { cause?: unknown }) {
    super(`[websession] ${message}`, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A bad argument or configuration value, thrown at construction time. */
export class ConfigError extends WebSessionError {
  constructor(message: string) {
    super(message, 'ERR_CONFIG');
  }
}

/** A session id or store key that is not of the exact expected form. */
export class InvalidSessionIdError extends WebSessionError {
  constructor(message = 'invalid session id') {
    super(message, 'ERR_INVALID_SESSION_ID');
  }
}

/** A store failed to read or write. Adapters answer HTTP 503. */
export class StoreError extends WebSessionError {
  /** The store kind: `memory`, `disk`, `sqlite`, `postgres`, `mysql`, `shelf`, `redis`. */
  readonly store: string;
  /**
   * 503: the HTTP status that frameworks' own error handlers (Express's, Koa's, Fastify's) give
   * a StoreError that reaches them.
   */
  readonly statusCode = 503;
  constructor(store: string, message: string, options?: { cause?: unknown; code?: string }) {
    super(`[${store}] ${message}`, options?.code ?? 'ERR_STORE', options);
    this.store = store;
  }
}

/** The store cannot be reached (connection refused, timed out, closed). Adapters answer 503. */
export class StoreUnavailableError extends StoreError {
  constructor(store: string, message: string, options?: { cause?: unknown }) {
    super(store, message, { ...options, code: 'ERR_STORE_UNAVAILABLE' });
  }
}

/**
 * The store already has `store_max_in_flight` calls waiting on it: the request is turned away at
 * once, without a store call, instead of queueing behind a slow store. Adapters answer 503 with
 * `Retry-After`.
 */
export class StoreBusyError extends StoreError {
  constructor(store: string, inFlight: number) {
    super(
      store,
      `${inFlight} store calls are already in flight (store_max_in_flight): request turned away`,
      { code: 'ERR_STORE_BUSY' },
    );
  }
}

/** A session's serialized form is larger than `max_size`. Nothing was written. */
export class SessionTooLargeError extends WebSessionError {
  readonly size: number;
  readonly limit: number;
  constructor(
    size: number,
    limit: number,
    what = 'serialized, over the limit of',
    which = 'max_size',
  ) {
    super(`session is ${size} bytes ${what} ${limit} (${which})`, 'ERR_SESSION_TOO_LARGE');
    this.size = size;
    this.limit = limit;
  }
}

/** A value that the codec cannot store (a function, a class instance, a symbol…). */
export class CodecError extends WebSessionError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'ERR_CODEC', options);
  }
}

/**
 * The session expired (or its IP changed) and `ignore_expiry` (or `ignore_change_ip`) is false.
 * As in web.py, the answer is `expired_message` with status 200; `setCookie` clears the cookie.
 */
export class SessionExpiredError extends WebSessionError {
  /** The Set-Cookie header value that clears the session cookie. */
  readonly setCookie: string | undefined;
  /** The text to answer with (`expired_message`). */
  readonly body: string;
  constructor(body: string, setCookie: string | undefined) {
    super(`session expired: ${body}`, 'ERR_SESSION_EXPIRED');
    this.body = body;
    this.setCookie = setCookie;
  }
}

/** Use of a session outside of a request, or of a killed session. */
export class SessionStateError extends WebSessionError {
  constructor(message: string) {
    super(message, 'ERR_SESSION_STATE');
  }
}

/** The store cannot do what was asked (e.g. no user index). The message says why. */
export class UnsupportedError extends WebSessionError {
  readonly store: string;
  constructor(store: string, message: string) {
    super(`[${store}] ${message}`, 'ERR_UNSUPPORTED');
    this.store = store;
  }
}

/**
 * What a store URL names does not exist (a folder, a file, a table), and the caller asked not to
 * create it: `storeFromUrl(url, { create: false })`, as the `websession` command's reads do.
 */
export class StoreNotFoundError extends WebSessionError {
  readonly store: string;
  constructor(store: string, message: string) {
    super(`[${store}] ${message}`, 'ERR_STORE_NOT_FOUND');
    this.store = store;
  }
}
