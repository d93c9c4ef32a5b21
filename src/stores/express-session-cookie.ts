/**
 * express-session's signed cookie (`s:<id>.<signature>`, cookie-signature's HMAC-SHA256 in
 * base64 without padding), verified in constant time against each secret; and the id of the
 * websession session an express-session session moves into.
 * @module
 */
import { createHmac } from 'node:crypto';
import { sign, unsign } from 'cookie-signature';

/** An express-session secret: a string, or bytes (express-session takes both). */
export type ExpressSessionSecret = string | Buffer;

/** Longest express-session id taken (its own are 32 characters). */
const MAX_SID = 512;

/** What a cookie value verified to: the old session id and the secret that signed it. */
export interface ExpressSessionCookie {
  sid: string;
  secret: ExpressSessionSecret;
}

/** The express-session cookie value for `sid`, signed with `secret` as express-session signs it. */
export function signExpressSessionCookie(sid: string, secret: ExpressSessionSecret): string {
  return `s:${sign(sid, secret)}`;
}

/**
 * The old session id of an express-session cookie value, or undefined for anything that is not
 * one signed with one of `secrets` (malformed, forged, another secret). Never throws.
 */
export function verifyExpressSessionCookie(
  value: string,
  secrets: readonly ExpressSessionSecret[],
): ExpressSessionCookie | undefined {
  const signed = signedPart(value);
  if (signed === undefined) return undefined;
  for (const secret of secrets) {
    // unsign compares the whole signed value with crypto.timingSafeEqual.
    const sid = unsign(signed, secret);
    if (typeof sid === 'string' && sid.length > 0 && sid.length <= MAX_SID) return { sid, secret };
  }
  return undefined;
}

/**
 * The signed part (`<sid>.<signature>`) of an express-session cookie value, percent-encoded or
 * not, or undefined when the value is not of that form or too long. Nothing is verified.
 */
export function signedPart(value: string): string | undefined {
  if (value.length > 3 * (MAX_SID + 64)) return undefined;
  // express-session writes the value percent-encoded (`s%3A…`), as the cookie package does.
  const text = value.startsWith('s%3A') ? decoded(value) : value;
  if (text === undefined || !text.startsWith('s:') || text.length > MAX_SID + 64) return undefined;
  return text.slice(2);
}

/** `value` percent-decoded, or undefined when it is not well-formed percent-encoding. */
function decoded(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}

/**
 * The id (64 hex characters) of the websession session that the express-session session `sid`
 * moves into: an HMAC of the old id under the secret, so that every attempt to move one old
 * session (a retry after a crash, a concurrent request, another process, the CLI) names the same
 * new session, and create-only writes make it exactly one. Unguessable without the secret.
 */
export function movedSessionId(sid: string, secret: ExpressSessionSecret): string {
  return createHmac('sha256', secret)
    .update(`websession: moved from express-session\0${sid}`)
    .digest('hex');
}
