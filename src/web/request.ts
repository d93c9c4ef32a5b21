/**
 * Request helpers of the web layer: `cookies()`, `setcookie()`, `input()`, `header()`.
 * @module
 */
import { parseCookie, stringifySetCookie } from 'cookie';
import { MAX_COOKIE_HEADER } from '../core/cookie.js';
import { getContext } from './ctx.js';

/** The request's cookies (web.py's `web.cookies()`), with `defaults` for missing ones. */
export function cookies(defaults: Record<string, string> = {}): Record<string, string> {
  const header = getContext().env.cookie;
  const out: Record<string, string> = { ...defaults };
  if (!header || header.length > MAX_COOKIE_HEADER) return out;
  try {
    for (const [name, value] of Object.entries(parseCookie(header)))
      if (value !== undefined) out[name] = value;
  } catch {
    // garbled header: no cookies
  }
  return out;
}

/** Options of {@link setcookie}. */
export interface SetCookieOptions {
  /** Seconds from now (negative deletes the cookie), or a Date. Default: a browser-session cookie. */
  expires?: number | Date | '';
  domain?: string;
  secure?: boolean;
  httponly?: boolean;
  path?: string;
  samesite?: 'Lax' | 'Strict' | 'None' | 'lax' | 'strict' | 'none';
}

/** Adds a Set-Cookie header to the response (web.py's `web.setcookie`). */
export function setcookie(name: string, value: string, options: SetCookieOptions = {}): void {
  let expires: Date | undefined;
  let maxAge: number | undefined;
  if (options.expires instanceof Date) expires = options.expires;
  else if (typeof options.expires === 'number') {
    if (options.expires < 0) {
      expires = new Date(0);
      maxAge = 0;
    } else {
      expires = new Date(Date.now() + options.expires * 1000);
      maxAge = Math.floor(options.expires);
    }
  }
  const sameSite = options.samesite?.toLowerCase() as 'lax' | 'strict' | 'none' | undefined;
  header(
    'Set-Cookie',
    stringifySetCookie(name, value, {
      expires,
      maxAge,
      domain: options.domain,
      secure: options.secure,
      httpOnly: options.httponly,
      path: options.path ?? '/',
      sameSite,
    }),
  );
}

/** Adds a response header; with `unique`, replaces an earlier one of the same name. */
export function header(name: string, value: string, unique = false): void {
  if (/[\r\n]/.test(name) || /[\r\n]/.test(value))
    throw new TypeError('[websession] header names and values cannot contain newlines');
  const headers = getContext().headers;
  if (unique) {
    const lower = name.toLowerCase();
    for (let i = headers.length - 1; i >= 0; i--)
      if (headers[i]![0].toLowerCase() === lower) headers.splice(i, 1);
  }
  headers.push([name, value]);
}

/** Input values: query string and url-encoded form body (web.py's `web.input()`). */
export function input<D extends Record<string, string | string[]>>(
  defaults?: D,
): Record<string, string | string[]> & D {
  const context = getContext();
  const out: Record<string, string | string[]> = { ...(defaults ?? {}) };
  const add = (params: URLSearchParams) => {
    for (const key of new Set(params.keys())) {
      if (key === '__proto__') continue;
      out[key] = Array.isArray(defaults?.[key])
        ? params.getAll(key)
        : (params.getAll(key).at(-1) ?? '');
    }
  };
  add(new URLSearchParams(context.query));
  const type = context.env['content-type'] ?? '';
  if (context.body.length > 0 && type.startsWith('application/x-www-form-urlencoded')) {
    add(new URLSearchParams(context.body.toString('utf8')));
  }
  return out as Record<string, string | string[]> & D;
}

/** The raw request body as text (web.py's `web.data()`). */
export function data(): string {
  return getContext().body.toString('utf8');
}
