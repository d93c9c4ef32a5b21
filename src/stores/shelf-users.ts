/**
 * ShelfStore's user index, two databases written in the same transaction as the record:
 * `websession:user` (`<sha256(user)>:<store key>` → '1', read by a key-prefix range) and
 * `websession:owner` (store key → sha256(user), to unindex on delete and cleanup).
 * @module
 */
import { createHash } from 'node:crypto';
import type { Handles } from './shelf-env.js';

const userHash = (user: string) => createHash('sha256').update(user).digest('hex');

/** Points the user index of `key` at `user` (none: undefined). Call inside a write transaction. */
export function indexUser(h: Handles, key: string, user: string | undefined): void {
  const previous = h.owners.get(key);
  const next = user === undefined ? undefined : userHash(user);
  if (previous === next) return;
  if (previous !== undefined) h.users.removeSync(`${previous}:${key}`);
  if (next === undefined) {
    h.owners.removeSync(key);
  } else {
    h.users.putSync(`${next}:${key}`, '1');
    h.owners.putSync(key, next);
  }
}

/** Keys of the sessions bound to `user`: one key-prefix range of the user index. */
export function userKeys(h: Handles, user: string): string[] {
  const prefix = `${userHash(user)}:`;
  return [...h.users.getKeys({ start: prefix, end: `${prefix.slice(0, -1)};` })].map((k) =>
    String(k).slice(prefix.length),
  );
}
