/**
 * HTTP errors of the web layer, as web.py's: thrown from a handler, they become the response.
 * @module
 */

/** Status lines by code. */
export const STATUS_TEXT: Readonly<Record<number, string>> = {
  200: 'OK',
  201: 'Created',
  202: 'Accepted',
  204: 'No Content',
  301: 'Moved Permanently',
  302: 'Found',
  303: 'See Other',
  304: 'Not Modified',
  307: 'Temporary Redirect',
  308: 'Permanent Redirect',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  410: 'Gone',
  412: 'Precondition Failed',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

/** `303` → `303 See Other`; a full status line is kept as it is. */
export function statusLine(status: number | string): string {
  if (typeof status === 'string') return status;
  return `${status} ${STATUS_TEXT[status] ?? 'Unknown'}`;
}

/** The numeric code of a status line (`303 See Other` → 303). */
export function statusCode(status: string): number {
  const code = Number.parseInt(status, 10);
  return Number.isInteger(code) && code >= 100 && code <= 999 ? code : 500;
}

/** An HTTP answer thrown from a handler: `throw new HTTPError('404 Not Found', {}, 'gone')`. */
export class HTTPError extends Error {
  /** Status line, e.g. `404 Not Found`. */
  readonly status: string;
  /** Extra response headers. */
  readonly headers: Record<string, string>;
  /** Response body. */
  readonly data: string;
  constructor(
    status: number | string,
    headers: Record<string, string> = {},
    data = '',
    options?: { cause?: unknown },
  ) {
    super(statusLine(status), options);
    this.name = 'HTTPError';
    this.status = statusLine(status);
    this.headers = headers;
    this.data = data;
  }
}

/** A redirect. `url` is resolved against the request path and made absolute with `ctx.home`, as web.py does. */
export class Redirect extends HTTPError {
  /** The URL as given (before resolution). */
  readonly url: string;
  constructor(url: string, status: number | string = '301 Moved Permanently') {
    super(status, { 'Content-Type': 'text/html' }, '');
    this.name = 'Redirect';
    this.url = url;
  }
}

/** `301 Moved Permanently` to `url`. */
export const redirect = (url: string, status: number | string = 301): Redirect =>
  new Redirect(url, status);
/** `302 Found` to `url`. */
export const found = (url: string): Redirect => new Redirect(url, 302);
/** `303 See Other` to `url`: the answer to a POST (and web.py's favourite). */
export const seeother = (url: string): Redirect => new Redirect(url, 303);
/** `307 Temporary Redirect` to `url`. */
export const tempredirect = (url: string): Redirect => new Redirect(url, 307);
/** `404 Not Found`. */
export const notfound = (message = 'not found'): HTTPError =>
  new HTTPError(404, { 'Content-Type': 'text/html' }, message);
/** `400 Bad Request`. */
export const badrequest = (message = 'bad request'): HTTPError =>
  new HTTPError(400, { 'Content-Type': 'text/html' }, message);
/** `401 Unauthorized`. */
export const unauthorized = (message = 'unauthorized'): HTTPError =>
  new HTTPError(401, { 'Content-Type': 'text/html' }, message);
/** `403 Forbidden`. */
export const forbidden = (message = 'forbidden'): HTTPError =>
  new HTTPError(403, { 'Content-Type': 'text/html' }, message);
/** `405 Method Not Allowed`, with `Allow` listing `methods`. */
export const nomethod = (methods: readonly string[] = []): HTTPError =>
  new HTTPError(
    405,
    { 'Content-Type': 'text/html', Allow: methods.join(', ') },
    'method not allowed',
  );
/** `500 Internal Server Error`. */
export const internalerror = (message = 'internal server error'): HTTPError =>
  new HTTPError(500, { 'Content-Type': 'text/html' }, message);
