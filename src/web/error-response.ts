/**
 * The response to a request whose processors or handler threw: an HTTP answer (`notfound()`,
 * `seeother()`, …) as it says, a session's failure (an expired session, a store down) as the
 * session layer answers it, anything else through the application's error renderer, the debug
 * page, or a plain 500.
 * @module
 */
import { errorAnswer } from '../core/error-answer.js';
import { StoreError, WebSessionError } from '../core/errors.js';
import { config } from './config.js';
import type { RequestContext } from './ctx.js';
import { debugerror } from './debugerror.js';
import { HTTPError, Redirect, statusLine } from './http.js';
import { toBuffer } from './response-body.js';
import { storeFailureLogger } from './store-failure-logger.js';
import type { ErrorRenderer, RawResponse } from './types.js';

/** The application whose request failed: its error renderer, and the key of its failure logger. */
export interface FailingApplication {
  readonly errorRenderer: ErrorRenderer | undefined;
}

/** A redirect's Location: absolute, from a URL relative to the request's path or home. */
function redirectLocation(err: Redirect, context: RequestContext): string {
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

/** The response of a request whose processors or handler threw `err`. */
export function errorResponse(
  err: unknown,
  context: RequestContext,
  app: FailingApplication,
): RawResponse {
  if (err instanceof HTTPError) {
    context.status = err.status;
    for (const [name, value] of Object.entries(err.headers)) context.headers.push([name, value]);
    if (err instanceof Redirect) context.headers.push(['Location', redirectLocation(err, context)]);
    return {
      status: err.status,
      headers: context.headers,
      body: toBuffer(context.method === 'HEAD' ? '' : err.data),
    };
  }
  // Cookies set before the failure (the session's among them) still go out, as web.py's do.
  const cookies = context.headers.filter(([n]) => n.toLowerCase() === 'set-cookie');
  const answer = errorAnswer(err, storeFailureLogger(app));
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
  const custom = (app.errorRenderer ?? (config.debug ? debugerror : undefined))?.(err, context);
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
