import { InvalidSessionIdError } from '../core/errors.js';
import { isValidSessionId } from '../core/id.js';

/** Throws unless `key` is a store key (64 lowercase hex). Stores check again: defence in depth. */
export function assertKey(key: string, kind: string): void {
  if (!isValidSessionId(key)) throw new InvalidSessionIdError(`[${kind}] invalid store key`);
}
