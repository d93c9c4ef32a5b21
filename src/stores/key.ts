/**
 * Store keys: what a store keeps a session under, the SHA-256 of its id as 64 lowercase hex
 * characters (see core/id.ts `storeKey`). Every store checks the keys it is handed, so no input
 * can name a file outside its folder or a key outside its prefix.
 * @module
 */
import { InvalidSessionIdError } from '../core/errors.js';
import { isStoreKey } from '../core/id.js';

export { isStoreKey, STORE_KEY_SOURCE } from '../core/id.js';

/** Throws unless `key` is a store key. Stores check again: defence in depth. */
export function assertKey(key: string, kind: string): void {
  if (!isStoreKey(key)) throw new InvalidSessionIdError(`[${kind}] invalid store key`);
}
