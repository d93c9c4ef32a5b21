/**
 * A user's sessions: listing them (devices) and revoking them (log out everywhere), through the
 * store's user index. Used by SessionManager and the `websession` command.
 * @module
 */

import { decodePayload, type SessionPayload } from './codec.js';
import { UnsupportedError } from './errors.js';
import { isStoreKey } from './id.js';
import type { Store } from './store.js';

/** One of a user's live sessions. */
export interface UserSessionInfo {
  /** The store key (SHA-256 of the id): what `revokeSession` takes. Never the id itself. */
  key: string;
  /** Creation time, ms since epoch. */
  created: number;
  /** Last access, ms since epoch. */
  atime: number;
  /** Client IP recorded when the session was created. */
  ip: string | undefined;
  /** User-Agent recorded when the session was created. */
  userAgent: string | undefined;
  /** True for the session given as `current`. */
  current: boolean;
}

/** How the calls below reach the store (the manager passes its deadlines and error mapping). */
export interface UserIndexAccess {
  store: Store;
  /** Idle timeout and absolute lifetime, in seconds (lifetime undefined: none). */
  timeout: number;
  lifetime: number | undefined;
  /** Runs one store call (default: as it is). */
  call?<R>(op: string, key: string, run: () => R | Promise<R>): R | Promise<R>;
}

function indexOf(store: Store): (user: string) => Promise<string[]> {
  const fn = store.userSessions;
  if (!fn)
    throw new UnsupportedError(
      store.kind,
      "this store keeps no user index: listing or revoking a user's sessions is not available",
    );
  return fn.bind(store);
}

const direct = <R>(_op: string, _key: string, run: () => R | Promise<R>) => run();

/**
 * The live sessions bound to `user`, newest access first, without scanning all sessions.
 * `currentKey` marks one of them as the caller's own.
 * @throws UnsupportedError when the store has no user index
 */
export async function listUserSessions(
  access: UserIndexAccess,
  user: string,
  currentKey?: string,
): Promise<UserSessionInfo[]> {
  const { store } = access;
  const call = access.call ?? direct;
  const index = indexOf(store);
  const keys = await call('userSessions', user, () => index(user));
  const now = Date.now();
  const out: UserSessionInfo[] = [];
  for (const key of keys) {
    if (!isStoreKey(key)) continue;
    const record = await call('get', key, () => store.get(key));
    if (!record) continue;
    let payload: SessionPayload;
    try {
      payload = decodePayload(record.data);
    } catch {
      continue;
    }
    if (payload.meta.user !== user) continue;
    if (now - record.atime > access.timeout * 1000) continue;
    if (access.lifetime !== undefined && now - payload.meta.created > access.lifetime * 1000)
      continue;
    out.push({
      key,
      created: payload.meta.created,
      atime: record.atime,
      ip: payload.meta.ip,
      userAgent: payload.meta.ua,
      current: key === currentKey,
    });
  }
  return out.sort((a, b) => b.atime - a.atime);
}

/**
 * Deletes the sessions bound to `user`, except the one under `keepKey`; calls `onKilled` for
 * each record deleted. Returns how many were deleted.
 * @throws UnsupportedError when the store has no user index
 */
export async function revokeUserSessions(
  access: UserIndexAccess,
  user: string,
  keepKey?: string,
  onKilled?: (key: string, ms: number) => void,
): Promise<number> {
  const { store } = access;
  const call = access.call ?? direct;
  const index = indexOf(store);
  let removed = 0;
  for (const key of await call('userSessions', user, () => index(user))) {
    if (key === keepKey || !isStoreKey(key)) continue;
    const record = await call('get', key, () => store.get(key));
    if (record) {
      try {
        if (decodePayload(record.data).meta.user !== user) continue;
      } catch {
        // corrupt: delete it all the same
      }
    }
    const started = performance.now();
    await call('delete', key, () => store.delete(key));
    if (record) {
      removed++;
      onKilled?.(key, performance.now() - started);
    }
  }
  return removed;
}
