/**
 * What this process last wrote under a key, kept briefly as a better starting point for a
 * conditional write ("write if the stored data is still X").
 *
 * When requests of one session overlap (two tabs, parallel fetches), each loaded the record
 * before the others saved, so its own "if unchanged" write would fail and cost a re-read and a
 * second try. If this process wrote the key after the caller's read, that write is very likely
 * what is stored now: starting from it saves both round trips. It is only a guess, and never
 * trusted: the conditional write still checks the stored data, and a wrong guess only costs the
 * re-read it tried to save. Bounded in count and in record size.
 * @module
 */
import { LRUCache } from 'lru-cache';
import type { StoredSession } from '../core/store.js';

export class LastWritten {
  readonly #map: LRUCache<string, StoredSession>;
  readonly #maxChars: number;

  constructor(max = 256, maxChars = 16_384) {
    this.#map = new LRUCache({ max });
    this.#maxChars = maxChars;
  }

  /**
   * The record to start a conditional write of `key` from: what this process wrote when that is
   * newer than `expected` (the caller read before it), else `expected`.
   */
  basis(key: string, expected: StoredSession): StoredSession {
    const mine = this.#map.get(key);
    return mine && mine.data !== expected.data && mine.atime > expected.atime ? mine : expected;
  }

  /** Notes a record this process just stored (or undefined: deleted or unknown). */
  note(key: string, record: StoredSession | undefined): void {
    if (!record || record.data.length > this.#maxChars) this.#map.delete(key);
    else this.#map.set(key, { data: record.data, atime: record.atime });
  }
}
