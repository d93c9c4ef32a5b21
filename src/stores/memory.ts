/**
 * MemoryStore: sessions in a Map inside this process, bounded in count, evicting the least
 * recently used. For tests, development and single-process apps.
 * @module
 */
import { LRUCache } from 'lru-cache';
import { ConfigError, InvalidSessionIdError } from '../core/errors.js';
import type {
  CleanupProgress,
  Store,
  StoreCapabilities,
  StoredSession,
  StoreMutator,
} from '../core/store.js';
import { isStoreKey } from './key.js';

/** lru-cache's default get options, passed so that it does not make an empty object per call. */
const AS_IS = Object.freeze({});

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /** Most sessions kept; past it the least recently used is evicted. Default 100,000. */
  maxSessions?: number;
}

/**
 * Keeps sessions in memory (as codec text, so data behaves exactly as in a persistent store).
 * An LRU cache: a read, write or touch is a use, and eviction takes the least recently used, at
 * the same cost whether the store is full or not.
 *
 * @example
 * const store = new MemoryStore({ maxSessions: 10_000 });
 */
export class MemoryStore implements Store {
  readonly kind = 'memory';
  readonly capabilities: StoreCapabilities = { lock: 'process', nativeTtl: false };
  readonly maxSessions: number;
  readonly #map: LRUCache<string, StoredSession>;
  /** User index: user → keys of the sessions bound to it. */
  readonly #users = new Map<string, Set<string>>();

  constructor(options: MemoryStoreOptions = {}) {
    const max = options.maxSessions ?? 100_000;
    if (!Number.isInteger(max) || max < 1)
      throw new ConfigError('MemoryStore maxSessions must be a positive integer');
    this.maxSessions = max;
    this.#map = new LRUCache({
      max,
      dispose: (record, key, reason) => {
        if (reason === 'evict') this.#unindex(key, record);
      },
    });
  }

  /** Number of sessions held. */
  get size(): number {
    return this.#map.size;
  }

  /** The rejection a call with an invalid key answers (stores never throw). */
  #badKey(): Promise<never> {
    return Promise.reject(new InvalidSessionIdError(`[${this.kind}] invalid store key`));
  }

  // The record methods answer at once (plain values): the request cycle stays synchronous.

  get(key: string): StoredSession | undefined | Promise<never> {
    // A key the map holds was checked when it was put: only a missing one is checked here.
    const record = this.#map.get(key, AS_IS);
    if (!record) return isStoreKey(key) ? undefined : this.#badKey();
    return { data: record.data, atime: record.atime };
  }

  set(key: string, record: StoredSession): undefined | Promise<never> {
    if (!isStoreKey(key)) return this.#badKey();
    this.#put(key, record);
    return undefined;
  }

  create(key: string, record: StoredSession): boolean | Promise<never> {
    if (!isStoreKey(key)) return this.#badKey();
    if (this.#map.has(key)) return false;
    this.#put(key, record);
    return true;
  }

  /** Stores `record` under `key`: a record already held is changed in place (no new object). */
  #put(key: string, record: StoredSession, previous = this.#map.get(key, AS_IS)): void {
    if (previous?.user !== record.user) this.#unindex(key, previous);
    if (record.user !== undefined && previous?.user !== record.user) {
      const keys = this.#users.get(record.user) ?? new Set<string>();
      keys.add(key);
      this.#users.set(record.user, keys);
    }
    if (previous) {
      previous.data = record.data;
      previous.atime = record.atime;
      previous.user = record.user;
      return;
    }
    this.#map.set(key, { data: record.data, atime: record.atime, user: record.user });
  }

  #unindex(key: string, record: StoredSession | undefined): void {
    if (record?.user === undefined) return;
    const keys = this.#users.get(record.user);
    keys?.delete(key);
    if (keys?.size === 0) this.#users.delete(record.user);
  }

  #remove(key: string): void {
    this.#unindex(key, this.#map.peek(key));
    this.#map.delete(key);
  }

  async userSessions(user: string): Promise<string[]> {
    return [...(this.#users.get(user) ?? [])];
  }

  update(key: string, mutator: StoreMutator): StoredSession | undefined | Promise<never> {
    // Runs synchronously from read to write: nothing else in this process can interleave.
    const current = this.#map.get(key, AS_IS);
    if (!current && !isStoreKey(key)) return this.#badKey();
    let next: StoredSession | null | undefined;
    try {
      next = mutator(current && { data: current.data, atime: current.atime });
    } catch (err) {
      return Promise.reject(err);
    }
    if (next === null) {
      this.#remove(key);
      return undefined;
    }
    if (next === undefined) return current && { data: current.data, atime: current.atime };
    this.#put(key, next, current);
    return { data: next.data, atime: next.atime };
  }

  touch(key: string, atime: number): undefined | Promise<never> {
    if (!isStoreKey(key)) return this.#badKey();
    const record = this.#map.get(key, AS_IS);
    if (record) this.#put(key, { data: record.data, atime, user: record.user }, record);
    return undefined;
  }

  delete(key: string): undefined | Promise<never> {
    if (!isStoreKey(key)) return this.#badKey();
    this.#remove(key);
    return undefined;
  }

  async cleanup(maxIdleSeconds: number, onProgress?: CleanupProgress): Promise<number> {
    const total = this.#map.size;
    const cutoff = Date.now() - maxIdleSeconds * 1000;
    let removed = 0;
    let seen = 0;
    // A full pass, in slices that yield to the event loop so a large map never stalls requests;
    // over the keys held at the start (a record changed meanwhile is judged as it is then).
    for (const key of [...this.#map.keys()]) {
      const record = this.#map.peek(key);
      if (record && record.atime < cutoff) {
        this.#remove(key);
        removed++;
      }
      if (++seen % 5000 === 0) {
        onProgress?.({ scanned: seen, removed, total });
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
    onProgress?.({ scanned: seen, removed, total });
    return removed;
  }

  async *keys(): AsyncIterable<string> {
    for (const key of [...this.#map.keys()]) yield key;
  }

  /** Codec text of the records moved aside by {@link MemoryStore.quarantine}, oldest first. */
  readonly #quarantined = new Map<string, string>();

  /**
   * Moves a record that failed to decode aside: no longer served nor listed, kept for inspection
   * ({@link MemoryStore.quarantined}); the 100 most recent are kept.
   */
  async quarantine(key: string): Promise<void> {
    if (!isStoreKey(key)) return this.#badKey();
    const record = this.#map.peek(key);
    if (!record) return;
    this.#remove(key);
    this.#quarantined.delete(key);
    this.#quarantined.set(key, record.data);
    if (this.#quarantined.size > 100)
      this.#quarantined.delete(this.#quarantined.keys().next().value as string);
  }

  /** The codec text of a quarantined record (see {@link MemoryStore.quarantine}), or undefined. */
  async quarantined(key: string): Promise<string | undefined> {
    if (!isStoreKey(key)) return this.#badKey();
    return this.#quarantined.get(key);
  }

  async close(): Promise<void> {}
}
