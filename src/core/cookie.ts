/**
 * The session cookie: reading it out of a Cookie header (with the `cookie` package), signing and
 * verifying it, and writing the Set-Cookie value.
 * @module
 */
import { createHmac, createSecretKey, type KeyObject, timingSafeEqual } from 'node:crypto';
import { stringifySetCookie } from 'cookie';
import { LRUCache } from 'lru-cache';
import { isValidSessionId, storeKey } from './id.js';

/** lru-cache's default get options, passed so that it does not make an empty object per call. */
const AS_IS = Object.freeze({});

/** Most bytes of one cookie, name and value together (what every browser keeps). */
export const MAX_COOKIE_BYTES = 4096;

/** The longest cookie Max-Age a browser keeps: 400 days (RFC 6265bis, section 5.6.2), in seconds. */
export const MAX_COOKIE_AGE = 400 * 86400;

/** Cookie headers longer than this are not parsed at all (treated as carrying no session). */
export const MAX_COOKIE_HEADER = 16384;

/** Attributes of the Set-Cookie header, resolved from the session config. */
export interface CookieOptions {
  name: string;
  domain?: string | undefined;
  path: string;
  httpOnly: boolean;
  secure: boolean;
  sameSite?: 'lax' | 'strict' | 'none' | undefined;
  /** Max-Age in seconds; undefined for a browser-session cookie. */
  maxAge?: number | undefined;
}

/**
 * The value of cookie `name` in a Cookie header (its first, as browsers send the most specific
 * first), exactly as written, or undefined. Never throws: an oversized or garbled header yields
 * undefined. See {@link readCookies} for the one rule of reading the session cookie.
 */
export function readCookie(header: string | undefined | null, name: string): string | undefined {
  if (!header || header.length > MAX_COOKIE_HEADER || name === '') return undefined;
  for (let at = header.indexOf(name); at >= 0; ) {
    const end = partEnd(header, at);
    const value = valueIn(header, name, at, end);
    if (value !== undefined) return value;
    at = header.indexOf(name, end);
  }
  return undefined;
}

/**
 * Every value of cookie `name` in a Cookie header, in header order, at most `max` of them (a
 * browser sends one cookie per name, domain and path: a cookie planted for a parent domain or a
 * longer path comes with the real one). Values are taken exactly as written (only the spaces
 * around them trimmed): never unquoted nor percent-decoded, so a session cookie is accepted in
 * the one spelling websession writes, on every path that reads it (every adapter, the web
 * layer, CookieStore and the CLI). An empty name finds nothing. Never throws.
 */
export function readCookies(
  header: string | undefined | null,
  name: string,
  max = Number.POSITIVE_INFINITY,
): string[] {
  const out: string[] = [];
  if (!header || header.length > MAX_COOKIE_HEADER || name === '') return out;
  // Only the `;`-separated parts that contain the name can carry it: they are found with
  // indexOf rather than by splitting the whole header (browsers send many other cookies).
  for (let at = header.indexOf(name); at >= 0 && out.length < max; ) {
    const end = partEnd(header, at);
    const value = valueIn(header, name, at, end);
    if (value !== undefined) out.push(value);
    at = header.indexOf(name, end);
  }
  return out;
}

/** Where the `;`-separated part of `header` holding index `at` ends. */
function partEnd(header: string, at: number): number {
  const end = header.indexOf(';', at);
  return end < 0 ? header.length : end;
}

/**
 * The value of the part of `header` holding index `at` (it ends at `end`, see {@link partEnd}),
 * when that part is cookie `name`.
 */
function valueIn(header: string, name: string, at: number, end: number): string | undefined {
  const start = header.lastIndexOf(';', at) + 1;
  const eq = header.indexOf('=', start);
  if (eq < 0 || eq >= end) return undefined;
  // The name as written, or with spaces around it (the slower test).
  const named =
    (eq - start === name.length && header.startsWith(name, start)) ||
    header.slice(start, eq).trim() === name;
  return named ? header.slice(eq + 1, end).trim() : undefined;
}

/** How many values of a repeated session cookie are looked up, at most. */
export const MAX_CANDIDATES = 3;

/**
 * How many values of a repeated session cookie get a full signature check (an HMAC per secret
 * key), at most: 16 KB of forged values would otherwise cost ~150 HMACs a request. Values this
 * process issued or verified lately are recognised without one and do not count.
 */
export const MAX_SIGNATURE_CHECKS = 8;

/** True when cookie `name` may appear more than once in `header` (a cheap, conservative test). */
export function mayRepeat(header: string | undefined | null, name: string): boolean {
  if (!header) return false;
  const first = header.indexOf(name);
  return first >= 0 && header.indexOf(name, first + name.length) >= 0;
}

const keyObjects = new Map<string, KeyObject>();

function mac(id: string, key: string): string {
  // A KeyObject per secret, made once: createHmac with a string key re-imports it every call.
  let keyObject = keyObjects.get(key);
  if (!keyObject) {
    keyObject = createSecretKey(Buffer.from(key, 'utf8'));
    if (keyObjects.size < 64) keyObjects.set(key, keyObject);
  }
  return createHmac('sha256', keyObject).update(id).digest('base64url');
}

/** The cookie value for `id`: the id alone, or `id.hmac` signed with the newest key. */
export function signId(id: string, keys: readonly string[]): string {
  const key = keys[0];
  return key === undefined ? id : `${id}.${mac(id, key)}`;
}

/** What a cookie value verified to. */
export interface VerifiedId {
  id: string;
  /** True when the value was signed with an older key and should be re-sent signed anew. */
  stale: boolean;
}

/**
 * Checks a cookie value's form (and signature, when keys are given) before anything touches a
 * store. Returns undefined for every value that is not a valid id signed with one of `keys`.
 * Signature comparison is constant-time.
 */
export function verifyCookieValue(
  value: string | undefined,
  keys: readonly string[],
): VerifiedId | undefined {
  if (value === undefined) return undefined;
  if (keys.length === 0) return isValidSessionId(value) ? { id: value, stale: false } : undefined;
  // 64 hex + '.' + 43 base64url characters
  if (value.length !== 108 || value.charCodeAt(64) !== 46) return undefined;
  const id = value.slice(0, 64);
  if (!isValidSessionId(id)) return undefined;
  const given = Buffer.from(value.slice(65), 'utf8');
  let found = -1;
  for (let i = 0; i < keys.length; i++) {
    const expected = Buffer.from(mac(id, keys[i] as string), 'utf8');
    // Check every key (no early exit) so timing does not tell which key matched.
    if (expected.length === given.length && timingSafeEqual(expected, given) && found < 0)
      found = i;
  }
  return found < 0 ? undefined : { id, stale: found > 0 };
}

/** A cookie value verified, with its store key. */
export type VerifiedKey = Readonly<VerifiedId & { key: string }>;

/** What {@link IdCache} keeps for one id: its answer, and its signature under the newest key. */
interface CachedId {
  /** The answer to a cookie of this id signed with the newest key (shared: never changed). */
  verified: VerifiedKey;
  /** base64url HMAC under the newest key, as bytes; undefined when cookies are not signed. */
  mac: Buffer | undefined;
}

/** The length of a signature (base64url HMAC-SHA256) in a signed cookie value. */
const MAC_LENGTH = 43;

/**
 * Where a cookie's signature is written as bytes to be compared with the one remembered: one
 * buffer for the process (the comparison is synchronous), rather than a new one per request.
 * Longer than a signature, so that a value whose UTF-8 is longer is seen to be.
 */
const givenMac = Buffer.alloc(MAC_LENGTH * 3);
const givenMacView = givenMac.subarray(0, MAC_LENGTH);

/** True when `signature` is, as UTF-8, byte for byte `expected` (constant-time compare). */
function sameMac(signature: string, expected: Buffer): boolean {
  const n = givenMac.write(signature, 'utf8');
  return (
    n === MAC_LENGTH && expected.length === MAC_LENGTH && timingSafeEqual(givenMacView, expected)
  );
}

/**
 * A bounded memo of the two digests every request of an existing session would compute again: the
 * cookie's HMAC (under OpenSSL 3 an HMAC costs several µs, most of it in setup) and the SHA-256
 * store key. Keyed by the id; a cookie is accepted from it only when its signature is
 * constant-time equal to the one remembered, so it accepts exactly what
 * {@link verifyCookieValue} accepts with the newest key. Older keys always take the full path.
 * The least recently used entry goes first; a manager keeps one per secret list.
 */
export class IdCache {
  readonly #map: LRUCache<string, CachedId>;
  readonly #keys: readonly string[];

  constructor(keys: readonly string[], max = 10_000) {
    this.#keys = keys;
    this.#map = new LRUCache({ max });
  }

  /**
   * The value verified from the memo alone (an id this process issued or verified lately, with
   * the very signature remembered), or undefined: no HMAC is computed.
   */
  known(value: string | undefined): VerifiedKey | undefined {
    if (value === undefined) return undefined;
    const signed = this.#keys.length > 0;
    if (signed ? value.length !== 108 : value.length !== 64) return undefined;
    const hit = this.#map.get(signed ? value.slice(0, 64) : value, AS_IS);
    if (!hit) return undefined;
    if (!signed) return hit.verified;
    return hit.mac && sameMac(value.slice(65), hit.mac) ? hit.verified : undefined;
  }

  /** Verifies a cookie value as {@link verifyCookieValue} does, and adds its store key. */
  verify(value: string | undefined): VerifiedKey | undefined {
    const hit = this.known(value);
    if (hit || value === undefined) return hit;
    const given =
      this.#keys.length > 0 && value.length === 108
        ? Buffer.from(value.slice(65), 'utf8')
        : undefined;
    const verified = verifyCookieValue(value, this.#keys);
    if (!verified) return undefined;
    const key = storeKey(verified.id);
    const answer = { ...verified, key };
    if (!verified.stale) this.#remember(answer, given);
    return answer;
  }

  /** The cookie value for a (new or regenerated) id, signed with the newest key, remembered. */
  sign(id: string, key: string): string {
    const value = signId(id, this.#keys);
    if (!this.#map.has(id))
      this.#remember(
        { id, stale: false, key },
        value === id ? undefined : Buffer.from(value.slice(65), 'utf8'),
      );
    return value;
  }

  #remember(verified: VerifiedKey, mac: Buffer | undefined): void {
    this.#map.set(verified.id, { verified, mac });
  }
}

/** A Set-Cookie header value carrying `value`. */
export function serializeSessionCookie(value: string, options: CookieOptions): string {
  return stringifySetCookie(options.name, value, {
    domain: options.domain,
    path: options.path,
    httpOnly: options.httpOnly,
    secure: options.secure,
    sameSite: options.sameSite,
    maxAge: options.maxAge,
    // Expires as well, for clients that ignore Max-Age (both say the same moment).
    expires:
      options.maxAge === undefined ? undefined : new Date(Date.now() + options.maxAge * 1000),
  });
}

/** A Set-Cookie header value that removes the cookie (same name, domain and path). */
export function serializeExpiredCookie(options: CookieOptions): string {
  return stringifySetCookie(options.name, '', {
    domain: options.domain,
    path: options.path,
    httpOnly: options.httpOnly,
    secure: options.secure,
    sameSite: options.sameSite,
    expires: new Date(0),
    maxAge: 0,
  });
}
