/**
 * Reading a store URL: its syntax, its query parameters (positive numbers, flags, unknown names
 * refused), and its text without the password, for messages. Shared by url.ts and the stores
 * that read their own URLs (redis-options.ts), which url.ts in turn opens.
 * @module
 */
import { ConfigError } from '../core/errors.js';

/** Query parameters that carry a password (the drivers read `password` from a URL). */
const PASSWORD_PARAM = /([?&;]\s*(?:password|passwd|pass|pwd|pw|sslpassword)\s*=).*$/is;

/**
 * A URL with its password masked, for every message, log line and error that names a URL.
 * Textual, so that it holds for any text, parsable or not (a raw `/`, `?`, `#` or `@` in the
 * password, a leading space, no `//`): everything after the user name (the first `:` after
 * `scheme://`) up to the last `@` becomes `***` (a user name alone stays, but for Redis), and so
 * does everything after a `password=` parameter. An `@` that is not the user info's end hides
 * more than needed: a message may show less, never a password.
 */
export function shown(raw: unknown): string {
  // A password parameter hides the rest of the text (its value may hold a raw "&" or "@").
  const text = (typeof raw === 'string' ? raw : String(raw)).replace(PASSWORD_PARAM, '$1***');
  let out = text;
  // The user info starts after `scheme://`; without the slashes, right after the scheme (or the
  // first `:`), and then all of it up to the last `@` is masked: there is no user name to keep.
  const authority = /^\s*[a-z][a-z0-9+.-]*:\/\//i.exec(text);
  const start = authority ? authority[0].length : text.indexOf(':') + 1;
  const at = text.lastIndexOf('@');
  if (at >= start) {
    const colon = authority ? text.indexOf(':', start) : -1;
    if (colon >= 0 && colon < at) out = `${text.slice(0, colon + 1)}***${text.slice(at)}`;
    // A user name alone is shown, except for Redis (whose older clients read it as a password).
    else if (!authority || /^\s*rediss?:/i.test(text))
      out = `${text.slice(0, start)}***${text.slice(at)}`;
  }
  return out;
}

/** Schemes whose URLs name a server (and may carry a user and password). */
const SERVER_SCHEMES = /^\s*(?:postgres|postgresql|mysql|mariadb|redis|rediss):/i;

/**
 * Refuses a server URL whose user info is ambiguous: an `@` after the host (a password with a
 * raw `/`, `?` or `#` ends the host early, so part of it would be taken for the host, port or
 * database, reach the server and come back in its messages), or no `//` at all.
 */
function refuseAmbiguous(raw: string): void {
  if (!SERVER_SCHEMES.test(raw)) return;
  const authority = /^\s*[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(raw);
  const fix =
    'write a "/", "?", "#" or "@" in the user name or password as %2F, %3F, %23, %40 (and an "@" in a parameter as %40)';
  if (!authority)
    throw new ConfigError(
      `bad store URL ${JSON.stringify(shown(raw))}: a server URL starts with scheme://[user[:password]@]host`,
    );
  const rest = raw.slice(authority[0].length);
  const host = authority[1] as string;
  if (rest.includes('@') && (host.includes(':') || host.includes('@')))
    throw new ConfigError(
      `bad store URL ${JSON.stringify(shown(raw))}: an "@" after the host; ${fix}`,
    );
}

/** A store URL parsed, and its scheme in lower case without the colon. */
export function parseUrl(raw: string): { url: URL; scheme: string } {
  if (typeof raw !== 'string' || !/^[a-z][a-z0-9+.-]*:/i.test(raw)) {
    throw new ConfigError(
      `bad store URL ${JSON.stringify(shown(raw))}: expected e.g. memory:, disk:./sessions, sqlite:./sessions.db, shelf:./sessions.shelf, redis://host:6379/0`,
    );
  }
  refuseAmbiguous(raw);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`bad store URL ${JSON.stringify(shown(raw))}`);
  }
  return { url, scheme: url.protocol.slice(0, -1).toLowerCase() };
}

/**
 * Refuses a query parameter not in `known`: one line, naming it and the known ones (the first
 * `own` of them the store's own, the rest its driver's).
 */
export function refuseUnknown(
  raw: string,
  url: URL,
  scheme: string,
  known: readonly string[],
  own = known.length,
): void {
  for (const name of new Set(url.searchParams.keys())) {
    if (known.includes(name)) continue;
    const ownNames = known.slice(0, own);
    const driver = known.length > own ? ` (and the driver's: ${known.slice(own).join(', ')})` : '';
    throw new ConfigError(
      `unknown parameter "${name}" in store URL ${JSON.stringify(shown(raw))}; ${scheme}: URLs take ${ownNames.length ? ownNames.join(', ') : 'no parameters'}${driver}`,
    );
  }
}

/** The positive number parameter `name`, if given. */
export function positive(raw: string, url: URL, name: string): number | undefined {
  const value = url.searchParams.get(name);
  if (value === null) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0)
    throw new ConfigError(
      `bad ${name}=${JSON.stringify(value)} in store URL ${JSON.stringify(shown(raw))}: expected a positive number`,
    );
  return n;
}

/** The flag parameter `name` (1/true/yes/empty or 0/false/no), if given. */
export function flag(raw: string, url: URL, name: string): boolean | undefined {
  const value = url.searchParams.get(name);
  if (value === null) return undefined;
  if (['1', 'true', 'yes', ''].includes(value)) return true;
  if (['0', 'false', 'no'].includes(value)) return false;
  throw new ConfigError(
    `bad ${name}=${JSON.stringify(value)} in store URL ${JSON.stringify(shown(raw))}: expected 1 or 0`,
  );
}
