/**
 * `web.application`: web.py's URL mapping of regexes to handler classes with `GET`/`POST`
 * methods, processors around every request, `app.run()` and in-process `app.request()`.
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { pathToFileURL } from 'node:url';
import { parseCookie, stringifyCookie } from 'cookie';
import { type Awaitable, isPromise } from '../core/awaitable.js';
import { errorAnswer } from '../core/error-answer.js';
import { ConfigError, StoreError, WebSessionError } from '../core/errors.js';
import { clientAddress, isSecureRequest } from '../core/proxy.js';
import { config } from './config.js';
import { type RequestContext, runWithContext } from './ctx.js';
import { debugerror } from './debugerror.js';
import { HTTPError, nomethod, notfound, Redirect, statusCode, statusLine } from './http.js';
import { announce } from './listen.js';
import { isReloaderChild, ReloaderChild } from './reloader-child.js';
import { shouldSupervise, supervise } from './reloader-supervisor.js';
import { runStartChecks } from './start-checks.js';
import { storeFailureLogger } from './store-failure-logger.js';
import type {
  ErrorRenderer,
  HandlerClass,
  Handlers,
  Processor,
  RawRequest,
  RawResponse,
} from './types.js';

/** The answer of {@link Application.request}, shaped like web.py's. */
export interface AppResponse {
  /** Status line, e.g. `303 See Other`. */
  status: string;
  /** Numeric status. */
  statusCode: number;
  /** Headers by name (the last one wins; see `headerList` for all). */
  headers: Record<string, string>;
  /** Every header, in order. */
  headerList: [string, string][];
  /** Body as text. */
  data: string;
}

/** Options of {@link Application.request}. */
export interface RequestOptions {
  method?: string;
  /** Body: a string, or an object sent url-encoded. */
  data?: string | Record<string, string>;
  headers?: Record<string, string>;
  host?: string;
  https?: boolean;
  ip?: string;
}

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'] as const;

const EMPTY = Buffer.alloc(0);

function toBuffer(value: unknown): Buffer {
  if (value === undefined || value === null) return EMPTY;
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value);
  return Buffer.from(typeof value === 'string' ? value : String(value), 'utf8');
}

/** Splits `host:port`, `port`, `[::1]:port` into parts. Returns undefined when malformed. */
export function parseAddress(
  text: string | undefined,
  fallbackHost = '0.0.0.0',
  fallbackPort = 8080,
): { host: string; port: number } | undefined {
  if (text === undefined || text === '') return { host: fallbackHost, port: fallbackPort };
  const m = /^(?:(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]*):)?(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port > 65535) return undefined;
  const host = m[1] ? m[1].replace(/^\[|\]$/g, '') : fallbackHost;
  return { host, port };
}

/**
 * A web.py application.
 *
 * @example
 * const urls = ['/', 'Index', '/hello/(.*)', 'Hello'];
 * const app = web.application(urls, () => ({ Index, Hello }));
 */
export class Application {
  readonly #mapping: [RegExp, string | HandlerClass][] = [];
  readonly #handlers: Handlers | (() => Handlers);
  readonly #processors: Processor[] = [];
  readonly #named = new Map<string, Processor>();
  /**
   * Renders unexpected errors (not HTTP answers). Unset, debug mode uses {@link debugerror}
   * (the error page) and otherwise the answer is a plain 500.
   */
  errorRenderer: ErrorRenderer | undefined;

  constructor(
    urls: readonly (string | HandlerClass)[],
    handlers: Handlers | (() => Handlers) = {},
  ) {
    if (!Array.isArray(urls) || urls.length % 2 !== 0) {
      throw new TypeError('[websession] urls must be a flat list of (pattern, handler) pairs');
    }
    for (let i = 0; i < urls.length; i += 2) {
      const pattern = urls[i];
      const target = urls[i + 1];
      if (typeof pattern !== 'string')
        throw new TypeError(`[websession] url pattern at ${i} must be a string`);
      if (typeof target !== 'string' && typeof target !== 'function') {
        throw new TypeError(`[websession] url handler at ${i + 1} must be a class name or a class`);
      }
      this.#mapping.push([new RegExp(`^${pattern}$`), target]);
    }
    this.#handlers = handlers;
  }

  /** Adds a processor around every request (web.py's `app.add_processor`). */
  add_processor(processor: Processor): void {
    this.#processors.push(processor);
  }

  /**
   * Adds or replaces a processor registered under `name`: registering again (as reloaded code
   * does) replaces it in place instead of adding a second one.
   */
  set_processor(name: string, processor: Processor): void {
    const old = this.#named.get(name);
    const index = old ? this.#processors.indexOf(old) : -1;
    if (index >= 0) this.#processors[index] = processor;
    else this.#processors.push(processor);
    this.#named.set(name, processor);
  }

  #resolve(target: string | HandlerClass): HandlerClass | undefined {
    if (typeof target === 'function') return target;
    const handlers = typeof this.#handlers === 'function' ? this.#handlers() : this.#handlers;
    const cls = Object.hasOwn(handlers, target) ? handlers[target] : undefined;
    return typeof cls === 'function' ? cls : undefined;
  }

  /** Runs the handler the path maps to; its result as it comes (a value or a promise). */
  #dispatch(context: RequestContext): unknown {
    for (const [regex, target] of this.#mapping) {
      const m = regex.exec(context.path);
      if (!m) continue;
      const cls = this.#resolve(target);
      if (!cls) throw new Error(`[websession] no handler class named ${JSON.stringify(target)}`);
      const instance = new cls() as Record<string, unknown>;
      let method = context.method;
      if (typeof instance[method] !== 'function' && method === 'HEAD') method = 'GET';
      const fn = instance[method];
      if (typeof fn !== 'function')
        throw nomethod(METHODS.filter((name) => typeof instance[name] === 'function'));
      if (m.length === 1) return (fn as () => unknown).call(instance);
      const args = m.slice(1).map((g) => (g === undefined ? undefined : decodeURIComponent(g)));
      return (fn as (...a: unknown[]) => unknown).apply(instance, args);
    }
    throw notfound();
  }

  /** Processor `index` around the rest; a value when everything answered at once. */
  #run(context: RequestContext, index: number): Awaitable<unknown> {
    const processor = this.#processors[index];
    if (!processor) return this.#dispatch(context);
    let called = false;
    return processor(() => {
      if (called)
        return Promise.reject(new Error('[websession] a processor called handler() twice'));
      called = true;
      try {
        return this.#run(context, index + 1);
      } catch (err) {
        return Promise.reject(err);
      }
    });
  }

  #redirectLocation(err: Redirect, context: RequestContext): string {
    const url = err.url;
    if (/^[a-z][a-z0-9+.-]*:/i.test(url)) return url; // absolute URL
    if (url.startsWith('//')) return `${context.protocol}:${url}`;
    const base = new URL(context.path, 'http://x');
    const resolved = new URL(url, base);
    const path = url.startsWith('?')
      ? context.path + url
      : resolved.pathname + resolved.search + resolved.hash;
    return context.home + path;
  }

  /** Handles one request through the processors and the handler. Never rejects. */
  handle(raw: RawRequest): Promise<RawResponse> {
    return Promise.resolve(this.#handle(raw));
  }

  /** {@link handle}, answering at once when every processor and the handler did. */
  #handle(raw: RawRequest): Awaitable<RawResponse> {
    const headers: Record<string, string | undefined> = {};
    const given = raw.headers;
    for (const name in given) {
      const value = given[name];
      headers[raw.lowerCaseHeaders ? name : name.toLowerCase()] = Array.isArray(value)
        ? value.join(', ')
        : value;
    }
    const url = raw.url;
    const q = url.indexOf('?');
    let path = q >= 0 ? url.slice(0, q) : url;
    const query = q >= 0 ? url.slice(q) : '';
    if (path.includes('%')) {
      try {
        path = decodeURIComponent(path);
      } catch {
        // keep it raw: a bad escape simply matches nothing
      }
    }
    if (path === '') path = '/';
    const protocol = raw.https ? 'https' : 'http';
    const host = headers.host ?? 'localhost';
    const homedomain = `${protocol}://${host}`;
    const context: RequestContext = {
      ip: raw.ip ?? '127.0.0.1',
      method: raw.method.toUpperCase(),
      path,
      query,
      fullpath: path + query,
      homedomain,
      homepath: '',
      home: homedomain,
      host,
      protocol,
      env: headers,
      status: '200 OK',
      headers: [],
      body: raw.body ?? EMPTY,
      extra: new Map(),
    };
    return runWithContext(context, () => {
      let result: Awaitable<unknown>;
      try {
        result = this.#run(context, 0);
      } catch (err) {
        return this.#failed(err, context);
      }
      return isPromise(result)
        ? result.then(
            (value) => this.#answered(value, context),
            (err: unknown) => this.#failed(err, context),
          )
        : this.#answered(result, context);
    });
  }

  /** The response of a handler that returned `value`. */
  #answered(value: unknown, context: RequestContext): RawResponse {
    let body: Buffer;
    try {
      body = toBuffer(value);
    } catch (err) {
      return this.#failed(err, context);
    }
    const headers = context.headers;
    let typed = false;
    for (let i = 0; i < headers.length && !typed; i++)
      typed = (headers[i] as [string, string])[0].toLowerCase() === 'content-type';
    if (!typed) headers.push(['Content-Type', 'text/html; charset=utf-8']);
    return { status: context.status, headers, body: context.method === 'HEAD' ? EMPTY : body };
  }

  /** The response of a request whose processors or handler threw `err`. */
  #failed(err: unknown, context: RequestContext): RawResponse {
    const rendered = this.#renderError(err, context);
    if (rendered) return rendered;
    return this.#answered(EMPTY, context);
  }

  #renderError(err: unknown, context: RequestContext): RawResponse | undefined {
    if (err instanceof HTTPError) {
      context.status = err.status;
      for (const [name, value] of Object.entries(err.headers)) context.headers.push([name, value]);
      if (err instanceof Redirect)
        context.headers.push(['Location', this.#redirectLocation(err, context)]);
      return {
        status: err.status,
        headers: context.headers,
        body: toBuffer(context.method === 'HEAD' ? '' : err.data),
      };
    }
    // Cookies set before the failure (the session's among them) still go out, as web.py's do.
    const cookies = context.headers.filter(([n]) => n.toLowerCase() === 'set-cookie');
    const answer = errorAnswer(err, storeFailureLogger(this));
    if (answer) {
      const status = statusLine(answer.status);
      const own = Object.entries(answer.headers);
      const body = toBuffer(answer.body);
      if (err instanceof StoreError) return { status, headers: [...own, ...cookies], body };
      // An expired session is answered with the headers set so far, as web.py does.
      const headers = context.headers;
      if (answer.setCookie) headers.push(['Set-Cookie', answer.setCookie]);
      headers.push(...own);
      return { status, headers, body };
    }
    const custom = (this.errorRenderer ?? (config.debug ? debugerror : undefined))?.(err, context);
    if (custom) return custom;
    console.error(
      err instanceof WebSessionError || !(err instanceof Error) ? String(err) : err.stack,
    );
    return {
      status: statusLine(500),
      headers: [['Content-Type', 'text/plain; charset=utf-8'], ...cookies],
      body: toBuffer('internal server error'),
    };
  }

  /**
   * A `(req, res)` listener for `http.createServer`.
   * @param transform changes each response before it is sent (the reloader's error banner uses it).
   */
  listener(
    transform?: (response: RawResponse) => RawResponse,
  ): (req: IncomingMessage, res: ServerResponse) => void {
    return (req, res) => this.#serve(req, res, transform);
  }

  #serve(
    req: IncomingMessage,
    res: ServerResponse,
    transform?: (response: RawResponse) => RawResponse,
  ): void {
    // A request without a body (most GETs) is handled at once, without reading the stream.
    const length = req.headers['content-length'];
    if (
      (length === undefined || length === '0') &&
      req.headers['transfer-encoding'] === undefined
    ) {
      this.#respond(req, res, EMPTY, transform);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      if (over) return;
      size += chunk.length;
      if (size > config.max_body) {
        over = true;
        res
          .writeHead(413, { 'Content-Type': 'text/plain', Connection: 'close' })
          .end('payload too large');
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!over)
        this.#respond(
          req,
          res,
          chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks),
          transform,
        );
    });
    req.on('error', () => {
      if (!res.headersSent) res.writeHead(400).end();
    });
  }

  #respond(
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer,
    transform: ((response: RawResponse) => RawResponse) | undefined,
  ): void {
    const trust = config.trust_proxy;
    const socket = req.socket;
    const encrypted =
      'encrypted' in socket && Boolean((socket as { encrypted?: boolean }).encrypted);
    const handled = this.#handle({
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers: req.headers,
      lowerCaseHeaders: true,
      body,
      ip: clientAddress(socket.remoteAddress, req.headers, trust) ?? '',
      https: isSecureRequest(encrypted, req.headers, trust),
    });
    if (isPromise(handled)) handled.then((r) => this.#send(res, r, transform));
    else this.#send(res, handled, transform);
  }

  #send(
    res: ServerResponse,
    handled: RawResponse,
    transform: ((response: RawResponse) => RawResponse) | undefined,
  ): void {
    if (res.destroyed) return;
    const response = transform ? transform(handled) : handled;
    const status = response.status;
    const code = statusCode(status);
    const message = status.slice(String(code).length).trim() || undefined;
    const out: Record<string, string | string[]> = {};
    for (const [name, value] of response.headers) {
      const existing = out[name];
      if (existing === undefined) out[name] = value;
      else out[name] = Array.isArray(existing) ? [...existing, value] : [existing, value];
    }
    out['Content-Length'] = String(response.body.length);
    res.writeHead(code, message, out);
    res.end(response.body);
  }

  /**
   * Runs a request in-process, without a socket (web.py's `app.request`).
   * @example const r = await app.request('/login'); r.status === '303 See Other'
   */
  async request(path = '/', options: RequestOptions = {}): Promise<AppResponse> {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(options.headers ?? {})) headers[k.toLowerCase()] = v;
    headers.host ??= options.host ?? '0.0.0.0:8080';
    let body: Buffer | undefined;
    if (typeof options.data === 'string') body = Buffer.from(options.data);
    else if (options.data) {
      body = Buffer.from(new URLSearchParams(options.data).toString());
      headers['content-type'] ??= 'application/x-www-form-urlencoded';
    }
    const raw = await this.handle({
      method: options.method ?? (body ? 'POST' : 'GET'),
      url: path,
      headers,
      ...(body ? { body } : {}),
      ...(options.ip ? { ip: options.ip } : {}),
      https: options.https ?? false,
    });
    const byName: Record<string, string> = {};
    for (const [name, value] of raw.headers) byName[name] = value;
    return {
      status: raw.status,
      statusCode: statusCode(raw.status),
      headers: byName,
      headerList: raw.headers,
      data: raw.body.toString('utf8'),
    };
  }

  /** A client that keeps cookies between requests, like web.py's `app.browser()`. */
  browser(): Browser {
    return new Browser(this);
  }

  /**
   * Serves the application over HTTP, on the address given as the first command-line argument
   * (`8089` or `127.0.0.1:8089`), else on `0.0.0.0:8080`, as web.py's `app.run()`.
   *
   * With `web.config.debug` true, this process becomes the code reloader's supervisor: it runs
   * the same program in a child process that serves, and replaces that child when a source file
   * changes, handing sessions over (see docs/web.md, "Debug mode"). In the supervisor the
   * returned promise never settles; in the serving child it resolves with the server as usual.
   *
   * Before listening it checks the session store (`Store.ready`): a store that can never serve
   * (its table or driver missing) ends the process with one line on stderr saying what to do.
   */
  run(address: string | undefined = process.argv[2]): Promise<Server> {
    const parsed = parseAddress(address);
    if (!parsed) {
      return Promise.reject(
        new TypeError(
          `[websession] bad address ${JSON.stringify(address)}: expected PORT or HOST:PORT`,
        ),
      );
    }
    if (config.debug && shouldSupervise()) {
      return supervise({ ...parsed, watch: config.reload_paths });
    }
    return runStartChecks(this).then(
      () => this.#listen(parsed),
      (err: unknown) => {
        if (!(err instanceof ConfigError)) throw err;
        console.error(err.message);
        process.exit(1);
      },
    );
  }

  #listen(parsed: NonNullable<ReturnType<typeof parseAddress>>): Promise<Server> {
    const child = config.debug && isReloaderChild() ? ReloaderChild.get() : undefined;
    const server = createServer(
      child ? child.wrap(this.listener(child.transform)) : this.listener(),
    );
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(parsed.port, parsed.host, () => {
        server.off('error', reject);
        if (child) child.attach(server);
        else
          announce(
            parsed.host,
            (server.address() as { port?: number } | null)?.port ?? parsed.port,
          );
        resolve(server);
      });
    });
  }
}

/** A cookie-keeping client for an application (web.py's `app.browser()`). */
export class Browser {
  readonly #app: Application;
  /** Cookies kept between requests. */
  readonly cookies = new Map<string, string>();
  /** The last response. */
  last: AppResponse | undefined;

  constructor(app: Application) {
    this.#app = app;
  }

  /** Requests `path` with the kept cookies, stores new ones, and returns the response. */
  async open(path: string, options: RequestOptions = {}): Promise<AppResponse> {
    const headers = { ...(options.headers ?? {}) };
    if (this.cookies.size > 0) headers.cookie = stringifyCookie(Object.fromEntries(this.cookies));
    const response = await this.#app.request(path, { ...options, headers });
    for (const [name, value] of response.headerList) {
      if (name.toLowerCase() !== 'set-cookie') continue;
      const [pair, ...attrs] = value.split(';');
      const parsed = parseCookie(pair ?? '');
      const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a));
      for (const [k, v] of Object.entries(parsed)) {
        if (expired || v === undefined) this.cookies.delete(k);
        else this.cookies.set(k, v);
      }
    }
    this.last = response;
    return response;
  }
}

/** `web.application(urls, handlers)`: a new {@link Application}. */
export function application(
  urls: readonly (string | HandlerClass)[],
  handlers: Handlers | (() => Handlers) = {},
): Application {
  return new Application(urls, handlers);
}

/** True when the module whose `import.meta` is given is the program's entry point (`if __name__ == '__main__'`). */
export function isMain(meta: { url: string }): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    // `node app.ts` gives the file itself; `node app` (no extension) names it without one.
    const href = pathToFileURL(entry).href;
    return meta.url === href || meta.url.replace(/\.[cm]?[jt]s$/, '') === href;
  } catch {
    return false;
  }
}

/** A processor that runs `fn` before each request (web.py's `web.loadhook`). */
export function loadhook(fn: () => unknown): Processor {
  return async (handler) => {
    await fn();
    return handler();
  };
}

/** A processor that runs `fn` after each request, even a failed one (web.py's `web.unloadhook`). */
export function unloadhook(fn: () => unknown): Processor {
  return async (handler) => {
    try {
      return await handler();
    } finally {
      await fn();
    }
  };
}
