/**
 * The server-store cycle: the cookie carries a signed id, the session lives in a {@link Store}.
 * Load verifies the cookie (choosing among duplicate cookies) and reads the record; commit writes
 * what changed through group commit, creates a new session's record create-only, finishes a
 * regenerate, or deletes a killed session; the store is cleaned up in the background.
 * @module
 */

import { performance } from 'node:perf_hooks';
import { type Awaitable, isPromise, then } from './awaitable.js';
import { type Change, checkSize, type Outcome, payloadText, requestChanges } from './changes.js';
import { CleanupSchedule } from './cleanup-schedule.js';
import { decodePayload, type SessionData, type SessionPayload } from './codec.js';
import { IdCache, mayRepeat, readCookie, serializeSessionCookie } from './cookie.js';
import { type Candidate, chosenCandidate, cookieCandidates } from './cookie-candidates.js';
import { createRecord } from './create-record.js';
import type { SessionCycle } from './cycle.js';
import type { CycleContext, ExpiryReason } from './cycle-context.js';
import { SessionExpiredError } from './errors.js';
import { GroupCommit } from './group-commit.js';
import { storeKey } from './id.js';
import type { MigrationHost, SessionMigration } from './migration.js';
import type { CommitResult, RequestInfo } from './request.js';
import { NO_FLASH, type Session, type SessionState } from './session.js';
import type { Store, StoredSession } from './store.js';
import { StoreCalls } from './store-calls.js';
import type { UserIndexAccess } from './user-sessions.js';

const KILL = { kind: 'kill' } as const;

export class ServerCycle<T extends SessionData> implements SessionCycle<T> {
  readonly #ctx: CycleContext<T>;
  readonly #store: Store;
  /** Memo of cookie signatures and store keys of recent ids. */
  readonly #ids: IdCache;
  readonly #calls: StoreCalls;
  readonly #group: GroupCommit;
  readonly #cleanup: CleanupSchedule;
  #cleanupScheduled = false;

  constructor(ctx: CycleContext<T>, store: Store) {
    const c = ctx.config;
    this.#ctx = ctx;
    this.#store = store;
    this.#ids = new IdCache(c.secret_keys);
    this.#calls = new StoreCalls(store.kind, c.store_timeout, c.store_max_in_flight, ctx.events);
    this.#group = new GroupCommit(
      (key, mutator, expected) => this.#calls.update(store, key, mutator, expected),
      c.max_size,
      store.capabilities.gatherWrites === true,
    );
    store.configure?.({ timeout: c.timeout, store_timeout: c.store_timeout });
    this.#cleanup = new CleanupSchedule(
      store,
      c.cleanup_interval,
      () => this.cleanup(),
      c.logger,
      (event) => ctx.emit('cleanup', event),
    );
  }

  load(request: RequestInfo): Awaitable<Session<T>> {
    if (!this.#cleanupScheduled) {
      this.#cleanupScheduled = true;
      this.#cleanup.start();
    }
    const c = this.#ctx.config;
    const name = c.cookie_name;
    const raw = readCookie(request.cookie, name);
    let verified = this.#ids.verify(raw);
    if (raw !== undefined && mayRepeat(request.cookie, name)) {
      // The name comes more than once (a cookie planted for a parent domain or a longer path):
      // the answer must not depend on their order.
      const signed = c.secret_keys.length > 0;
      const candidates = cookieCandidates(this.#ids, request.cookie as string, name, signed);
      if (candidates.length > 1) return this.#loadAmong(request, candidates);
      verified = candidates[0];
    }
    if (!verified) {
      const migrated = c.migrate && this.#migrate(request, c.migrate);
      return migrated || this.#ctx.fresh(request, raw !== undefined);
    }
    const key = verified.key;
    const started = this.#ctx.clock('loaded', 'expired');
    try {
      const record = this.#calls.get(this.#store, key);
      return isPromise(record)
        ? record.then((r) => this.#opened(request, verified, r, started))
        : this.#opened(request, verified, record, started);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * A request without a session of ours that carries the cookie of `migration` (config
   * `migrate`): the session it names is moved into ours, then loaded as if our cookie had named
   * it, and our cookie is sent. Undefined when the request has no such cookie.
   */
  #migrate(request: RequestInfo, migration: SessionMigration): Promise<Session<T>> | undefined {
    const value = readCookie(request.cookie, migration.cookieName);
    if (value === undefined) return undefined;
    const c = this.#ctx.config;
    const host: MigrationHost = {
      store: this.#store,
      call: (op, key, fn) => this.#calls.run(op, key, fn),
      maxSize: c.max_size,
      warn: (message) => c.logger.warn(message),
    };
    const sameName = migration.cookieName === c.cookie_name;
    return migration.migrate(value, request, host).then((id) => {
      if (id === undefined) return this.#ctx.fresh(request, sameName);
      const key = storeKey(id);
      return then(
        this.#calls.run('get', key, () => this.#store.get(key)),
        (record) => this.#opened(request, { id, key, stale: true }, record, 0),
      );
    });
  }

  /** Loads the session among several cookie candidates (see {@link chosenCandidate}). */
  #loadAmong(request: RequestInfo, candidates: Candidate[]): Awaitable<Session<T>> {
    const started = this.#ctx.clock('loaded', 'expired');
    const pick = (records: (StoredSession | undefined)[]): Awaitable<Session<T>> => {
      const now = Date.now();
      const best = chosenCandidate(candidates, records, (record) => {
        try {
          const payload = decodePayload(record.data);
          return this.#ctx.expiryReason(request, record, payload, now) === undefined;
        } catch {
          return false; // a corrupt record is not live
        }
      });
      return this.#opened(request, candidates[best] as Candidate, records[best], started);
    };
    try {
      const records = candidates.map((c) =>
        this.#calls.run('get', c.key, () => this.#store.get(c.key)),
      );
      return records.some((r) => isPromise(r))
        ? Promise.all(records).then(pick)
        : pick(records as (StoredSession | undefined)[]);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** The session of a record as read (or none): decoded and checked for expiry. */
  #opened(
    request: RequestInfo,
    verified: { id: string; key: string; stale: boolean },
    record: StoredSession | undefined,
    started: number,
  ): Awaitable<Session<T>> {
    const ctx = this.#ctx;
    const c = ctx.config;
    const key = verified.key;
    let payload: SessionPayload | undefined;
    if (record) {
      try {
        payload = decodePayload(record.data);
      } catch (err) {
        return this.#corrupt(request, key, err);
      }
    }
    let reason: ExpiryReason | undefined;
    const now = Date.now();
    if (!record || !payload) reason = 'unknown';
    else reason = ctx.expiryReason(request, record, payload, now);
    if (reason !== undefined) {
      if (reason !== 'unknown')
        ctx.emit('expired', { key: key.slice(0, 12), ms: ctx.since(started), reason });
      if (!c.ignore_expiry || reason === 'ip') return Promise.reject(this.#expired(request, key));
      // Expired: remove it now rather than at the next cleanup.
      if (reason !== 'unknown')
        void Promise.resolve()
          .then(() => this.#store.delete(key))
          .catch(() => {});
      return ctx.fresh(request, true);
    }
    if (ctx.events.listens('loaded'))
      ctx.events.emit('loaded', { key: key.slice(0, 12), ms: ctx.since(started) });
    const sendCookie = verified.stale || ctx.renewsCookie((payload as SessionPayload).meta);
    return ctx.loaded(
      verified,
      request,
      payload as SessionPayload,
      record as StoredSession,
      sendCookie,
    );
  }

  /** web.py: kill the expired session and answer `expired_message`. */
  #expired(request: RequestInfo, key: string): SessionExpiredError {
    const c = this.#ctx.config;
    void Promise.resolve()
      .then(() => this.#store.delete(key))
      .catch((err: unknown) => c.logger.warn('[websession] delete of expired session failed', err));
    return new SessionExpiredError(c.expired_message, this.#ctx.expiredCookie(request));
  }

  /** A record that does not decode: logged, moved aside where the store can, treated as none. */
  #corrupt(request: RequestInfo, key: string, err: unknown): Awaitable<Session<T>> {
    const c = this.#ctx.config;
    const store = this.#store;
    const quarantine = store.quarantine?.bind(store);
    c.logger.warn(
      `[websession] [${store.kind}] corrupt session record ${key.slice(0, 12)}…, ${quarantine ? 'quarantined' : 'left in place'}, treated as no session`,
      err,
    );
    const fresh = () => this.#ctx.fresh(request, true);
    if (!quarantine) return fresh();
    return Promise.resolve()
      .then(() => this.#calls.run('quarantine', key, () => quarantine(key)))
      .catch((e: unknown) => c.logger.warn('[websession] quarantine failed', e))
      .then(fresh);
  }

  update(state: SessionState<T>, fn: (data: Partial<T>) => void): Promise<Partial<T>> {
    try {
      // A store that answers at once answers the update without a turn of its own.
      const updated = state.replacedKey
        ? then(this.#finishRegenerate(state), () => this.#updateNow(state, fn))
        : this.#updateNow(state, fn);
      return isPromise(updated) ? updated : Promise.resolve(updated);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** `update` once a regenerate is done: a new session is created first, then updated. */
  #updateNow(state: SessionState<T>, fn: (data: Partial<T>) => void): Awaitable<Partial<T>> {
    if (state.dead) {
      fn(state.data);
      return { ...state.data };
    }
    if (!state.isNew) return this.#updateStored(state, fn, false);
    // The first write of a new session is create-only (a repeated id never lands on another
    // visitor's record); the update then runs on the record as stored.
    const text = checkSize(payloadText(state), this.#ctx.config.max_size);
    const now = Date.now();
    return then(this.#create(state, text, now), () => {
      state.isNew = false;
      state.sendCookie = true;
      state.baseline = text;
      state.atime = now;
      state.touched = undefined;
      state.metaChanged = false;
      state.hadFlash = false;
      return this.#updateStored(state, fn, true);
    });
  }

  /** `update` of a stored session: this request's changes and `fn`, in one group-committed write. */
  #updateStored(
    state: SessionState<T>,
    fn: (data: Partial<T>) => void,
    wasNew: boolean,
  ): Awaitable<Partial<T>> {
    const { keys } = requestChanges(state as SessionState<SessionData>);
    const started = this.#ctx.clock(wasNew ? 'created' : 'saved');
    const change: Change = {
      kind: 'save',
      state: state as SessionState<SessionData>,
      keys,
      fn: fn as (data: SessionData) => void,
    };
    const outcome = this.#group.submit(state.key, change, true);
    return isPromise(outcome)
      ? outcome.then((o) => this.#updated(state, fn, wasNew, o, started))
      : this.#updated(state, fn, wasNew, outcome, started);
  }

  /** The session after its update's write landed: as the store now holds it. */
  #updated(
    state: SessionState<T>,
    fn: (data: Partial<T>) => void,
    wasNew: boolean,
    outcome: Outcome,
    started: number,
  ): Partial<T> {
    const ctx = this.#ctx;
    if (outcome.error !== undefined) throw outcome.error;
    if (outcome.text === undefined) {
      state.dead = true;
      fn(state.data);
      return { ...state.data };
    }
    const reused = outcome.payload;
    const payload = reused ?? decodePayload(outcome.text);
    const event = wasNew ? 'created' : 'saved';
    if (ctx.events.listens(event))
      ctx.events.emit(event, {
        key: state.key.slice(0, 12),
        ms: ctx.since(started),
        bytes: outcome.text.length,
      });
    if (wasNew) state.sendCookie = true;
    state.isNew = false;
    // A copy, so that the object `fn` received (which it may have kept) is not the session's.
    state.data = (reused ? { ...reused.data } : payload.data) as Partial<T>;
    state.meta = payload.meta;
    // The flash messages just stored are this request's own (a save replaces the record's with
    // them): they stay its messages for the next request, so that the commit keeps them.
    state.hadFlash = false;
    state.flashOut = payload.flash ? { ...payload.flash } : NO_FLASH;
    state.touched = undefined;
    state.metaChanged = false;
    state.baseline = outcome.text;
    state.atime = Date.now();
    return { ...state.data };
  }

  #create(state: SessionState<T>, text: string, atime: number): Awaitable<void> {
    return createRecord(this.#store, this.#calls, this.#ctx.config.logger, state, text, atime);
  }

  /** Removes the record of `key`: in the batch of its session when one is in flight, else now. */
  #remove(key: string): Awaitable<unknown> {
    return this.#group.busy(key)
      ? this.#group.submit(key, KILL, false)
      : this.#calls.run('delete', key, () => this.#store.delete(key));
  }

  /**
   * Moves a regenerated session to its new key now (data as it is), deleting the old record. The
   * new record is written first (a failure then loses nothing); the old one is removed in one
   * locked step (in the batch of the old id's writes, if any) that also tells whether it was
   * still there. When it was not (the session was killed, revoked or expired meanwhile), the new
   * record is removed again and the session stays dead: a late regenerate never revives it.
   */
  #finishRegenerate(state: SessionState<T>): Awaitable<void> {
    const ctx = this.#ctx;
    const old = state.replacedKey as string;
    const text = checkSize(payloadText(state), ctx.config.max_size);
    const now = Date.now();
    const started = ctx.clock('created');
    return then(this.#create(state, text, now), () =>
      then(this.#group.submit(old, KILL, false), (outcome) => {
        const key = state.key;
        state.replacedKey = undefined;
        if (!outcome.alive)
          return then(
            this.#calls.run('delete', key, () => this.#store.delete(key)),
            () => {
              state.dead = true;
            },
          );
        ctx.emit('created', { key: key.slice(0, 12), ms: ctx.since(started), bytes: text.length });
        state.isNew = false;
        state.baseline = text;
        state.atime = now;
        return undefined;
      }),
    );
  }

  #cookie(state: SessionState<T>, request: RequestInfo): string {
    return serializeSessionCookie(
      this.#ids.sign(state.id, state.key),
      this.#ctx.optionsFor(state, request),
    );
  }

  commit(state: SessionState<T>, request: RequestInfo): Awaitable<CommitResult> {
    if (state.killed) return this.#commitKill(state, request);
    if (state.dead) return undefined;
    if (state.replacedKey)
      return then(this.#finishRegenerate(state), () =>
        state.dead ? undefined : this.#cookie(state, request),
      );
    const ctx = this.#ctx;
    const { keys, changed } = requestChanges(state as SessionState<SessionData>);
    if (state.isNew && !changed) return state.sendCookie ? this.#cookie(state, request) : undefined;
    const key = state.key;
    if (state.isNew) {
      const text = checkSize(payloadText(state), ctx.config.max_size);
      const started = ctx.clock('created');
      return then(this.#create(state, text, Date.now()), () => {
        ctx.emit('created', {
          key: state.key.slice(0, 12),
          ms: ctx.since(started),
          bytes: text.length,
        });
        return this.#cookie(state, request);
      });
    }
    if (changed) {
      const started = ctx.clock('saved');
      const change: Change = { kind: 'save', state: state as SessionState<SessionData>, keys };
      const outcome = this.#group.submit(key, change, false);
      return isPromise(outcome)
        ? outcome.then((o) => this.#saved(state, request, o, started))
        : this.#saved(state, request, outcome, started);
    }
    const now = Date.now();
    if (now - state.atime < ctx.config.touch_interval * 1000)
      return state.sendCookie ? this.#cookie(state, request) : undefined;
    const started = ctx.clock('touched');
    return then(
      this.#calls.run('touch', key, () => this.#store.touch(key, now)),
      () => {
        if (ctx.events.listens('touched'))
          ctx.events.emit('touched', { key: key.slice(0, 12), ms: ctx.since(started) });
        return state.sendCookie ? this.#cookie(state, request) : undefined;
      },
    );
  }

  /** The commit's answer once its save landed. */
  #saved(
    state: SessionState<T>,
    request: RequestInfo,
    outcome: Outcome,
    started: number,
  ): CommitResult {
    if (outcome.error !== undefined) throw outcome.error;
    if (outcome.text === undefined) return undefined; // killed elsewhere meanwhile: stays dead
    const ctx = this.#ctx;
    if (ctx.events.listens('saved'))
      ctx.events.emit('saved', {
        key: state.key.slice(0, 12),
        ms: ctx.since(started),
        bytes: outcome.text.length,
      });
    return state.sendCookie ? this.#cookie(state, request) : undefined;
  }

  #commitKill(state: SessionState<T>, request: RequestInfo): Awaitable<CommitResult> {
    const ctx = this.#ctx;
    const started = ctx.clock('killed');
    const replaced = state.replacedKey;
    return then(this.#remove(state.key), () =>
      then(replaced === undefined ? undefined : this.#remove(replaced), () => {
        if (!state.isNew || replaced)
          ctx.emit('killed', { key: state.key.slice(0, 12), ms: ctx.since(started) });
        return state.clientHasCookie ? ctx.expiredCookie(request) : undefined;
      }),
    );
  }

  userIndex(): UserIndexAccess {
    const c = this.#ctx.config;
    return {
      store: this.#store,
      timeout: c.timeout,
      lifetime: c.lifetime,
      call: (op, key, run) => this.#calls.run(op, key, run),
    };
  }

  async revoke(key: string): Promise<void> {
    const started = performance.now();
    await this.#calls.run('delete', key, () => this.#store.delete(key));
    this.#ctx.emit('killed', { key: key.slice(0, 12), ms: performance.now() - started });
  }

  async cleanup(): Promise<number> {
    const c = this.#ctx.config;
    return this.#store.cleanup(
      c.lifetime !== undefined ? Math.min(c.timeout, c.lifetime) : c.timeout,
    );
  }

  close(): void {
    this.#cleanup.stop();
  }
}
