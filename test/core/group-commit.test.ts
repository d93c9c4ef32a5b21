// Group commit on every store: while a write of a session is in flight (or, for stores whose
// writes are costly, within one event-loop turn), later saves of it go to the store together in
// one write, applied in arrival order.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type Session,
  SessionManager,
  type Store,
  type StoredSession,
  StoreError,
  type StoreMutator,
} from 'websession';
import { errorAnswer } from '../../src/adapters/common.js';
import { type MadeStore, storeKinds } from '../helpers/stores.js';

type Data = { count: number; note: string };

/** A store counted (and made to fail on demand) without changing how it answers. */
class CountedStore implements Store {
  readonly inner: Store;
  updates = 0;
  /** The next update rejects with this error (once). */
  failNext: Error | undefined;
  constructor(inner: Store) {
    this.inner = inner;
  }
  get kind() {
    return this.inner.kind;
  }
  get capabilities() {
    return this.inner.capabilities;
  }
  configure(options: { timeout: number }) {
    this.inner.configure?.(options);
  }
  get(key: string) {
    return this.inner.get(key);
  }
  set(key: string, record: StoredSession) {
    return this.inner.set(key, record);
  }
  update(key: string, mutator: StoreMutator, expected?: StoredSession) {
    this.updates++;
    const failure = this.failNext;
    if (failure) {
      this.failNext = undefined;
      return Promise.reject(failure);
    }
    return this.inner.update(key, mutator, expected);
  }
  touch(key: string, atime: number) {
    return this.inner.touch(key, atime);
  }
  delete(key: string) {
    return this.inner.delete(key);
  }
  cleanup(maxIdleSeconds: number) {
    return this.inner.cleanup(maxIdleSeconds);
  }
  keys() {
    return this.inner.keys();
  }
  close() {
    return this.inner.close();
  }
}

const kinds = await storeKinds();

for (const kind of kinds) {
  describe(`group commit: ${kind.name}`, { skip: kind.skip }, () => {
    let made: MadeStore;
    let store: CountedStore;
    let manager: SessionManager<Data>;
    before(async () => {
      made = await kind.make();
      store = new CountedStore(made.store);
      manager = new SessionManager<Data>(store, { cleanup_interval: 0 });
    });
    after(async () => {
      await manager.close();
      await made.teardown();
    });

    /** A stored session with `count` 0; its cookie and store key. */
    async function stored(): Promise<string> {
      const s = await manager.load({});
      s.count = 0;
      const cookie = (await manager.commit(s))?.split(';')[0];
      assert.ok(cookie);
      return cookie;
    }

    /** `n` requests of the session, all loaded before any of them saves. */
    function requests(cookie: string, n: number): Promise<Session<Data>[]> {
      return Promise.all(Array.from({ length: n }, async () => manager.load({ cookie })));
    }

    async function count(cookie: string): Promise<number | undefined> {
      const s = await manager.load({ cookie });
      return s.get('count');
    }

    it('64 parallel updates of one session give 64, in fewer store writes than requests', async () => {
      const cookie = await stored();
      const sessions = await requests(cookie, 64);
      store.updates = 0;
      const views = await Promise.all(
        sessions.map(async (s) => {
          const view = await s.update((d) => {
            d.count = (d.count ?? 0) + 1;
          });
          await manager.commit(s);
          return view.count;
        }),
      );
      assert.deepEqual(
        [...views].sort((a, b) => (a ?? 0) - (b ?? 0)),
        Array.from({ length: 64 }, (_, i) => i + 1),
        "each request sees its own update's result",
      );
      assert.equal(await count(cookie), 64);
      assert.ok(store.updates < 64, `${store.updates} store writes for 64 updates`);
    });

    // MemoryStore writes a save at once (a Map entry: nothing to gain by waiting); every other
    // store gathers parallel saves.
    it('64 parallel saves of different keys of one session all persist (in fewer writes, but for MemoryStore)', async () => {
      const cookie = await stored();
      const sessions = await requests(cookie, 64);
      store.updates = 0;
      await Promise.all(
        sessions.map(async (s, i) => {
          s.set(`k${i}` as 'note', 'x');
          await manager.commit(s);
        }),
      );
      const s = await manager.load({ cookie });
      for (let i = 0; i < 64; i++) assert.equal(s.get(`k${i}` as 'note'), 'x', `k${i}`);
      if (store.kind === 'memory')
        assert.equal(store.updates, 64); // a Map entry: written at once
      else assert.ok(store.updates < 64, `${store.updates} store writes for 64 saves`);
    });

    it('a kill inside a batch leaves the session dead: later saves in it do not revive it', async () => {
      const cookie = await stored();
      const [first, killer, late] = await requests(cookie, 3);
      const done = Promise.all([
        first!.update((d) => {
          d.count = 1;
        }),
        (async () => {
          killer!.kill();
          await manager.commit(killer!);
        })(),
        late!.update((d) => {
          d.count = 2;
        }),
      ]);
      await done;
      late!.note = 'after the kill';
      assert.equal(await manager.commit(late!), undefined, 'no cookie for a dead session');
      assert.equal(await manager.commit(first!), undefined);
      const again = await manager.load({ cookie });
      assert.equal(again.isNew, true, 'the session stays dead');
    });

    it('a failed write answers every request of its batch 503 and keeps the record as saved', async () => {
      const cookie = await stored();
      const seed = await manager.load({ cookie });
      await seed.update((d) => {
        d.count = 5;
      });
      await manager.commit(seed);
      const sessions = await requests(cookie, 8);
      store.updates = 0;
      store.failNext = new Error('disk on fire');
      const results = await Promise.allSettled(
        sessions.map((s) =>
          s.update((d) => {
            d.count = (d.count ?? 0) + 1;
          }),
        ),
      );
      const rejected = (r: PromiseSettledResult<unknown>) => {
        assert.equal(r.status, 'rejected');
        const error = (r as PromiseRejectedResult).reason;
        assert.ok(error instanceof StoreError, String(error));
        assert.equal(errorAnswer(error)?.status, 503);
      };
      if (store.kind === 'memory') {
        // A store that answers at once takes a save as it comes: the first is written (and fails)
        // alone, the others, which came while its failure was pending, go in the next write.
        assert.equal(store.updates, 2, 'the failed write, then one for the rest');
        rejected(results[0]!);
        for (const r of results.slice(1)) assert.equal(r.status, 'fulfilled');
        assert.equal(await count(cookie), 12, 'the other saves landed');
        return;
      }
      assert.equal(store.updates, 1, 'one write for the whole batch');
      for (const r of results) rejected(r);
      assert.equal(await count(cookie), 5, 'the record keeps its last saved state');
    });
  });
}
