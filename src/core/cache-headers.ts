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
  if (setCookie !== undefined) {
    const cc = get('cache-control');
    if (cc === undefined || cc === null || cc === '') set('Cache-Control', SESSION_CACHE_CONTROL);
  }
  if (read) {
    const vary = varyWithCookie(get('vary'));
    if (vary !== undefined) set('Vary', vary);
  }
}
