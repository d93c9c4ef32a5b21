/**
 * The context (`web.ctx`) a request starts with, made from the request as the application sees
 * it: its path decoded, its headers by lower-case name, its home URL, status `200 OK`.
 * @module
 */
import type { RequestContext } from './ctx.js';
import { EMPTY } from './response-body.js';
import type { RawRequest } from './types.js';

/** A new context for `raw`. */
export function contextOf(raw: RawRequest): RequestContext {
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
  return {
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
}
