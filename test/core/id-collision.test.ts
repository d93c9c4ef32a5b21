// A repeated id (the random source repeats): the first save of the new session is create-only,
// so the first visitor's record is never overwritten; the manager draws a new id and saves again.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodePayload,
  SessionManager,
  type Store,
  type StoredSession,
  StoreError,
  storeKey,
} from 'websession';
import { recordingLogger } from '../helpers/console-capture.js';
import { storeKinds, storesOf } from '../helpers/stores.js';

/**
 * A real store in which, before each of the next `repeats` creates, the key the manager is about
 * to create already holds another visitor's record: what a repeated id looks like to the store.
 */
function repeating(inner: Store, repeats: number) {
  const victims: { key: string; record: StoredSession }[] = [];
  const create = async (key: string, record: StoredSession) => {
    if (victims.length < repeats) {
      const victim = { data: `victim ${victims.length}`, atime: Date.now() };
      await inner.set(key, victim);
      victims.push({ key, record: victim });
    }
    return (inner.create as NonNullable<Store['create']>).call(inner, key, record);
  };
  // Every other member is the real store's, bound to it (its private fields stay reachable).
  const store = new Proxy(inner, {
    get(target, prop) {
      if (prop === 'create') return create;
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { store, victims };
}

for (const kind of await storeKinds('memory', 'disk')) {
  describe(`id collisions on ${kind.name}`, () => {
    const make = storesOf(kind);
    /** A manager whose warnings are recorded: each retry after a taken id warns once. */
    const managerOn = (store: Store) => {
      const logger = recordingLogger();
      const manager = new SessionManager(store, { cleanup_interval: 0, logger });
      return { manager, warnings: logger.lines };
    };
    const TAKEN = /^\[websession\] \[\w+\] a new session id was taken already/;

    it('a new session whose id is taken gets another; the first visitor keeps their record', async () => {
      const inner = await make();
      const { store, victims } = repeating(inner, 1);
      const { manager, warnings } = managerOn(store);
      const s = await manager.load({});
      const firstId = s.id;
      s.user = 'second visitor';
      const setCookie = await manager.commit(s);
      assert.equal(victims.length, 1);
      assert.equal(victims[0]!.key, storeKey(firstId));
      assert.equal((await inner.get(victims[0]!.key))?.data, 'victim 0', 'never overwritten');
      assert.notEqual(s.id, firstId);
      assert.ok(setCookie?.startsWith(`webpy_session_id=${s.id};`), 'the cookie names the new id');
      const mine = await inner.get(storeKey(s.id));
      assert.deepEqual(decodePayload(mine!.data).data, { user: 'second visitor' });
      assert.equal(warnings.length, 1);
      assert.match(warnings[0]!, TAKEN);
    });

    it('the same for update() on a new session and for regenerate()', async () => {
      const inner = await make();
      const { store, victims } = repeating(inner, 2);
      const { manager, warnings } = managerOn(store);
      const s = await manager.load({});
      await s.update((d) => {
        d.n = 1;
      });
      assert.equal((await inner.get(victims[0]!.key))?.data, 'victim 0');
      const cookie = (await manager.commit(s))!.split(';')[0]!;
      const t = await manager.load({ cookie });
      assert.equal(t.get('n'), 1);
      t.regenerate();
      await manager.commit(t);
      assert.equal(victims.length, 2);
      assert.equal((await inner.get(victims[1]!.key))?.data, 'victim 1');
      assert.deepEqual(decodePayload((await inner.get(storeKey(t.id)))!.data).data, { n: 1 });
      assert.equal(warnings.length, 2);
      assert.ok(
        warnings.every((w) => TAKEN.test(w)),
        warnings.join('\n'),
      );
    });

    it('gives up with a StoreError after three taken ids in a row, overwriting none', async () => {
      const inner = await make();
      const { store, victims } = repeating(inner, 3);
      const { manager, warnings } = managerOn(store);
      const s = await manager.load({});
      s.x = 1;
      await assert.rejects(async () => manager.commit(s), StoreError);
      assert.equal(victims.length, 3);
      for (const [i, v] of victims.entries())
        assert.equal((await inner.get(v.key))?.data, `victim ${i}`);
      // A warning a retry; the last taken id is the StoreError instead.
      assert.equal(warnings.length, 2);
      assert.ok(
        warnings.every((w) => TAKEN.test(w)),
        warnings.join('\n'),
      );
    });
  });
}
