/**
 * The session `show` and `kill` act on: a store key, or a cookie value.
 * @module
 */
import { verifyCookieValue } from '../core/cookie.js';
import { isValidSessionId, storeKey } from '../core/id.js';
import { UsageError } from './errors.js';
import type { Io } from './io.js';
import type { Values } from './options.js';

/**
 * The cookie value `show` and `kill` look a session up by: `--cookie -` reads it from stdin, and
 * WEBSESSION_COOKIE holds it when no key is given; both keep a live cookie out of the process
 * list, where `--cookie <value>` puts it (still accepted, with a warning).
 */
async function cookieArg(
  values: Values,
  positional: string | undefined,
  io: Io,
): Promise<string | undefined> {
  const given = values.cookie as string | undefined;
  if (given === '-') {
    let text = '';
    for await (const chunk of io.in ?? process.stdin) text += String(chunk);
    return text.trim();
  }
  if (given !== undefined) {
    io.err.write(
      'websession: warning: a cookie on the command line is visible in the process list; use --cookie - (stdin) or WEBSESSION_COOKIE\n',
    );
    return given;
  }
  return positional === undefined ? process.env.WEBSESSION_COOKIE || undefined : undefined;
}

function keyArg(positional: string | undefined, cookie: string | undefined): string {
  if (cookie !== undefined) {
    const verified = verifyCookieValue(cookie, []) ?? verifyCookieValue(cookie.split('.')[0], []);
    if (!verified)
      throw new UsageError('--cookie must be a session cookie value (64 hex characters)');
    return storeKey(verified.id);
  }
  if (!positional)
    throw new UsageError(
      'missing <key> (a store key, as `list` prints), --cookie - (its cookie on stdin) or WEBSESSION_COOKIE',
    );
  if (!isValidSessionId(positional))
    throw new UsageError(`not a store key: ${JSON.stringify(positional)}`);
  return positional;
}

/** The store key of the session named by the first positional or by a cookie value. */
export async function sessionKeyArg(
  values: Values,
  positionals: string[],
  io: Io,
): Promise<string> {
  return keyArg(positionals[0], await cookieArg(values, positionals[0], io));
}
