/**
 * Session ids: 32 bytes from the CSPRNG as 64 lowercase hex characters, and the store key that
 * stands for one (the SHA-256 of the id), so a leaked store hands out no live session id.
 * @module
 */
import * as crypto from 'node:crypto';

/** `crypto.hash` (Node ≥ 20.12): a one-shot digest, faster than createHash for short input. */
const oneShotHash = (
  crypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }
).hash;

/** Length of a session id in characters. */
export const SESSION_ID_LENGTH = 64;

const HEX64 = /^[0-9a-f]{64}$/;

/** A new session id: 256 bits from `crypto.randomBytes`, hex encoded. */
export function generateSessionId(): string {
  return crypto.randomBytes(32).toString('hex');
}

/** True when `value` is exactly 64 lowercase hex characters (an id or a store key). */
export function isValidSessionId(value: unknown): value is string {
  return typeof value === 'string' && value.length === SESSION_ID_LENGTH && HEX64.test(value);
}

/** The key a store keeps a session under: SHA-256 of the id, 64 lowercase hex characters. */
export function storeKey(id: string): string {
  return oneShotHash
    ? oneShotHash('sha256', id, 'hex')
    : crypto.createHash('sha256').update(id).digest('hex');
}
