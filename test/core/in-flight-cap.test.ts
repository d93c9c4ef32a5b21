// The in-flight cap against a store whose calls never settle: a call stops counting against
// store_max_in_flight once store_timeout has passed, so the cap does not stay full for good.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryStore, SessionManager, StoreBusyError, StoreUnavailableError } from 'websession';
import { SpyStore } from '../helpers/spy-store.js';

describe('store_max_in_flight with calls that never settle', () => {
  it('a call past store_timeout no longer counts: the next request reaches the store', async () => {
    // A store whose calls never answer (a custom store with a lost callback).
    const store = new SpyStore(new MemoryStore());
    store.hang = new Promise(() => {});
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
    assert.equal(store.count('get'), 3);
    await manager.close();
  });
});
