/**
 * `web.application`: web.py's URL mapping of regexes to handler classes with `GET`/`POST`
 * methods, processors around every request, `app.run()` and in-process `app.request()`.
 * The application object holds them together; each part is in a file of its own.
 * @module
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { parseCookie, stringifyCookie } from 'cookie';
import { type Awaitable, isPromise } from '../core/awaitable.js';
import { runWithContext } from './ctx.js';
import { errorResponse } from './error-response.js';
import { handlerResponse } from './handler-response.js';
import { type AppResponse, type RequestOptions, requestInProcess } from './in-process-request.js';
import { nodeListener } from './node-listener.js';
import { ProcessorChain } from './processor-chain.js';
import { contextOf } from './request-context.js';
import { runServer } from './run-server.js';
import type {
  ErrorRenderer,
  HandlerClass,
  Handlers,
  Processor,
  RawRequest,
  RawResponse,
} from './types.js';
import { UrlMapping } from './url-mapping.js';

/**
 * A web.py application.
 *
 * @example
 * const urls = ['/', 'Index', '/hello/(.*)', 'Hello'];
 * const app = web.application(urls, () => ({ Index, Hello }));
 */
export class Application {
  readonly #processors: ProcessorChain;
  /**
   * Renders unexpected errors (not HTTP answers). Unset, debug mode uses `web.debugerror`
   * (the error page) and otherwise the answer is a plain 500.
   */
  errorRenderer: ErrorRenderer | undefined;

  constructor(
    urls: readonly (string | HandlerClass)[],
    handlers: Handlers | (() => Handlers) = {},
  ) {
    const mapping = new UrlMapping(urls, handlers);
    this.#processors = new ProcessorChain((context) => mapping.dispatch(context));
  }

  /** Adds a processor around every request (web.py's `app.add_processor`). */
  add_processor(processor: Processor): void {
    this.#processors.add(processor);
  }

  /**
   * Adds or replaces a processor registered under `name`: registering again (as reloaded code
   * does) replaces it in place instead of adding a second one.
   */
  set_processor(name: string, processor: Processor): void {
    this.#processors.set(name, processor);
  }

  /** Handles one request through the processors and the handler. Never rejects. */
  handle(raw: RawRequest): Promise<RawResponse> {
    return Promise.resolve(this.#handle(raw));
  }

  /** {@link handle}, answering at once when every processor and the handler did. */
  #handle(raw: RawRequest): Awaitable<RawResponse> {
    const context = contextOf(raw);
    return runWithContext(context, () => {
      let result: Awaitable<unknown>;
      try {
        result = this.#processors.run(context);
      } catch (err) {
        return errorResponse(err, context, this);
      }
      return isPromise(result)
        ? result.then(
            (value) => handlerResponse(value, context, this),
            (err: unknown) => errorResponse(err, context, this),
          )
        : handlerResponse(result, context, this);
    });
  }

  /**
   * A `(req, res)` listener for `http.createServer`.
   * @param transform changes each response before it is sent (the reloader's error banner uses it).
   */
  listener(
    transform?: (response: RawResponse) => RawResponse,
  ): (req: IncomingMessage, res: ServerResponse) => void {
    return nodeListener((raw) => this.#handle(raw), transform);
  }

  /**
   * Runs a request in-process, without a socket (web.py's `app.request`).
   * @example const r = await app.request('/login'); r.status === '303 See Other'
   */
  request(path = '/', options: RequestOptions = {}): Promise<AppResponse> {
    return requestInProcess((raw) => this.handle(raw), path, options);
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
    return runServer(this, address, (transform) => this.listener(transform));
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
