/**
 * Store keys: what a store keeps a session under, the SHA-256 of its id as 64 lowercase hex
 * characters (see core/id.ts `storeKey`). Every store checks the keys it is handed, so no input
 * can name a file outside its folder or a key outside its prefix.
 * @module
 */
import { InvalidSessionIdError } from '../core/errors.js';

/** The pattern of a store key, unanchored: to build file name patterns on. */
export const STORE_KEY_SOURCE = '[0-9a-f]{64}';

const STORE_KEY = new RegExp(`^${STORE_KEY_SOURCE}$`);

/** True when `key` is a store key: exactly 64 lowercase hex characters. */
export function isStoreKey(key: unknown): key is string {
  return typeof key === 'string' && STORE_KEY.test(key);
}

/** Throws unless `key` is a store key. Stores check again: defence in depth. */
export function assertKey(key: string, kind: string): void {
  if (!isStoreKey(key)) throw new InvalidSessionIdError(`[${kind}] invalid store key`);
}
