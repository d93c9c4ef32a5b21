/**
 * The shapes the web layer's modules share: handler classes, processors, and the request and
 * response as the application sees them. Here rather than in application.ts so that the modules
 * application.ts uses (the error page, the reloader, the session processor) need not import it.
 * @module
 */
import type { Awaitable } from '../core/awaitable.js';
import type { RequestContext } from './ctx.js';

/** An instance of a handler class: any of its `GET`, `POST`, … methods answer that method. */
export type HandlerInstance = object;
/** A handler class (web.py's `class Index: def GET(self): …`). */
export type HandlerClass = new () => HandlerInstance;
/** Handler classes by the names used in `urls` (web.py's `globals()`). */
export type Handlers = Record<string, HandlerClass>;
/**
 * What a processor wraps: the rest of the request, returning the handler's result: the value
 * itself when every processor and the handler answered at once, else a promise (`await` it).
 */
export type NextHandler = () => Awaitable<unknown>;
/** A processor (web.py's `app.add_processor`): runs around every request and returns `handler()`'s result. */
export type Processor = (handler: NextHandler) => unknown;

/** A request as the application sees it, from a socket or from `app.request`. */
export interface RawRequest {
  method: string;
  /** Path and query string. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body?: Buffer;
  ip?: string;
  https?: boolean;
  /** The header names are lower case already (as Node gives them). */
  lowerCaseHeaders?: boolean;
}

/** A response as the application produces it. */
export interface RawResponse {
  /** Status line, e.g. `200 OK`. */
  status: string;
  headers: [string, string][];
  body: Buffer;
}

/** Called for errors that are not HTTP answers; returns the response to send. */
export type ErrorRenderer = (error: unknown, context: RequestContext) => RawResponse | undefined;
