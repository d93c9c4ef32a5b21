/**
 * Calls into an express-session ("connect-style") store: its callback API turned into promises
 * that reject with a StoreError, by the store's own session ids (raw, as express-session keeps
 * them). Used by {@link connectStore} (which keys records by our store keys) and by the
 * express-session migration (which reads and removes the old records by their raw ids).
 * @module
 */
import { isPromise } from '../core/awaitable.js';
import { StoreError, StoreUnavailableError } from '../core/errors.js';

/** A callback as express-session stores call it: an error first, then a value. */
export type ConnectCallback<T = unknown> = (err?: unknown, value?: T) => void;

/**
 * The store API of express-session (what connect-redis, connect-pg-simple, connect-mongo,
 * session-file-store, memorystore… implement): `get`, `set`, `destroy`, and optionally `touch`,
 * `all`, `ids`, `length`, `clear`, with the events of its `Store` class (`disconnect`, `connect`).
 */
export interface ConnectStoreLike {
  get(sid: string, callback: ConnectCallback<unknown>): unknown;
  set(sid: string, session: ConnectSessionRecord, callback?: ConnectCallback<unknown>): unknown;
  destroy(sid: string, callback?: ConnectCallback<unknown>): unknown;
  touch?(sid: string, session: ConnectSessionRecord, callback?: ConnectCallback<unknown>): unknown;
  /** Every session: an array (each with its `id`, as connect-redis) or an object by id. */
  all?(callback: ConnectCallback<unknown>): unknown;
  /** Every session id (connect-redis, memorystore). */
  ids?(callback: ConnectCallback<unknown>): unknown;
  length?(callback: ConnectCallback<unknown>): unknown;
  clear?(callback?: ConnectCallback<unknown>): unknown;
  on?(event: string, listener: () => void): unknown;
  removeListener?(event: string, listener: () => void): unknown;
  close?(): unknown;
}

/** A session as express-session stores keep it: a JSON object with its cookie's lifetime. */
export interface ConnectSessionRecord {
  cookie: {
    originalMaxAge: number | null;
    maxAge?: number | undefined;
    expires?: string | Date | null | undefined;
  };
}

/** Raw-id calls on one connect-style store; `disconnect`/`connect` events make calls fail fast. */
export class ConnectCalls {
  readonly kind: string;
  readonly store: ConnectStoreLike;
  /** Set by the store's `disconnect` event, cleared by `connect`: calls fail at once meanwhile. */
  #down = false;
  readonly #onDown = () => {
    this.#down = true;
  };
  readonly #onUp = () => {
    this.#down = false;
  };

  constructor(store: ConnectStoreLike, kind: string) {
    const ok =
      store !== null &&
      typeof store === 'object' &&
      typeof store.get === 'function' &&
      typeof store.set === 'function' &&
      typeof store.destroy === 'function';
    if (!ok)
      throw new StoreError(
        kind,
        'needs an express-session store object (with get, set and destroy methods)',
      );
    this.store = store;
    this.kind = kind;
    store.on?.('disconnect', this.#onDown);
    store.on?.('connect', this.#onUp);
  }

  /** Stops listening to the store's events. */
  detach(): void {
    this.store.removeListener?.('disconnect', this.#onDown);
    this.store.removeListener?.('connect', this.#onUp);
  }

  /**
   * Calls `method` with a callback; resolves with what the callback got. A synchronous throw, an
   * error passed to the callback, or a rejected promise returned by the method (stores written
   * with async methods) all become a StoreUnavailableError rejection. A callback called twice
   * counts once.
   */
  call<T>(op: string, invoke: (done: ConnectCallback<T>) => unknown): Promise<T | undefined> {
    if (this.#down)
      return Promise.reject(
        new StoreUnavailableError(this.kind, `${op} failed: the store reported a disconnect`),
      );
    return new Promise<T | undefined>((resolve, reject) => {
      let settled = false;
      const done: ConnectCallback<T> = (err, value) => {
        if (settled) return;
        settled = true;
        if (err === undefined || err === null) resolve(value);
        else reject(this.#error(op, err));
      };
      try {
        const out = invoke(done);
        if (isPromise(out)) out.then(undefined, (err: unknown) => done(err ?? 'rejected'));
      } catch (err) {
        done(err ?? 'threw');
      }
    });
  }

  #error(op: string, err: unknown): StoreError {
    if (err instanceof StoreError) return err;
    const message = err instanceof Error ? err.message : String(err);
    return new StoreUnavailableError(this.kind, `${op} failed: ${message}`, { cause: err });
  }

  /**
   * The session stored under `sid`, or undefined: a store answering null or nothing, or an
   * ENOENT error (session-file-store's "no such session", which express-session reads so too).
   */
  async get(sid: string): Promise<unknown> {
    try {
      const value = await this.call<unknown>('get', (done) => this.store.get(sid, done));
      return value ?? undefined;
    } catch (err) {
      if ((err as { cause?: { code?: unknown } }).cause?.code === 'ENOENT') return undefined;
      throw err;
    }
  }

  set(sid: string, session: ConnectSessionRecord): Promise<unknown> {
    return this.call('set', (done) => this.store.set(sid, session, done));
  }

  destroy(sid: string): Promise<unknown> {
    return this.call('destroy', (done) => this.store.destroy(sid, done));
  }

  /** True when the store can list its sessions (`ids` or `all`). */
  get listable(): boolean {
    return typeof this.store.ids === 'function' || typeof this.store.all === 'function';
  }

  /**
   * Every session id with its record when the listing gave it (`all`), or without (`ids`).
   * Throws a StoreError when the store has neither.
   */
  async list(): Promise<{ sid: string; session?: unknown }[]> {
    const store = this.store;
    if (typeof store.ids === 'function') {
      const ids = await this.call<unknown>('ids', (done) => store.ids?.(done));
      return Array.isArray(ids)
        ? ids.filter((id): id is string => typeof id === 'string').map((sid) => ({ sid }))
        : [];
    }
    if (typeof store.all === 'function') {
      const all = await this.call<unknown>('all', (done) => store.all?.(done));
      if (Array.isArray(all))
        return all
          .filter((s) => s !== null && typeof s === 'object' && typeof s.id === 'string')
          .map((session: { id: string }) => ({ sid: session.id, session }));
      if (all !== null && typeof all === 'object')
        return Object.entries(all as Record<string, unknown>).map(([sid, session]) => ({
          sid,
          session,
        }));
      return [];
    }
    throw new StoreError(
      this.kind,
      'this express-session store cannot list its sessions (it has neither ids() nor all())',
    );
  }

  /** How many sessions the store holds (`length`, else a listing), or undefined when unknown. */
  async length(): Promise<number | undefined> {
    const store = this.store;
    if (typeof store.length === 'function') {
      const n = await this.call<unknown>('length', (done) => store.length?.(done));
      if (typeof n === 'number' && Number.isFinite(n)) return n;
    }
    if (!this.listable) return undefined;
    return (await this.list()).length;
  }
}
