/**
 * A request run in-process, without a socket (web.py's `app.request`), and its answer shaped
 * like web.py's.
 * @module
 */
import { statusCode } from './http.js';
import type { RawRequest, RawResponse } from './types.js';

/** The answer of `app.request()`, shaped like web.py's. */
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

/** Options of `app.request()`. */
export interface RequestOptions {
  method?: string;
  /** Body: a string, or an object sent url-encoded. */
  data?: string | Record<string, string>;
  headers?: Record<string, string>;
  host?: string;
  https?: boolean;
  ip?: string;
}

/** Runs a request for `path` through `handle` (the application's); its answer. */
export async function requestInProcess(
  handle: (raw: RawRequest) => Promise<RawResponse>,
  path: string,
  options: RequestOptions,
): Promise<AppResponse> {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(options.headers ?? {})) headers[k.toLowerCase()] = v;
  headers.host ??= options.host ?? '0.0.0.0:8080';
  let body: Buffer | undefined;
  if (typeof options.data === 'string') body = Buffer.from(options.data);
  else if (options.data) {
    body = Buffer.from(new URLSearchParams(options.data).toString());
    headers['content-type'] ??= 'application/x-www-form-urlencoded';
  }
  const raw = await handle({
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
