/**
 * MemoryStore: sessions in a Map inside this process, bounded in count, evicting the least
 * recently used. For tests, development and single-process apps.
 * @module
 */
import { ConfigError } from '../core/errors.js';
import { assertKey } from './key.js';
import type { Store, StoreCapabilities, StoredSession, StoreMutator } from './store.js';

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /** Most sessions kept; past it the least recently used is evicted. Default 100,000. */
  maxSessions?: number;
}

/**
 * Keeps sessions in memory (as codec text, so data behaves exactly as in a persistent store).
 * Map order is write/touch order, so eviction takes the least recently used first.
 *
 * @example
 * const store = new MemoryStore({ maxSessions: 10_000 });
 */
export class MemoryStore implements Store {
  readonly kind = 'memory';
  readonly capabilities: StoreCapabilities = { lock: 'process', nativeTtl: false };
  readonly maxSessions: number;
  readonly #map = new Map<string, StoredSession>();

  constructor(options: MemoryStoreOptions = {}) {
    const max = options.maxSessions ?? 100_000;
    if (!Number.isInteger(max) || max < 1)
      throw new ConfigError('MemoryStore maxSessions must be a positive integer');
    this.maxSessions = max;
  }

  /** Number of sessions held. */
  get size(): number {
    return this.#map.size;
  }

  async get(key: string): Promise<StoredSession | undefined> {
    assertKey(key, this.kind);
    const record = this.#map.get(key);
    return record && { data: record.data, atime: record.atime };
  }

  async set(key: string, record: StoredSession): Promise<void> {
    assertKey(key, this.kind);
    this.#put(key, { data: record.data, atime: record.atime });
  }

  #put(key: string, record: StoredSession): void {
    this.#map.delete(key);
    this.#map.set(key, record);
    while (this.#map.size > this.maxSessions) {
      const oldest = this.#map.keys().next().value as string;
      this.#map.delete(oldest);
    }
  }

  async update(key: string, mutator: StoreMutator): Promise<StoredSession | undefined> {
    assertKey(key, this.kind);
    // Runs synchronously from read to write: nothing else in this process can interleave.
    const current = this.#map.get(key);
    const next = mutator(current && { data: current.data, atime: current.atime });
    if (next === null) {
      this.#map.delete(key);
      return undefined;
    }
    if (next === undefined) return current && { data: current.data, atime: current.atime };
    this.#put(key, { data: next.data, atime: next.atime });
    return { data: next.data, atime: next.atime };
  }

  async touch(key: string, atime: number): Promise<void> {
    assertKey(key, this.kind);
    const record = this.#map.get(key);
    if (!record) return;
    this.#map.delete(key);
    this.#map.set(key, { data: record.data, atime });
  }

  async delete(key: string): Promise<void> {
    assertKey(key, this.kind);
    this.#map.delete(key);
  }

  async cleanup(maxIdleSeconds: number): Promise<number> {
    const cutoff = Date.now() - maxIdleSeconds * 1000;
    let removed = 0;
    let seen = 0;
    // A full pass, in slices that yield to the event loop so a large map never stalls requests.
    for (const [key, record] of this.#map) {
      if (record.atime < cutoff) {
        this.#map.delete(key);
        removed++;
      }
      if (++seen % 5000 === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return removed;
  }

  async *keys(): AsyncIterable<string> {
    for (const key of [...this.#map.keys()]) yield key;
  }

  async close(): Promise<void> {}
}
