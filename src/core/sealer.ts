/**
 * The sealer contract: what goes where a store goes when the session lives in the cookie itself
 * (CookieStore). A sealer keeps no records, so it is not a {@link Store}: the manager opens the
 * cookie's value at load and seals the session into the Set-Cookie at commit, and has nothing
 * on a server to read, list, delete or clean up.
 * @module
 */

import type { Store, StoredSession } from './store.js';

/** Seals sessions into cookie values and opens them again. */
export interface CookieSealer {
  /** Short name, used in errors and logs (`cookie`). */
  readonly kind: string;
  /** Seals codec text and its access time into a cookie value; `aad` is the cookie's name. */
  seal(text: string, atime: number, aad: string): string;
  /**
   * Opens a cookie value: the record, `stale` when an older key sealed it, or undefined for
   * anything that does not open. Never throws.
   */
  open(value: string, aad: string): (StoredSession & { stale: boolean }) | undefined;
  /**
   * Told the session manager's idle timeout (seconds), `store_timeout` (ms) and secret keys at
   * construction: the sealer takes its keys from there when it was given none, and throws a
   * `ConfigError` when it has none to seal with.
   */
  configure(options: {
    timeout: number;
    store_timeout?: number;
    secret_keys?: readonly string[];
  }): void;
  /** Optional: checks at start-up that the sealer can serve, as {@link Store.ready}. */
  ready?(): Promise<void>;
  /** Releases what it holds (code that closes "its store" closes a sealer too). */
  close(): Promise<void>;
}

/** What a SessionManager is built on: a store, or a sealer for sessions kept in the cookie. */
export type StoreOrSealer = Store | CookieSealer;

/** True for a sealer: decided once, where a manager is built, never per request. */
export function isCookieSealer(store: StoreOrSealer | null | undefined): store is CookieSealer {
  const s = store as Partial<CookieSealer> | null | undefined;
  return typeof s?.seal === 'function' && typeof s.open === 'function';
}
