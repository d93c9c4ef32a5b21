/**
 * Reading a store URL: its syntax, its query parameters (positive numbers, flags, unknown names
 * refused), and its text without the password, for messages. Shared by url.ts and the stores
 * that read their own URLs (redis-options.ts), which url.ts in turn opens.
 * @module
 */
import { ConfigError } from '../core/errors.js';

/** A URL without its password, for messages. */
export function shown(raw: string): string {
  return raw.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/?#@]*):[^@/?#]*@/i, '$1:***@');
}

/** A store URL parsed, and its scheme in lower case without the colon. */
export function parseUrl(raw: string): { url: URL; scheme: string } {
  if (typeof raw !== 'string' || !/^[a-z][a-z0-9+.-]*:/i.test(raw)) {
    throw new ConfigError(
      `bad store URL ${JSON.stringify(raw)}: expected e.g. memory:, disk:./sessions, sqlite:./sessions.db, shelf:./sessions.shelf, redis://host:6379/0`,
    );
  }
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
