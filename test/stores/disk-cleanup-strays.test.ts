// DiskStore cleanup with entries in its folder that are not its own: a plain file named like a
// shard folder, a folder named like a session file, foreign .tmp files. The pass skips and
// counts them, removes only expired records and its own stale temp files, and goes on.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DiskStore } from 'websession';

const key = (prefix = '') => prefix + randomBytes(32).toString('hex').slice(prefix.length);
const hoursAgo = (h: number) => (Date.now() - h * 3600_000) / 1000;

describe('DiskStore cleanup with stray entries', () => {
  it('skips and counts what is not its own, removes expired records and its own stale temp files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'websession-strays-'));
    try {
      const store = new DiskStore(dir);
      const old = Date.now() - 7200_000;
      const expired = [key('ab'), key('cd')];
      const fresh = key('ab');
      for (const k of expired) await store.set(k, { data: 'old', atime: old });
      await store.set(fresh, { data: 'fresh', atime: Date.now() });

      // A plain file named like a shard folder, a folder named like a record.
      await writeFile(join(dir, '00'), 'not a shard');
      const folderKey = key('ab');
      await mkdir(join(dir, 'ab', `${folderKey}.sess`));
      // Foreign .tmp files, old: never the store's to delete.
      await writeFile(join(dir, 'ab', 'mydata.tmp'), 'mine');
      await utimes(join(dir, 'ab', 'mydata.tmp'), hoursAgo(2), hoursAgo(2));
      await writeFile(join(dir, 'mydata.tmp'), 'mine too');
      await utimes(join(dir, 'mydata.tmp'), hoursAgo(2), hoursAgo(2));
      // The store's own temp file, left by a writer killed two hours ago: removed.
      const ownTemp = join(dir, 'ab', `${key('ab')}.sess.4242.deadbeef.7.tmp`);
      await writeFile(ownTemp, 'torn');
      await utimes(ownTemp, hoursAgo(2), hoursAgo(2));

      const progress: { skipped?: number }[] = [];
      const removed = await store.cleanup(3600, (p) => progress.push(p));
      assert.equal(removed, 2, 'the two expired records');
      assert.ok((progress.at(-1)?.skipped ?? 0) >= 4, `skipped ${progress.at(-1)?.skipped}`);
      assert.equal((await store.get(fresh))?.data, 'fresh');
      for (const k of expired) assert.equal(await store.get(k), undefined);
      assert.ok(existsSync(join(dir, '00')), 'the stray file stays');
      assert.ok(existsSync(join(dir, 'ab', `${folderKey}.sess`)), 'the stray folder stays');
      assert.ok(existsSync(join(dir, 'ab', 'mydata.tmp')), 'a foreign .tmp stays');
      assert.ok(existsSync(join(dir, 'mydata.tmp')), 'a foreign .tmp at the top stays');
      assert.ok(!existsSync(ownTemp), "the store's own stale temp file is removed");

      const keys: string[] = [];
      for await (const k of store.keys()) keys.push(k);
      assert.deepEqual(keys, [fresh], 'a folder named like a record is not a key');
      // A second pass runs as well: nothing stops it for good.
      assert.equal(await store.cleanup(3600), 0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
