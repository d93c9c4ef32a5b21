/**
 * connectStore: any express-session ("connect-style") store as a websession Store, so that
 * connect-redis, connect-pg-simple, connect-mongo, session-file-store, memorystore, DynamoDB and
 * the others serve every adapter and the web layer.
 *
 * What such a store cannot promise, and what is done about it:
 * - its API has no lock: `update` is a read then a write under a per-key lock of this process
 *   (`capabilities.lock: 'process'`). Two processes saving one session at once may lose one
 *   write; one process (or sticky sessions) is safe.
 * - it has no create-only write: `create` is a read then a write under the same lock, so it is
 *   create-only within this process. Across processes that leaves a repeated id, and ids are
 *   256 bits from the CSPRNG, so two visitors never meet on one key in practice.
 * - it lists its sessions only when it has `ids()` or `all()`; without them `keys()` fails and
 *   `cleanup` leaves expiry to the store (each record carries `cookie.expires`, from the idle
 *   timeout, which these stores expire by).
 * @module
 */
import { InvalidSessionIdError, StoreError } from '../core/errors.js';
import type {
  CleanupProgress,
  Store,
  StoreCapabilities,
  StoredSession,
  StoreMutator,
} from '../core/store.js';
import { ConnectCalls, type ConnectSessionRecord, type ConnectStoreLike } from './connect-calls.js';
import { isStoreKey } from './key.js';
import { KeyedMutex } from './keyed-mutex.js';

export type { ConnectCallback, ConnectSessionRecord, ConnectStoreLike } from './connect-calls.js';

/** Options of {@link connectStore}. */
export interface ConnectStoreOptions {
  /** Name in errors, logs and metrics. Default `connect`. */
  kind?: string;
  /**
   * Idle timeout in seconds that records' `cookie.expires` is computed from, until a
   * SessionManager tells the store its own `timeout`. Default 86400.
   */
  timeout?: number;
}

/** The field of a connect-store record that carries our record. */
const FIELD = 'websession';

/** Our record inside a connect-store session object. */
interface Carried {
  data: string;
  atime: number;
  user?: string;
}

function carried(session: unknown): Carried | undefined {
  if (session === null || typeof session !== 'object') return undefined;
  const inner = (session as Record<string, unknown>)[FIELD];
  if (inner === null || typeof inner !== 'object') return undefined;
  const { data, atime, user } = inner as Record<string, unknown>;
  if (typeof data !== 'string' || typeof atime !== 'number' || !Number.isFinite(atime))
    return undefined;
  return typeof user === 'string' ? { data, atime, user } : { data, atime };
}

class ConnectStore implements Store {
  readonly kind: string;
  readonly capabilities: StoreCapabilities = { lock: 'process', nativeTtl: true };
  readonly #calls: ConnectCalls;
  readonly #locks = new KeyedMutex();
  #timeoutMs: number;

  constructor(store: ConnectStoreLike, options: ConnectStoreOptions) {
    this.kind = options.kind ?? 'connect';
    this.#calls = new ConnectCalls(store, this.kind);
    this.#timeoutMs = (options.timeout ?? 86400) * 1000;
  }

  configure(options: { timeout: number }): void {
    this.#timeoutMs = options.timeout * 1000;
  }

  /** The session object the connect store keeps: our record, and an expiry it understands. */
  #wrap(record: StoredSession): ConnectSessionRecord & { [FIELD]: Carried } {
    const expires = record.atime + this.#timeoutMs;
    const inner: Carried = { data: record.data, atime: record.atime };
    if (record.user !== undefined) inner.user = record.user;
    return {
      cookie: {
        originalMaxAge: this.#timeoutMs,
        // memorystore reads the remaining lifetime from `maxAge`; the others from `expires`.
        maxAge: Math.max(1000, expires - Date.now()),
        expires: new Date(expires).toISOString(),
      },
      [FIELD]: inner,
    };
  }

  #locked<T>(key: string, fn: () => Promise<T>): Promise<T> {
    if (!isStoreKey(key))
      return Promise.reject(new InvalidSessionIdError(`[${this.kind}] invalid store key`));
    return this.#locks.run(key, fn);
  }

  async #read(key: string): Promise<StoredSession | undefined> {
    const found = carried(await this.#calls.get(key));
    return found && { ...found };
  }

  async #write(key: string, record: StoredSession): Promise<void> {
    await this.#calls.set(key, this.#wrap(record));
  }

  get(key: string): Promise<StoredSession | undefined> {
    if (!isStoreKey(key))
      return Promise.reject(new InvalidSessionIdError(`[${this.kind}] invalid store key`));
    return this.#read(key);
  }

  set(key: string, record: StoredSession): Promise<void> {
    return this.#locked(key, () => this.#write(key, record));
  }

  create(key: string, record: StoredSession): Promise<boolean> {
    return this.#locked(key, async () => {
      if ((await this.#calls.get(key)) !== undefined) return false;
      await this.#write(key, record);
      return true;
    });
  }

  update(key: string, mutator: StoreMutator): Promise<StoredSession | undefined> {
    return this.#locked(key, async () => {
      const current = await this.#read(key);
      const next = mutator(current);
      if (next === undefined) return current;
      if (next === null) {
        await this.#calls.destroy(key);
        return undefined;
      }
      await this.#write(key, next);
      return { data: next.data, atime: next.atime };
    });
  }

  /** A rewrite of the record with its new access time: the stores' own touch keeps no atime. */
  touch(key: string, atime: number): Promise<void> {
    return this.#locked(key, async () => {
      const current = await this.#read(key);
      if (current) await this.#write(key, { ...current, atime });
    });
  }

  delete(key: string): Promise<void> {
    return this.#locked(key, async () => {
      await this.#calls.destroy(key);
    });
  }

  /**
   * Removes our records idle longer than `maxIdleSeconds`, when the store can list them; else 0
   * (the store expires records by their `cookie.expires` itself).
   */
  async cleanup(maxIdleSeconds: number, onProgress?: CleanupProgress): Promise<number> {
    if (!this.#calls.listable) return 0;
    const cutoff = Date.now() - maxIdleSeconds * 1000;
    const listed = (await this.#calls.list()).filter((entry) => isStoreKey(entry.sid));
    let scanned = 0;
    let removed = 0;
    for (const { sid, session } of listed) {
      scanned++;
      const found = carried(session ?? (await this.#calls.get(sid)));
      if (found && found.atime < cutoff) {
        const gone = await this.update(sid, (current) =>
          current && current.atime < cutoff ? null : undefined,
        );
        if (gone === undefined) removed++;
      }
      if (scanned % 1000 === 0) onProgress?.({ scanned, removed, total: listed.length });
    }
    onProgress?.({ scanned, removed, total: listed.length });
    return removed;
  }

  async *keys(): AsyncIterable<string> {
    if (!this.#calls.listable)
      throw new StoreError(
        this.kind,
        'this express-session store cannot list its sessions (it has neither ids() nor all())',
      );
    for (const { sid } of await this.#calls.list()) if (isStoreKey(sid)) yield sid;
  }

  async close(): Promise<void> {
    this.#calls.detach();
  }
}

/**
 * An express-session store object (connect-redis, connect-pg-simple, connect-mongo,
 * session-file-store, memorystore…) as a websession {@link Store}. Records are kept under our
 * store keys as `{ cookie: { expires, … }, websession: { data, atime } }`, so the store's own
 * expiry works. The lock of `update` reaches this process only (see the module's notes); the
 * store's `disconnect` event makes calls fail at once (503) until its `connect` event. Closing
 * the wrapper leaves the store itself open (it may be shared).
 *
 * @example
 * const store = connectStore(new RedisStore({ client }));
 * const manager = new SessionManager(store, { secret_key });
 */
export function connectStore(store: ConnectStoreLike, options: ConnectStoreOptions = {}): Store {
  return new ConnectStore(store, options);
}
