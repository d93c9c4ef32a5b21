/**
 * The hook through which a SessionManager takes over sessions of another session library (the
 * `migrate` config key; `expressSessionMigration` in websession is one): on a request without a
 * session of ours that carries the other library's cookie, the migration moves that session into
 * a session of ours and names it, and the manager loads it and sends its cookie.
 * @module
 */
import type { Awaitable } from './awaitable.js';
import type { Store } from './store.js';

/** What a migration may use of the manager that consults it. */
export interface MigrationHost {
  /** The store the manager keeps its sessions in (where moved sessions are created). */
  readonly store: Store;
  /**
   * Runs one store call (on either store) as the manager runs its own: with its `store_timeout`
   * deadline, its in-flight cap, failures as StoreError and `error` events. `key` is the store
   * key the call is about (only its first 12 characters reach events).
   */
  call<R>(op: string, key: string, fn: () => Awaitable<R>): Awaitable<R>;
  /** Largest serialized session in bytes (the manager's `max_size`). */
  readonly maxSize: number;
  /** Writes a warning through the manager's logger. */
  warn(message: string): void;
}

/** How far a migration got, for metrics and tools. */
export interface MigrationProgress {
  /** Sessions moved by this process. */
  moved: number;
  /** Sessions left in the old store at the last count; undefined when not counted (yet). */
  remaining: number | undefined;
}

/** A source of sessions to take over, consulted by `SessionManager.load` (config `migrate`). */
export interface SessionMigration {
  /** The other library's cookie name (e.g. `connect.sid`). */
  readonly cookieName: string;
  /**
   * Moves the session named by the cookie value `value` into `host.store` (create-only) and
   * resolves with the id of our session that holds it now, or undefined when there is nothing to
   * move (a forged or malformed value, an unknown or expired session, the migration turned off).
   * Rejects only when a store fails (the request is then answered 503).
   */
  migrate(
    value: string,
    request: { ip?: string | undefined; userAgent?: string | undefined },
    host: MigrationHost,
  ): Promise<string | undefined>;
  /** How far it got (optional). */
  progress?(): MigrationProgress;
}
