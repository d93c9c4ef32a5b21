// connectStore: real express-session stores (connect-redis, connect-pg-simple,
// session-file-store, memorystore) as websession stores, through the shared store contract, and
// what the wrapper itself promises (errors, events, the record a connect store sees).
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { after, describe, it } from 'node:test';
import {
  type ConnectStoreLike,
  connectStore,
  generateSessionId,
  SessionManager,
  StoreError,
  StoreUnavailableError,
  storeKey,
} from 'websession';
import { connectKinds } from '../helpers/connect-stores.js';
import { describeStoreContract } from '../helpers/store-contract.js';

const UNLISTABLE = 'the store has neither ids() nor all(): it cannot list its sessions';
const UNLISTABLE_CASES = {
  'keys() lists stored keys': UNLISTABLE,
  'cleanup removes only records idle longer than the timeout': `${UNLISTABLE}; it expires records by their cookie.expires itself`,
};

for (const kind of await connectKinds()) {
  const listable = kind.name === 'connect-redis' || kind.name === 'memorystore';
  describeStoreContract(
    `connectStore(${kind.name})`,
    async () => {
      const made = await kind.make();
      return { store: connectStore(made.store, { kind: kind.name }), teardown: made.teardown };
    },
    kind.skip,
    listable ? {} : UNLISTABLE_CASES,
  );
}

/** A connect-style store in memory whose calls a test can break in each way a store fails. */
class FlakyStore extends EventEmitter implements ConnectStoreLike {
  readonly map = new Map<string, unknown>();
  mode: 'ok' | 'throw' | 'callback' | 'reject' | 'silent' = 'ok';
  #fail(cb: (err?: unknown) => void): boolean {
    if (this.mode === 'throw') throw new Error('thrown synchronously');
    if (this.mode === 'callback') {
      cb(new Error('passed to the callback'));
      return true;
    }
    return false;
  }
  get(sid: string, cb: (err?: unknown, value?: unknown) => void): unknown {
    if (this.mode === 'reject') return Promise.reject(new Error('a rejected promise'));
    if (this.mode === 'silent') return undefined;
    if (this.#fail(cb)) return undefined;
    cb(null, this.map.has(sid) ? JSON.parse(JSON.stringify(this.map.get(sid))) : null);
    return undefined;
  }
  set(sid: string, session: unknown, cb?: (err?: unknown) => void): unknown {
    if (this.#fail(cb ?? (() => {}))) return undefined;
    this.map.set(sid, session);
    cb?.();
    return undefined;
  }
  destroy(sid: string, cb?: (err?: unknown) => void): unknown {
    if (this.#fail(cb ?? (() => {}))) return undefined;
    this.map.delete(sid);
    cb?.();
    return undefined;
  }
}

describe('connectStore', () => {
  const key = () => storeKey(generateSessionId());

  it('gives the connect store a session object with cookie.expires from the idle timeout, and our record', async () => {
    const flaky = new FlakyStore();
    const store = connectStore(flaky);
    store.configure?.({ timeout: 600 });
    const k = key();
    const atime = Date.now();
    await store.set(k, { data: '{"x":1}', atime, user: 'ann' });
    const held = flaky.map.get(k) as {
      cookie: { expires: string; originalMaxAge: number };
      websession: { data: string };
    };
    assert.equal(Date.parse(held.cookie.expires), atime + 600_000);
    assert.equal(held.cookie.originalMaxAge, 600_000);
    assert.equal(held.websession.data, '{"x":1}');
    assert.deepEqual(await store.get(k), { data: '{"x":1}', atime, user: 'ann' });
  });

  it('a record under one of our keys that is not ours reads as none', async () => {
    const flaky = new FlakyStore();
    const store = connectStore(flaky);
    const k = key();
    flaky.map.set(k, { cookie: {}, user: 'not ours' });
    assert.equal(await store.get(k), undefined);
  });

  for (const mode of ['throw', 'callback', 'reject'] as const) {
    it(`a store call that fails (${mode}) is a StoreError rejection`, async () => {
      const flaky = new FlakyStore();
      const store = connectStore(flaky);
      flaky.mode = mode;
      await assert.rejects(async () => store.get(key()), StoreError);
      if (mode !== 'reject')
        await assert.rejects(async () => store.set(key(), { data: 'x', atime: 1 }), StoreError);
    });
  }

  it("the store's disconnect event fails calls at once until its connect event", async () => {
    const flaky = new FlakyStore();
    const store = connectStore(flaky);
    const k = key();
    await store.set(k, { data: 'x', atime: Date.now() });
    flaky.emit('disconnect');
    await assert.rejects(async () => store.get(k), StoreUnavailableError);
    flaky.emit('connect');
    assert.equal((await store.get(k))?.data, 'x');
  });

  it('a store that never calls back fails by the manager’s store_timeout (a 503), not a hang', async () => {
    const flaky = new FlakyStore();
    const store = connectStore(flaky);
    const manager = new SessionManager(store, { cleanup_interval: 0, store_timeout: 200 });
    after(() => manager.close());
    const s = await manager.load({});
    s.n = 1;
    const cookie = (await manager.commit(s)) ?? '';
    flaky.mode = 'silent';
    await assert.rejects(
      async () => manager.load({ cookie: cookie.split(';')[0] }),
      (err: unknown) => err instanceof StoreUnavailableError && /timed out/.test(err.message),
    );
  });

  it('refuses an object that is not an express-session store', () => {
    assert.throws(() => connectStore({} as ConnectStoreLike), StoreError);
  });
});
