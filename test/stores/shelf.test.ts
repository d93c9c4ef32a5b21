import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { generateSessionId, ShelfStore, storeKey } from 'websession';
import { serverStoreFromUrl } from '../helpers/server-store.js';
import { describeStoreContract } from '../helpers/store-contract.js';
import { storeKind } from '../helpers/stores.js';

const tempDir = () => mkdtemp(join(tmpdir(), 'websession-shelf-'));
const key = () => storeKey(generateSessionId());

describeStoreContract('ShelfStore', (await storeKind('shelf')).make);

describe('ShelfStore', () => {
  it('refuses options of the wrong type with an error that names the option', async () => {
    const dir = await tempDir();
    try {
      const file = join(dir, 'sessions.shelf');
      const bad: [unknown, RegExp][] = [
        [{ noSync: 'true' }, /ShelfStore option noSync must be true or false, got "true"/],
        [{ fileMode: 0o200 }, /ShelfStore option fileMode must let the owner read and write/],
        [{ fileMode: -1 }, /fileMode must be permission bits/],
        [{ cleanupBatch: 0 }, /cleanupBatch must be a positive integer/],
        [[], /ShelfStore options must be an object, got an array/],
      ];
      for (const [options, message] of bad)
        assert.throws(
          () => new ShelfStore(file, options as never),
          (err: Error) => err.name === 'ConfigError' && message.test(err.message),
          JSON.stringify(options),
        );
      assert.deepEqual(await readdir(dir), [], 'no file made');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('keeps everything in one file (plus the LMDB lock file), mode 0600', async () => {
    const dir = await tempDir();
    const file = join(dir, 'nested', 'sessions.shelf');
    const store = new ShelfStore(file);
    for (let i = 0; i < 20; i++) await store.set(key(), { data: `s${i}`, atime: Date.now() });
    await store.close();
    assert.deepEqual((await readdir(join(dir, 'nested'))).sort(), [
      'sessions.shelf',
      'sessions.shelf-lock',
    ]);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    await rm(dir, { recursive: true, force: true });
  });

  it('reopens with every record, and shelf: URLs name the file', async () => {
    const dir = await tempDir();
    const file = join(dir, 'x.shelf');
    const keys = Array.from({ length: 5 }, key);
    const first = await serverStoreFromUrl(`shelf:${file}`);
    assert.equal(first.kind, 'shelf');
    for (const k of keys) await first.set(k, { data: k, atime: 1000 });
    await first.close();
    const second = new ShelfStore(file);
    for (const k of keys) assert.deepEqual(await second.get(k), { data: k, atime: 1000 });
    await second.close();
    await assert.rejects(second.get(keys[0]!), /closed/);
    await rm(dir, { recursive: true, force: true });
  });

  it('cleanup walks many records in slices and removes exactly the expired ones', async () => {
    const dir = await tempDir();
    const store = new ShelfStore(join(dir, 'c.shelf'), { cleanupBatch: 7 });
    const old = Array.from({ length: 40 }, key);
    const fresh = Array.from({ length: 33 }, key);
    await Promise.all([
      ...old.map((k) => store.set(k, { data: 'old', atime: Date.now() - 7200_000 })),
      ...fresh.map((k) => store.set(k, { data: 'fresh', atime: Date.now() })),
    ]);
    // One old record is touched before cleanup: it must survive.
    await store.touch(old[0]!, Date.now());
    const progress: { scanned: number; removed: number }[] = [];
    assert.equal(await store.cleanup(3600, (p) => progress.push(p)), 39);
    assert.equal(progress.length, Math.ceil(73 / 7), 'one report per slice of 7');
    assert.deepEqual(progress.at(-1), { scanned: 73, removed: 39 });
    const left = [];
    for await (const k of store.keys()) left.push(k);
    assert.deepEqual(left.sort(), [old[0]!, ...fresh].sort());
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('close() waits for the writes under way and gives up a lease taken meanwhile; nothing writes to the closed file', async () => {
    const dir = await tempDir();
    const file = join(dir, 'w.shelf');
    const store = new ShelfStore(file);
    await store.get(key()); // opened
    // A background pass takes its lease as the process shuts down and releases it once its pass
    // ends, after close(). Before, that release wrote to the closed file and LMDB threw "The
    // environment is already closed" from a timer: an uncaught error that ends the process.
    const taking = store.lease!('cleanup', 60_000);
    const saves = Array.from({ length: 8 }, () =>
      store.set(key(), { data: 'x', atime: Date.now() }),
    );
    await Promise.resolve();
    await store.close();
    const lease = await taking;
    assert.ok(lease, 'the lease being taken was taken before the file closed');
    await lease.release(Date.now()); // after close: nothing written, nothing thrown
    await Promise.all(saves); // each committed before the file closed
    await assert.rejects(store.set(key(), { data: 'y', atime: Date.now() }), /closed/);
    // close() gave the lease up: another store on the file takes it at once.
    const other = new ShelfStore(file);
    assert.ok(await other.lease!('cleanup', 60_000), 'free again');
    await other.close();
    await rm(dir, { recursive: true, force: true });
  });
});

describe('ShelfStore across processes', () => {
  const child = (args: string[]) =>
    fork(fileURLToPath(new URL('../fixtures/shelf-writer.ts', import.meta.url)), args, {
      execArgv: ['--import', 'tsx', '--conditions=websession-src'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });

  it('two processes updating one record lose no update', async () => {
    const dir = await tempDir();
    const file = join(dir, 'count.shelf');
    const k = key();
    const runs = [child(['count', file, k, '150']), child(['count', file, k, '150'])];
    const codes = await Promise.all(runs.map((p) => once(p, 'exit').then(([code]) => code)));
    assert.deepEqual(codes, [0, 0]);
    const store = new ShelfStore(file);
    assert.equal((await store.get(k))?.data, '300');
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('a writer killed mid-write (SIGKILL) leaves the previous whole record readable', async () => {
    const dir = await tempDir();
    const file = join(dir, 'churn.shelf');
    const k = key();
    let commits = 0;
    for (let round = 0; round < 3; round++) {
      const p = child(['churn', file, k]);
      await once(p, 'message');
      await new Promise((r) => setTimeout(r, 150 + round * 100));
      p.kill('SIGKILL');
      await once(p, 'exit');
      const store = new ShelfStore(file);
      const got = await store.get(k);
      await store.close();
      assert.ok(got, 'the record is there');
      const m = /^(\d+)\|(A+|B+)$/.exec(got.data);
      assert.ok(m, 'one whole write, never a mix or a prefix');
      assert.equal(m[2]!.length, 1 << 20);
      assert.equal(Number(m[1]), got.atime, 'data and atime from the same commit');
      commits += Number(m[1]);
    }
    // The writers were killed while committing one record after another, not before they began.
    assert.ok(commits > 0, 'the killed writers had committed records');
    await rm(dir, { recursive: true, force: true });
  });
});
