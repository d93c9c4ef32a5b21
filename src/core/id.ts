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

/** Ids drawn from the CSPRNG at once (as Node's own randomUUID does): one call per 128 ids. */
const POOL_IDS = 128;
const pool = Buffer.alloc(32 * POOL_IDS);
let next = POOL_IDS;

/**
 * A new session id: 256 bits from the CSPRNG (`crypto.randomFillSync`), hex encoded. The bytes
 * are drawn for 128 ids at a time: one synchronous call to the random source costs as much as a
 * whole request otherwise. Each id's bytes are used once.
 */
export function generateSessionId(): string {
  if (next === POOL_IDS) {
    crypto.randomFillSync(pool);
    next = 0;
  }
  const at = 32 * next++;
  const id = pool.toString('hex', at, at + 32);
  pool.fill(0, at, at + 32);
  return id;
}

/** True when `value` is exactly 64 lowercase hex characters (an id or a store key). */
export function isValidSessionId(value: unknown): value is string {
  return typeof value === 'string' && value.length === SESSION_ID_LENGTH && HEX64.test(value);
}

/** The pattern of a store key, unanchored: to build file name patterns on. */
export const STORE_KEY_SOURCE = '[0-9a-f]{64}';

/**
 * True when `key` is a store key, what a store keeps a session under ({@link storeKey}: the
 * SHA-256 of an id as 64 lowercase hex characters).
 */
export function isStoreKey(key: unknown): key is string {
  return typeof key === 'string' && HEX64.test(key);
}

/** The key a store keeps a session under: SHA-256 of the id, 64 lowercase hex characters. */
export function storeKey(id: string): string {
  return oneShotHash
    ? oneShotHash('sha256', id, 'hex')
    : crypto.createHash('sha256').update(id).digest('hex');
}
