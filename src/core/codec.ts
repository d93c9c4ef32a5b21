/**
 * The safe codec: session data to text and back with `devalue`, which round-trips Date, Map, Set,
 * BigInt, RegExp, undefined, -0, NaN and repeated references, and whose parser only builds plain
 * data (no constructor is called from the text, no code runs, `__proto__` keys are refused).
 * @module
 */
import { parse, stringify } from 'devalue';
import { CodecError } from './errors.js';

/** Session data: string keys to values the codec can store. */
export type SessionData = Record<string, unknown>;

/** Metadata kept with every session, beside the application's data. */
export interface SessionMeta {
  /** Creation time, ms since epoch. */
  created: number;
  /** Client IP when the session was created (for `ignore_change_ip`). */
  ip?: string | undefined;
}

/** What a stored record's text decodes to. */
export interface SessionPayload {
  /** Format version. */
  v: 1;
  meta: SessionMeta;
  data: SessionData;
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

/** Encodes a session payload. */
export function encodePayload(payload: SessionPayload): string {
  return encodeValue(payload);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Decodes and checks a session payload. Throws CodecError when the text is not one. */
export function decodePayload(text: string): SessionPayload {
  const value = decodeValue(text);
  if (
    !isPlainObject(value) ||
    value.v !== 1 ||
    !isPlainObject(value.meta) ||
    !isPlainObject(value.data)
  ) {
    throw new CodecError('corrupt session record: not a websession payload');
  }
  const meta = value.meta;
  if (typeof meta.created !== 'number' || (meta.ip !== undefined && typeof meta.ip !== 'string')) {
    throw new CodecError('corrupt session record: bad metadata');
  }
  return value as unknown as SessionPayload;
}
