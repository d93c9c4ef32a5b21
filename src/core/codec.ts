/**
 * The safe codec: session data to text and back with `devalue`, which round-trips Date, Map, Set,
 * BigInt, RegExp, undefined, -0, NaN and repeated references, and whose parser only builds plain
 * data (no constructor is called from the text, no code runs, `__proto__` keys are refused).
 *
 * Payloads made only of JSON values (strings, finite numbers, booleans, null, plain objects and
 * arrays) are written as plain JSON instead, which is faster to read and write; a record's first
 * character tells the two apart (`{` JSON, `[` devalue).
 * @module
 */
import { parse, stringify } from 'devalue';
import { MAX_COOKIE_AGE } from './cookie.js';
import { CodecError } from './errors.js';

/** Session data: string keys to values the codec can store. */
export type SessionData = Record<string, unknown>;

/** Metadata kept with every session, beside the application's data. */
export interface SessionMeta {
  /** Creation time, ms since epoch. */
  created: number;
  /** Client IP when the session was created (for `ignore_change_ip`). */
  ip?: string | undefined;
  /** Client User-Agent when the session was created (for listing a user's sessions). */
  ua?: string | undefined;
  /** The user the session is bound to (`session.setUser`). */
  user?: string | undefined;
  /**
   * This session's own cookie lifetime (`session.setMaxAge`): seconds for a persistent cookie,
   * null for a browser-session cookie; absent for the configured `cookie_max_age`.
   */
  maxAge?: number | null | undefined;
}

/** What a stored record's text decodes to. */
export interface SessionPayload {
  /** Format version. */
  v: 1;
  meta: SessionMeta;
  data: SessionData;
  /** Flash messages for the next request, by key. */
  flash?: Record<string, unknown[]> | undefined;
}

/** Encodes a value as codec text. Throws CodecError for values that cannot be stored. */
export function encodeValue(value: unknown): string {
  try {
    return stringify(value);
  } catch (err) {
    throw new CodecError(`cannot store this value in a session: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** Decodes codec text. Throws CodecError on any malformed input; never runs code. */
export function decodeValue(text: string): unknown {
  try {
    return parse(text);
  } catch (err) {
    throw new CodecError(`corrupt session record: ${(err as Error).message}`, { cause: err });
  }
}

/** True when JSON round-trips `value` exactly (and it holds no `__proto__` key). */
function jsonSafe(value: unknown, depth = 0): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value) && !Object.is(value, -0);
    case 'object': {
      if (value === null) return true;
      if (depth > 64) return false;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++)
          if (!(i in value) || !jsonSafe(value[i], depth + 1)) return false;
        return true;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype) return false;
      for (const key in value) {
        if (key === '__proto__') return false;
        if (!jsonSafe((value as Record<string, unknown>)[key], depth + 1)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

/** Encodes a session payload: plain JSON when that is exact, devalue otherwise. */
export function encodePayload(payload: SessionPayload): string {
  if (jsonSafe(payload)) return JSON.stringify(payload);
  return encodeValue(payload);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** True when a parsed JSON value has an own `__proto__` key at any depth (or nests absurdly deep). */
function hasProtoKey(value: unknown, depth: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (depth > 256) return true; // our encoder never nests this deep on the JSON path: refuse
  if (Array.isArray(value)) return value.some((item) => hasProtoKey(item, depth + 1));
  for (const key of Object.keys(value)) {
    if (key === '__proto__') return true;
    if (hasProtoKey((value as Record<string, unknown>)[key], depth + 1)) return true;
  }
  return false;
}

/** True when payload text was written as plain JSON (which round-trips it exactly), not devalue. */
export function isJsonPayloadText(text: string): boolean {
  return text.charCodeAt(0) === 123 /* { */;
}

/** Decodes and checks a session payload. Throws CodecError when the text is not one. */
export function decodePayload(text: string): SessionPayload {
  let value: unknown;
  if (isJsonPayloadText(text)) {
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new CodecError(`corrupt session record: ${(err as Error).message}`, { cause: err });
    }
    // JSON.parse makes a "__proto__" key an own property (no pollution), but refuse it anyway:
    // our encoder never writes one. The text test is a cheap filter; the walk tells a key from
    // a string value "__proto__", which is ordinary data.
    if (text.includes('"__proto__"') && hasProtoKey(value, 0))
      throw new CodecError('corrupt session record: "__proto__" key');
  } else {
    value = decodeValue(text);
  }
  if (
    !isPlainObject(value) ||
    value.v !== 1 ||
    !isPlainObject(value.meta) ||
    !isPlainObject(value.data)
  ) {
    throw new CodecError('corrupt session record: not a websession payload');
  }
  const meta = value.meta;
  const optionalString = (v: unknown) => v === undefined || typeof v === 'string';
  if (
    typeof meta.created !== 'number' ||
    !optionalString(meta.ip) ||
    !optionalString(meta.ua) ||
    !optionalString(meta.user) ||
    !(
      meta.maxAge === undefined ||
      meta.maxAge === null ||
      (typeof meta.maxAge === 'number' && meta.maxAge > 0 && meta.maxAge <= MAX_COOKIE_AGE)
    )
  ) {
    throw new CodecError('corrupt session record: bad metadata');
  }
  const flash = value.flash;
  if (
    flash !== undefined &&
    (!isPlainObject(flash) || !Object.values(flash).every(Array.isArray))
  ) {
    throw new CodecError('corrupt session record: bad flash messages');
  }
  return value as unknown as SessionPayload;
}
