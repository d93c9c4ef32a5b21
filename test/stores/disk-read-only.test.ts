// DiskStore on a read-only file system: every failed write names its real cause (EROFS), once,
// with the store's prefix once, whether the shard, users/ or quarantine/ folder existed or not.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { DiskStore, StoreError } from 'websession';
import { mountTmpfs, type Tmpfs, tmpfsSkip } from '../helpers/tmpfs.js';

const skip = await tmpfsSkip();
let fs: Tmpfs | undefined;
after(() => fs?.destroy());

describe('DiskStore on a read-only mount', { skip }, () => {
  it('says EROFS, with the prefix once, for a record in a new shard, a user index and a quarantine', async () => {
    fs = await mountTmpfs('256k');
    const store = new DiskStore(`${fs.dir}/s`);
    const old = 'ab'.repeat(32);
    const fresh = 'cd'.repeat(32);
    await store.set(old, { data: 'x', atime: Date.now() });
    fs.remount('ro');
    try {
      const calls: [string, () => unknown][] = [
        ['set, existing shard', () => store.set(old, { data: 'y', atime: Date.now() })],
        ['set, new shard', () => store.set(fresh, { data: 'y', atime: Date.now() })],
        ['update, new shard', () => store.update(fresh, () => ({ data: 'y', atime: Date.now() }))],
        ['set with a user', () => store.set(old, { data: 'y', atime: Date.now(), user: 'u' })],
        ['quarantine', () => store.quarantine(old)],
      ];
      for (const [what, call] of calls)
        await assert.rejects(
          async () => call(),
          (err: unknown) =>
            err instanceof StoreError &&
            /EROFS/.test(err.message) &&
            err.message.split('[websession]').length === 2,
          what,
        );
      assert.equal((await store.get(old))?.data, 'x', 'the record stays');
    } finally {
      fs.remount('rw');
    }
  });
});
