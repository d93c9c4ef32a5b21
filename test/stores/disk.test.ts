import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DiskStore } from 'websession';
import { describeStoreContract } from '../helpers/store-contract.js';

const tempDir = () => mkdtemp(join(tmpdir(), 'websession-disk-'));

describeStoreContract('DiskStore', async () => {
  const dir = await tempDir();
  return { store: new DiskStore(dir), teardown: () => rm(dir, { recursive: true, force: true }) };
});

describeStoreContract('DiskStore (fsync)', async () => {
  const dir = await tempDir();
  return {
    store: new DiskStore(dir, { fsync: true }),
    teardown: () => rm(dir, { recursive: true, force: true }),
  };
});

describe('DiskStore', () => {
  it('creates its folder, and keeps files inside it', async () => {
    const base = await tempDir();
    const dir = join(base, 'a', 'b', 'sessions');
    const store = new DiskStore(dir);
    const key = 'ab'.repeat(32);
    await store.set(key, { data: 'x', atime: Date.now() });
    assert.equal(store.pathOf(key), join(dir, 'ab', `${key}.sess`));
    assert.deepEqual(await readdir(join(dir, 'ab')), [`${key}.sess`]);
    await rm(base, { recursive: true, force: true });
  });
});
