// The in-flight cap against a store whose calls never settle: a call stops counting against
// store_max_in_flight once store_timeout has passed, so the cap does not stay full for good.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  MemoryStore,
  SessionManager,
  StoreBusyError,
  type StoredSession,
  StoreUnavailableError,
} from 'websession';

/** A store whose reads never answer (a custom store with a lost callback). */
class NeverStore extends MemoryStore {
  gets = 0;
  override get(_key: string): Promise<StoredSession | undefined> {
    this.gets++;
    return new Promise(() => {});
  }
}

describe('store_max_in_flight with calls that never settle', () => {
  it('a call past store_timeout no longer counts: the next request reaches the store', async () => {
    const store = new NeverStore();
    const manager = new SessionManager(store, {
      store_timeout: 50,
      store_max_in_flight: 2,
      cleanup_interval: 0,
      logger: { warn() {} },
    });
    const cookie = `webpy_session_id=${'ab'.repeat(32)}`;
    const timedOut = (err: unknown) =>
      err instanceof StoreUnavailableError && /timed out/.test((err as Error).message);
    const first = [manager.load({ cookie }), manager.load({ cookie })];
    // The cap is full while they wait.
    await assert.rejects(async () => manager.load({ cookie }), StoreBusyError);
    for (const load of first) await assert.rejects(async () => load, timedOut);
    // Both timed out and never settled: the cap is free again.
    await assert.rejects(async () => manager.load({ cookie }), timedOut);
    assert.equal(store.gets, 3);
    await manager.close();
  });
});
