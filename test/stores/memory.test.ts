import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ConfigError,
  generateSessionId,
  InvalidSessionIdError,
  MemoryStore,
  storeKey,
} from 'websession';
import { describeStoreContract } from '../helpers/store-contract.js';
import { storeKind } from '../helpers/stores.js';

describeStoreContract('MemoryStore', (await storeKind('memory')).make);

describe('MemoryStore', () => {
  it('evicts the least recently used past maxSessions', async () => {
    const store = new MemoryStore({ maxSessions: 3 });
    const keys = Array.from({ length: 4 }, () => storeKey(generateSessionId()));
    for (const k of keys.slice(0, 3)) await store.set(k, { data: k, atime: Date.now() });
    await store.touch(keys[0]!, Date.now()); // keys[0] is now the most recent
    await store.set(keys[3]!, { data: 'new', atime: Date.now() });
    assert.equal(store.size, 3);
    assert.equal(await store.get(keys[1]!), undefined, 'the least recently used went');
    assert.ok(await store.get(keys[0]!));
    assert.ok(await store.get(keys[3]!));
  });

  it('counts a read as a use: a session only read is not the one evicted', async () => {
    const store = new MemoryStore({ maxSessions: 3 });
    const keys = Array.from({ length: 4 }, () => storeKey(generateSessionId()));
    for (const k of keys.slice(0, 3)) await store.set(k, { data: k, atime: Date.now() });
    assert.ok(await store.get(keys[0]!)); // read, not written or touched
    await store.set(keys[3]!, { data: 'new', atime: Date.now() });
    assert.equal(store.size, 3);
    assert.ok(await store.get(keys[0]!), 'the session just read stays');
    assert.equal(await store.get(keys[1]!), undefined, 'the least recently used went');
  });

  it('stays at its bound through many evictions, keeping the most recent', async () => {
    const store = new MemoryStore({ maxSessions: 1000 });
    const keys = Array.from({ length: 5000 }, () => storeKey(generateSessionId()));
    for (const k of keys) await store.set(k, { data: k, atime: Date.now() });
    assert.equal(store.size, 1000);
    assert.equal(await store.get(keys[3999]!), undefined, 'the first 4,000 went');
    for (const k of keys.slice(4000)) assert.equal((await store.get(k))?.data, k);
    let listed = 0;
    for await (const k of store.keys()) listed += keys.indexOf(k) >= 4000 ? 1 : 0;
    assert.equal(listed, 1000, 'keys() lists exactly the sessions held');
  });

  it('drops an evicted session from its user index', async () => {
    const store = new MemoryStore({ maxSessions: 2 });
    const keys = Array.from({ length: 3 }, () => storeKey(generateSessionId()));
    await store.set(keys[0]!, { data: 'a', atime: Date.now(), user: 'ann' });
    await store.set(keys[1]!, { data: 'b', atime: Date.now(), user: 'ann' });
    await store.set(keys[2]!, { data: 'c', atime: Date.now(), user: 'bob' });
    assert.deepEqual(await store.userSessions('ann'), [keys[1]]);
    assert.deepEqual(await store.userSessions('bob'), [keys[2]]);
  });

  it('keeps the 100 records quarantined last, for quarantined(key)', async () => {
    const store = new MemoryStore();
    const keys = Array.from({ length: 101 }, () => storeKey(generateSessionId()));
    for (const [i, k] of keys.entries()) {
      await store.set(k, { data: `bad ${i}`, atime: Date.now() });
      await store.quarantine(k);
    }
    assert.equal(store.size, 0, 'no longer served');
    assert.equal(await store.quarantined(keys[0]!), undefined, 'the oldest went');
    assert.equal(await store.quarantined(keys[1]!), 'bad 1');
    assert.equal(await store.quarantined(keys[100]!), 'bad 100');
    await assert.rejects(store.quarantined('not a key'), InvalidSessionIdError);
  });

  it('rejects a bad bound', () => {
    assert.throws(() => new MemoryStore({ maxSessions: 0 }), ConfigError);
    assert.throws(() => new MemoryStore({ maxSessions: 1.5 }), ConfigError);
  });
});
