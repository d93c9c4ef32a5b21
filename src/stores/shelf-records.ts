/**
 * ShelfStore's records: the codec text in `websession:data` and the access time in
 * `websession:atime`, under the store key, written and removed together with the user index
 * (shelf-users.ts). Call inside a write transaction, except to read.
 * @module
 */
import type { StoredSession } from '../core/store.js';
import type { Handles } from './shelf-env.js';
import { indexUser } from './shelf-users.js';

export function readRecord(h: Handles, key: string): StoredSession | undefined {
  const data = h.data.get(key);
  if (data === undefined) return undefined;
  const atime = h.atimes.get(key);
  return { data, atime: typeof atime === 'number' ? atime : 0 };
}

export function putRecord(h: Handles, key: string, record: StoredSession): void {
  h.data.putSync(key, record.data);
  h.atimes.putSync(key, record.atime);
  indexUser(h, key, record.user);
}

export function removeRecord(h: Handles, key: string): void {
  h.data.removeSync(key);
  h.atimes.removeSync(key);
  indexUser(h, key, undefined);
}
