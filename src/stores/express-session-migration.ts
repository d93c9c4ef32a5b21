/**
 * expressSessionMigration: the sessions of an express-session application moved into websession
 * one by one, on each user's first request after the switch (config `migrate`), or all at once
 * (`websession migrate --from-express-session`).
 *
 * One move, in this order: read the old record (by its raw id, from the old store); create our
 * session under an id derived from the old one (create-only); delete the old record; the response
 * sends our cookie. The derived id (an HMAC of the old id under the secret) is what makes a crash
 * at any step harmless: every retry of one old session names the same new session, so create-only
 * makes it one session, never two; and an old cookie whose record is already gone (a crash after
 * the delete, before the response reached the browser; or the CLI moved it) finds the session it
 * moved into. Concurrent requests of one browser share one move in this process (single flight);
 * in other processes their create-only write finds the session already there.
 * @module
 */
import {
  decodePayload,
  encodePayload,
  type SessionData,
  type SessionPayload,
} from '../core/codec.js';
import { MAX_COOKIE_AGE } from '../core/cookie.js';
import { ConfigError, StoreError } from '../core/errors.js';
import { storeKey } from '../core/id.js';
import type { MigrationHost, MigrationProgress, SessionMigration } from '../core/migration.js';
import type { StoredSession } from '../core/store.js';
import { ConnectCalls, type ConnectStoreLike } from './connect-calls.js';
import { movedSessionId, verifyExpressSessionCookie } from './express-session-cookie.js';
import { isStoreKey } from './key.js';

/** The steps of one move, as `onStep` is told them. */
export type MoveStep = 'read' | 'created' | 'deleted';

/** What became of one old session. */
export type MoveOutcome =
  /** Moved now. */
  | 'moved'
  /** Moved already (by a request, another process or an earlier run). */
  | 'moved before'
  /** Expired in the old store: not moved (and removed). */
  | 'expired'
  /** Not in the old store, and not moved before. */
  | 'missing'
  /** Not a session object (not JSON, not an object), or too large: left where it is. */
  | 'unreadable';

/** Options of {@link expressSessionMigration}. */
export interface ExpressSessionMigrationOptions {
  /** The express-session store the sessions are in now (connect-redis, connect-pg-simple, …). */
  store: ConnectStoreLike;
  /** express-session's `secret`: one, or several (newest first), as it was given. */
  secret: string | readonly string[];
  /** express-session's cookie name. Default `connect.sid`. */
  name?: string;
  /** False: old cookies are ignored (nothing is moved). Default true; can be changed later. */
  enabled?: boolean;
  /** Called after each step of a move (for tests and tracing; a promise is waited for). */
  onStep?: (step: MoveStep) => void | Promise<void>;
}

/** The fields of an express-session record that are express-session's, not the application's. */
const OWN_FIELDS = new Set(['cookie', '__lastAccess']);

/** How often, at most, the sessions left in the old store are counted again (ms). */
const RECOUNT_MS = 60_000;

/** A plain object from the old store, or a reason it is not one. */
function sessionObject(value: unknown): Record<string, unknown> | 'unreadable' | undefined {
  if (value === undefined || value === null) return undefined;
  let parsed = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch {
      return 'unreadable';
    }
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return 'unreadable';
  return parsed as Record<string, unknown>;
}

/** The old session's cookie expiry in ms since epoch, or undefined for none (a browser-session cookie). */
function expiresAt(session: Record<string, unknown>): number | undefined {
  const cookie = session.cookie;
  if (cookie === null || typeof cookie !== 'object') return undefined;
  const expires = (cookie as { expires?: unknown }).expires;
  if (typeof expires !== 'string' && !(expires instanceof Date)) return undefined;
  const at = new Date(expires).getTime();
  return Number.isFinite(at) ? at : undefined;
}

/**
 * The old cookie's own lifetime in seconds (express-session's `cookie.originalMaxAge`, e.g. set
 * for "remember me"), capped at what a browser keeps; undefined for a browser-session cookie,
 * which leaves the configured `cookie_max_age` to apply. Rounded, not floored: express-session
 * reads the clock twice when it sets `maxAge`, so 30 days is often stored a millisecond short.
 */
function cookieMaxAge(session: Record<string, unknown>): number | undefined {
  const cookie = session.cookie;
  if (cookie === null || typeof cookie !== 'object') return undefined;
  const ms = (cookie as { originalMaxAge?: unknown }).originalMaxAge;
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 1000) return undefined;
  return Math.min(Math.round(ms / 1000), MAX_COOKIE_AGE);
}

/** True when an old-store read failed because the record is not JSON (a parse error). */
function unparsable(err: unknown): boolean {
  return err instanceof StoreError && err.cause instanceof SyntaxError;
}

/**
 * The application's fields of an old session as our session data: every field our codec carries
 * exactly; the others (a `__proto__` key anywhere, values the codec refuses) are skipped, each
 * with a logged reason (the field's name, never its value).
 */
function sessionData(
  session: Record<string, unknown>,
  warn: (message: string) => void,
): SessionData {
  const data: SessionData = {};
  for (const field of Object.keys(session)) {
    if (OWN_FIELDS.has(field)) continue;
    if (field === '__proto__') {
      warn('a "__proto__" field');
      continue;
    }
    const value = session[field];
    try {
      // Round-tripped alone: what would not come back exactly is refused here, not at load.
      const one: SessionPayload = { v: 1, meta: { created: 0 }, data: { [field]: value } };
      decodePayload(encodePayload(one));
    } catch (err) {
      warn(`field ${JSON.stringify(field.slice(0, 64))} (${(err as Error).message})`);
      continue;
    }
    data[field] = value;
  }
  return data;
}

/** Moves express-session sessions into websession; see the module's notes. */
export class ExpressSessionMigration implements SessionMigration {
  readonly cookieName: string;
  /** False: old cookies are ignored. */
  enabled: boolean;
  readonly #old: ConnectCalls;
  readonly #secrets: readonly string[];
  readonly #onStep: ExpressSessionMigrationOptions['onStep'];
  /** Moves under way in this process, by old id: concurrent requests of one browser share one. */
  readonly #flights = new Map<string, Promise<{ outcome: MoveOutcome; id?: string }>>();
  #moved = 0;
  #remaining: number | undefined;
  #countedAt = 0;
  #counting = false;

  constructor(options: ExpressSessionMigrationOptions) {
    const secrets =
      typeof options.secret === 'string' ? [options.secret] : [...(options.secret ?? [])];
    if (secrets.length === 0 || secrets.some((s) => typeof s !== 'string' || s.length === 0))
      throw new ConfigError(
        "expressSessionMigration needs express-session's secret (a string or an array of them)",
      );
    this.#secrets = secrets;
    this.cookieName = options.name ?? 'connect.sid';
    this.enabled = options.enabled ?? true;
    this.#onStep = options.onStep;
    this.#old = new ConnectCalls(options.store, 'express-session');
  }

  migrate(
    value: string,
    request: { ip?: string | undefined; userAgent?: string | undefined },
    host: MigrationHost,
  ): Promise<string | undefined> {
    if (!this.enabled) return Promise.resolve(undefined);
    const verified = verifyExpressSessionCookie(value, this.#secrets);
    if (!verified) return Promise.resolve(undefined);
    return this.move(verified.sid, request, host).then((done) => done.id);
  }

  /**
   * Moves the old session `sid` (idempotent: see the module's notes); resolves with what became
   * of it and, when it lives in our store now, the id of our session.
   */
  move(
    sid: string,
    request: { ip?: string | undefined; userAgent?: string | undefined },
    host: MigrationHost,
  ): Promise<{ outcome: MoveOutcome; id?: string }> {
    let flight = this.#flights.get(sid);
    if (!flight) {
      flight = this.#move(sid, request, host).finally(() => this.#flights.delete(sid));
      this.#flights.set(sid, flight);
    }
    return flight;
  }

  async #step(step: MoveStep): Promise<void> {
    await this.#onStep?.(step);
  }

  async #move(
    sid: string,
    request: { ip?: string | undefined; userAgent?: string | undefined },
    host: MigrationHost,
  ): Promise<{ outcome: MoveOutcome; id?: string }> {
    // Always under the newest secret: a retry from a cookie signed with an older one names the
    // same new session.
    const id = movedSessionId(sid, this.#secrets[0] as string);
    const key = storeKey(id);
    const warn = (what: string) =>
      host.warn(`[websession] express-session migration of ${key.slice(0, 12)}…: ${what}`);
    let read: unknown;
    try {
      read = await host.call('get', key, () => this.#old.get(sid));
    } catch (err) {
      if (!unparsable(err)) throw err;
      read = 'not JSON';
    }
    await this.#step('read');
    const session = sessionObject(read);
    if (session === 'unreadable') {
      warn('the old record is not a session object (left in place, not moved)');
      return (await this.#movedBefore(sid, host)) ?? { outcome: 'unreadable' };
    }
    const expires = session && expiresAt(session);
    if (session && (expires === undefined || expires > Date.now())) {
      const now = Date.now();
      const meta: SessionPayload['meta'] = { created: now };
      if (request.ip !== undefined) meta.ip = request.ip;
      if (request.userAgent) meta.ua = request.userAgent.slice(0, 512);
      const maxAge = cookieMaxAge(session);
      if (maxAge !== undefined) meta.maxAge = maxAge;
      const data = sessionData(session, (what) => warn(`skipped ${what}`));
      const text = encodePayload({ v: 1, meta, data });
      if (Buffer.byteLength(text, 'utf8') > host.maxSize) {
        warn(`the session is larger than max_size ${host.maxSize} (left in place, not moved)`);
        return { outcome: 'unreadable' };
      }
      await this.#createOnly(host, key, { data: text, atime: now });
      await this.#step('created');
      await host.call('destroy', key, () => this.#old.destroy(sid));
      await this.#step('deleted');
      this.#moved++;
      if (this.#remaining !== undefined && this.#remaining > 0) this.#remaining--;
      return { outcome: 'moved', id };
    }
    if (session) {
      // Expired: as express-session would, it is no session; removed now rather than by the
      // store's own expiry.
      try {
        await host.call('destroy', key, () => this.#old.destroy(sid));
      } catch {
        // the store expires it by itself anyway
      }
    }
    return (await this.#movedBefore(sid, host)) ?? { outcome: session ? 'expired' : 'missing' };
  }

  /** Create-only where the store has it; else a read then a write (ids cannot collide). */
  async #createOnly(host: MigrationHost, key: string, record: StoredSession): Promise<void> {
    const store = host.store;
    if (store.create) {
      // False: the session is there already (a retry, a concurrent request elsewhere): kept.
      await host.call('create', key, () =>
        (store.create as NonNullable<typeof store.create>)(key, record),
      );
      return;
    }
    if ((await host.call('get', key, () => store.get(key))) === undefined)
      await host.call('set', key, () => store.set(key, record));
  }

  /** The session an old id moved into earlier, under any of the secrets; undefined when none. */
  async #movedBefore(
    sid: string,
    host: MigrationHost,
  ): Promise<{ outcome: MoveOutcome; id: string } | undefined> {
    for (const secret of this.#secrets) {
      const id = movedSessionId(sid, secret);
      const key = storeKey(id);
      if ((await host.call('get', key, () => host.store.get(key))) !== undefined)
        return { outcome: 'moved before', id };
    }
    return undefined;
  }

  /**
   * The ids of the old sessions still in the old store (listing it; ids of ours, which
   * connectStore keeps in the same store, are left out).
   * @throws StoreError when the store cannot list its sessions (no `ids()` or `all()`)
   */
  async oldIds(): Promise<string[]> {
    return (await this.#old.list()).map((e) => e.sid).filter((sid) => !isStoreKey(sid));
  }

  /** Counts the old sessions left now: listed when the store can, else its `length()`. */
  async countRemaining(): Promise<number | undefined> {
    const n = this.#old.listable ? (await this.oldIds()).length : await this.#old.length();
    this.#remaining = n;
    this.#countedAt = Date.now();
    return n;
  }

  /** Sessions moved by this process, and those left at the last count (recounted in the background at most once a minute). */
  progress(): MigrationProgress {
    if (!this.#counting && Date.now() - this.#countedAt > RECOUNT_MS) {
      this.#counting = true;
      this.countRemaining()
        .catch(() => {
          this.#countedAt = Date.now();
        })
        .finally(() => {
          this.#counting = false;
        });
    }
    return { moved: this.#moved, remaining: this.#remaining };
  }

  /** Stops listening to the old store's events (the store itself stays open). */
  close(): void {
    this.#old.detach();
  }
}

/**
 * Moves the sessions of an express-session application into websession, each on its user's first
 * request: give it as the manager's `migrate` config, with the old store and secret. A request
 * with a valid express-session cookie gets a websession session holding the same data (the old
 * record is then deleted) and our cookie; use express-session's cookie name as `cookie_name` so
 * that ours replaces the old cookie in the browser.
 *
 * @example
 * const manager = new SessionManager(store, {
 *   cookie_name: 'connect.sid',
 *   secret_key: process.env.SESSION_KEY,
 *   migrate: expressSessionMigration({ store: oldRedisStore, secret: process.env.SESSION_SECRET }),
 * });
 */
export function expressSessionMigration(
  options: ExpressSessionMigrationOptions,
): ExpressSessionMigration {
  return new ExpressSessionMigration(options);
}
