// The shared store contract: every store runs this same suite (see test/stores/*.test.ts).
import assert from 'node:assert/strict';
import { after, before, describe, type TestContext, it as test } from 'node:test';
import {
  generateSessionId,
  InvalidSessionIdError,
  SessionManager,
  type Store,
  type StoredSession,
  storeKey,
} from 'websession';
import type { MadeStore } from './stores.js';

/**
 * What the contract needs of a made store: a registry kind's {@link MadeStore} (its `make`
 * passes as is), or a variant a store's own test file makes (another client, a URL); the
 * contract closes `store`, then `teardown` removes what was created.
 */
export type StoreFixture = Pick<MadeStore, 'store'> & Partial<Pick<MadeStore, 'teardown'>>;

const key = () => storeKey(generateSessionId());
const rec = (data: string, atime = Date.now()) => ({ data, atime });

/**
 * Runs the store contract against the store `make` returns. `make` is called once per suite;
 * tests use fresh random keys so they never see each other's records.
 * `skip` (a reason) skips the whole suite, e.g. when a server is missing outside CI;
 * `inapplicable` skips single cases, by title, with the reason the store cannot meet them (an
 * express-session store that cannot list its sessions has no `keys()`).
 */
export function describeStoreContract(
  name: string,
  make: () => Promise<StoreFixture>,
  skip?: string | false,
  inapplicable: Readonly<Record<string, string>> = {},
): void {
  const it = (title: string, fn: (t: TestContext) => Promise<void>) =>
    test(title, { skip: inapplicable[title] ?? false }, fn);
  describe(`store contract: ${name}`, { skip: skip || false }, () => {
    let fx: StoreFixture;
    let store: Store;
    before(async () => {
      fx = await make();
      store = fx.store;
    });
    after(async () => {
      await fx?.store.close();
      await fx?.teardown?.();
    });

    it('returns undefined for a missing key', async () => {
      assert.equal(await store.get(key()), undefined);
    });

    it('round-trips data and atime', async () => {
      const k = key();
      const atime = Date.now() - 5000;
      await store.set(k, rec('[{"a":1},"x"]', atime));
      const got = await store.get(k);
      assert.ok(got);
      assert.equal(got.data, '[{"a":1},"x"]');
      assert.ok(Math.abs(got.atime - atime) < 1000, `atime ${got.atime} vs ${atime}`);
    });

    it('keeps large and non-ASCII data exactly', async () => {
      const k = key();
      const data = `${'x'.repeat(60_000)}ünïcødé ✓ 日本 \u{1F600} "quotes" \\ back`;
      await store.set(k, rec(data));
      assert.equal((await store.get(k))?.data, data);
    });

    it('set replaces an existing record', async () => {
      const k = key();
      await store.set(k, rec('one'));
      await store.set(k, rec('two'));
      assert.equal((await store.get(k))?.data, 'two');
    });

    it('create writes only a missing record: false, and the record untouched, when the key is taken', async () => {
      assert.equal(typeof store.create, 'function', 'every built-in store has create()');
      const create = (k: string, r: StoredSession) =>
        (store.create as NonNullable<Store['create']>).call(store, k, r);
      const k = key();
      assert.equal(await create(k, { ...rec('first'), user: 'ann' }), true);
      assert.equal((await store.get(k))?.data, 'first');
      assert.equal(await create(k, rec('second')), false);
      assert.equal((await store.get(k))?.data, 'first', 'never overwritten');
      // Parallel creates of one key: exactly one wins, and its record is the one stored.
      const k2 = key();
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) => create(k2, rec(`racer ${i}`))),
      );
      assert.equal(results.filter(Boolean).length, 1, JSON.stringify(results));
      assert.equal((await store.get(k2))?.data, `racer ${results.indexOf(true)}`);
      await store.delete(k);
      assert.equal(await create(k, rec('again')), true, 'free again once deleted');
      assert.equal((await store.get(k))?.data, 'again');
    });

    it('delete removes, and deleting a missing key is a no-op', async () => {
      const k = key();
      await store.set(k, rec('x'));
      await store.delete(k);
      assert.equal(await store.get(k), undefined);
      await store.delete(k);
      await store.delete(key());
    });

    it('touch changes atime but not data, and never creates a record', async () => {
      const k = key();
      await store.set(k, rec('keep', Date.now() - 100_000));
      const later = Date.now();
      await store.touch(k, later);
      const got = await store.get(k);
      assert.equal(got?.data, 'keep');
      assert.ok(Math.abs((got?.atime ?? 0) - later) < 1000);
      const missing = key();
      await store.touch(missing, Date.now());
      assert.equal(await store.get(missing), undefined);
    });

    it('update creates, modifies, keeps and deletes', async () => {
      const k = key();
      const created = await store.update(k, (cur) => (cur ? undefined : rec('1')));
      assert.equal(created?.data, '1');
      const changed = await store.update(k, (cur) => rec(String(Number(cur?.data) + 1)));
      assert.equal(changed?.data, '2');
      const kept = await store.update(k, () => undefined);
      assert.equal(kept?.data, '2');
      assert.equal((await store.get(k))?.data, '2');
      const gone = await store.update(k, () => null);
      assert.equal(gone, undefined);
      assert.equal(await store.get(k), undefined);
      assert.equal(await store.update(k, () => undefined), undefined);
    });

    it('update is atomic: 50 parallel increments end at 50', async () => {
      const k = key();
      await store.set(k, rec('0'));
      await Promise.all(
        Array.from({ length: 50 }, () =>
          store.update(k, (cur) => rec(String(Number(cur?.data ?? 0) + 1))),
        ),
      );
      assert.equal((await store.get(k))?.data, '50');
    });

    it('update with an expected record: written when still current, merged from the stored one when not', async () => {
      const k = key();
      await store.set(k, rec('1'));
      const read = await store.get(k);
      assert.ok(read);
      const plusOne = (cur: StoredSession | undefined) => rec(String(Number(cur?.data) + 1));
      assert.equal((await store.update(k, plusOne, read))?.data, '2');
      assert.equal((await store.get(k))?.data, '2');
      // `read` is stale now: a store that writes "if unchanged" must notice and use the real record.
      const seen: string[] = [];
      const next = await store.update(
        k,
        (cur) => {
          seen.push(String(cur?.data));
          return plusOne(cur);
        },
        read,
      );
      assert.equal(next?.data, '3');
      assert.equal((await store.get(k))?.data, '3');
      assert.ok(seen.includes('2'), `the mutator saw the stored record (saw ${seen.join(', ')})`);
      // 30 parallel increments, all from the same stale read, still end at +30.
      await Promise.all(Array.from({ length: 30 }, () => store.update(k, plusOne, read)));
      assert.equal((await store.get(k))?.data, '33');
      // An expected record for a key that is gone does not bring it back.
      await store.delete(k);
      assert.equal(
        await store.update(k, (cur) => (cur ? plusOne(cur) : undefined), read),
        undefined,
      );
      assert.equal(await store.get(k), undefined);
    });

    it('a mutator that throws leaves the record as it was and frees the lock', async () => {
      const k = key();
      await store.set(k, rec('safe'));
      await assert.rejects(
        async () =>
          store.update(k, () => {
            throw new Error('boom');
          }),
        /boom/,
      );
      assert.equal((await store.get(k))?.data, 'safe');
      const next = await store.update(k, () => rec('after'));
      assert.equal(next?.data, 'after');
    });

    it('cleanup removes only records idle longer than the timeout', async () => {
      const old1 = key();
      const old2 = key();
      const fresh = key();
      await store.set(old1, rec('old', Date.now() - 7200_000));
      await store.set(old2, rec('old', Date.now() - 7200_000));
      await store.set(fresh, rec('fresh'));
      const removed = await store.cleanup(3600);
      if (!store.capabilities.nativeTtl) assert.ok(removed >= 2, `removed ${removed}`);
      assert.equal(await store.get(old1), undefined);
      assert.equal(await store.get(old2), undefined);
      assert.equal((await store.get(fresh))?.data, 'fresh');
    });

    it('keys() lists stored keys', async () => {
      const a = key();
      const b = key();
      await store.set(a, rec('a'));
      await store.set(b, rec('b'));
      const all = new Set<string>();
      for await (const k of store.keys()) all.add(k);
      assert.ok(all.has(a) && all.has(b));
    });

    it('rejects malformed keys before any I/O', async () => {
      for (const bad of [
        '../../etc/passwd',
        '',
        `${'ABCDEF'.repeat(10)}ABCD`,
        'g'.repeat(64),
        `${key()}/..`,
        `${key().slice(0, 63)}\0`,
      ]) {
        await assert.rejects(async () => store.get(bad), InvalidSessionIdError);
        await assert.rejects(async () => store.set(bad, rec('x')), InvalidSessionIdError);
        await assert.rejects(async () => store.delete(bad), InvalidSessionIdError);
        let mutated = false;
        await assert.rejects(
          async () =>
            store.update(bad, (current) => {
              mutated = true;
              return current;
            }),
          InvalidSessionIdError,
        );
        assert.equal(mutated, false, 'update never runs the mutator on a malformed key');
      }
    });

    it('keeps a user index, when it has one', async (t) => {
      if (!store.userSessions) {
        t.skip(`${store.kind} has no user index`);
        return;
      }
      const user = `u-${Math.random().toString(36).slice(2)}`;
      const other = `${user}-other`;
      const [k1, k2, k3] = [key(), key(), key()];
      await store.set(k1, { ...rec('1'), user });
      await store.update(k2, () => ({ ...rec('2'), user }));
      await store.set(k3, { ...rec('3'), user: other });
      const listed = new Set(await store.userSessions(user));
      assert.ok(listed.has(k1) && listed.has(k2), 'both sessions of the user are listed');
      assert.ok(!listed.has(k3), "another user's session is not");
      await store.delete(k1);
      assert.ok(!(await store.userSessions(user)).includes(k1), 'a deleted session is not listed');
      await store.set(k2, rec('expired', Date.now() - 7200_000));
      await store.cleanup(3600);
      assert.ok(
        !(await store.userSessions(user)).includes(k2),
        'an expired, cleaned session is not listed',
      );
      assert.deepEqual(await store.userSessions(`${user}-nobody`), []);
    });

    it('quarantine, when it has one, takes a record out of get() and keys()', async (t) => {
      if (!store.quarantine) {
        t.skip(`${store.kind} has no quarantine`);
        return;
      }
      const k = key();
      const kept = key();
      await store.set(k, rec('garbage{'));
      await store.set(kept, rec('fine'));
      await store.quarantine(k);
      assert.equal(await store.get(k), undefined);
      const all: string[] = [];
      for await (const listed of store.keys()) all.push(listed);
      assert.ok(!all.some((listed) => listed.includes(k)), 'not listed');
      assert.ok(all.includes(kept), 'other records stay');
      assert.equal((await store.get(kept))?.data, 'fine');
      await store.quarantine(key()); // a missing record: no-op
      await assert.rejects(store.quarantine('../../etc/passwd'), InvalidSessionIdError);
    });

    it('serves a full session cycle through SessionManager', async () => {
      const manager = new SessionManager<{ n: number; when: Date; tags: Set<string> }>(store, {
        cleanup_interval: 0,
      });
      const s1 = await manager.load({});
      s1.n = 1;
      s1.when = new Date(0);
      s1.tags = new Set(['a']);
      const cookie = await manager.commit(s1);
      assert.ok(cookie);
      const header = cookie.split(';')[0]!;
      const s2 = await manager.load({ cookie: header });
      assert.equal(s2.isNew, false);
      assert.equal(s2.n, 1);
      assert.ok(s2.when instanceof Date);
      assert.ok(s2.tags?.has('a'));
      s2.kill();
      assert.match((await manager.commit(s2)) ?? '', /Max-Age=0/);
      const s3 = await manager.load({ cookie: header });
      assert.equal(s3.isNew, true);
      await manager.close();
    });
  });
}
