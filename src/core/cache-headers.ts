/**
 * Cache headers of session responses: a response that sets the session cookie must not be stored
 * by a shared cache (`Cache-Control: private, no-store`, unless the application chose its own),
 * and one whose content depends on the session (the handler read it) must name `Cookie` in
 * `Vary`. Shared by every adapter and the web layer.
 * @module
 */
import { sessionState } from './session.js';

/** The Cache-Control of a response that sets the session cookie. */
export const SESSION_CACHE_CONTROL = 'private, no-store';

/**
 * The Vary value to set so that it names Cookie, given the one the response has; undefined when
 * it names Cookie (or `*`) already.
 */
export function varyWithCookie(
  previous: string | number | readonly string[] | null | undefined,
): string | undefined {
  if (previous === undefined || previous === null || previous === '') return 'Cookie';
  const text = Array.isArray(previous) ? previous.join(', ') : String(previous);
  for (const part of text.split(',')) {
    const name = part.trim().toLowerCase();
    if (name === 'cookie' || name === '*') return undefined;
  }
  return text.trim() === '' ? 'Cookie' : `${text}, Cookie`;
}

/** True when the request's handler read the session (the response then depends on the cookie). */
export function sessionWasRead(session: unknown): boolean {
  return sessionState(session)?.read === true;
}

/** Header access of a node-style response (`ServerResponse` and the frameworks built on it). */
export interface ResponseHeaders {
  getHeader(name: string): string | number | readonly string[] | null | undefined;
  setHeader(name: string, value: string): unknown;
}

/**
 * Adds the cache headers of a session response through a framework's header accessors:
 * Cache-Control when `setCookie` is given and none is set, Vary: Cookie when `read`.
 */
export function addCacheHeaders(
  get: (name: string) => string | number | readonly string[] | null | undefined,
  set: (name: string, value: string) => void,
  setCookie: string | undefined,
  read: boolean,
): void {
  addResponseCacheHeaders({ getHeader: get, setHeader: set }, setCookie, read);
}

/** {@link addCacheHeaders} on a node-style response, through its own getHeader and setHeader. */
export function addResponseCacheHeaders(
  res: ResponseHeaders,
  setCookie: string | undefined,
  read: boolean,
): void {
  if (setCookie !== undefined) {
    const cc = res.getHeader('cache-control');
    if (cc === undefined || cc === null || cc === '')
      res.setHeader('Cache-Control', SESSION_CACHE_CONTROL);
  }
  if (read) {
    const vary = varyWithCookie(res.getHeader('vary'));
    if (vary !== undefined) res.setHeader('Vary', vary);
  }
}
