import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { pbkdf2 } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DiskStore, storeFromUrl } from 'websession';
import { HOST_TAG, holderStamp, tryLock, unlock } from '../../src/stores/disk-lock.js';
import { serverStoreFromUrl } from '../helpers/server-store.js';
import { describeStoreContract } from '../helpers/store-contract.js';
import { storeKind } from '../helpers/stores.js';

const tempDir = () => mkdtemp(join(tmpdir(), 'websession-disk-'));

describeStoreContract('DiskStore', (await storeKind('disk')).make);

describeStoreContract('DiskStore (blocking: false, deprecated and ignored)', async () => {
  const dir = await tempDir();
  return {
    store: new DiskStore(dir, { blocking: false }),
    teardown: () => rm(dir, { recursive: true, force: true }),
  };
});

describeStoreContract('DiskStore (crossProcess: false, one process only)', async () => {
  const dir = await tempDir();
  return {
    store: new DiskStore(dir, { crossProcess: false }),
    teardown: () => rm(dir, { recursive: true, force: true }),
  };
});

for (const renameOffThread of [true, false])
  describeStoreContract(`DiskStore (renameOffThread: ${renameOffThread})`, async () => {
    const dir = await tempDir();
    return {
      store: new DiskStore(dir, { renameOffThread }),
      teardown: () => rm(dir, { recursive: true, force: true }),
    };
  });

describeStoreContract('DiskStore (fsync)', async () => {
  const dir = await tempDir();
  return {
    store: new DiskStore(dir, { fsync: true }),
    teardown: () => rm(dir, { recursive: true, force: true }),
  };
});

describe('DiskStore', () => {
  it('refuses options of the wrong type with an error that names the option', async () => {
    const dir = await tempDir();
    try {
      const bad: [unknown, RegExp][] = [
        [{ fsync: 'false' }, /DiskStore option fsync must be true or false, got "false"/],
        [{ crossProcess: 0 }, /DiskStore option crossProcess must be true or false, got 0/],
        [{ renameOffThread: 'yes' }, /renameOffThread must be true or false/],
        [{ blocking: null }, /blocking must be true or false, got null/],
        [{ fileMode: '600' }, /fileMode must be permission bits .* got "600"/],
        [{ fileMode: 0o1777 }, /fileMode must be permission bits/],
        [{ fileMode: 0o400 }, /owner read and write .* got 0o400/],
        ['fsync', /DiskStore options must be an object, got "fsync"/],
        [null, /DiskStore options must be an object, got null/],
      ];
      for (const [options, message] of bad)
        assert.throws(
          () => new DiskStore(dir, options as never),
          (err: Error) => err.name === 'ConfigError' && message.test(err.message),
          JSON.stringify(options),
        );
      // Valid values are taken as given; nothing was written by the refused ones.
      assert.deepEqual(await readdir(dir), []);
      const store = new DiskStore(dir, { fsync: false, crossProcess: false, fileMode: 0o640 });
      assert.equal(store.capabilities.lock, 'process');
      await store.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('store URLs: lock=process drops the cross-process lock, anything else but cross-process is refused', async () => {
    const dir = await tempDir();
    const plain = await serverStoreFromUrl(`disk:${dir}`);
    assert.equal(plain.capabilities.lock, 'cross-process');
    const local = await serverStoreFromUrl(`disk:${dir}?lock=process&blocking=0`);
    assert.equal(local.capabilities.lock, 'process');
    const key = 'ab'.repeat(32);
    await local.update(key, () => ({ data: '1', atime: Date.now() }));
    assert.equal((await plain.get(key))?.data, '1');
    assert.deepEqual(
      (await readdir(join(dir, 'ab'))).filter((n) => n.endsWith('.lock')),
      [],
      'no lock folder left behind',
    );
    await assert.rejects(storeFromUrl(`disk:${dir}?lock=maybe`), /lock must be/);
    await rm(dir, { recursive: true, force: true });
  });

  it('with the rename on the thread pool, updates of one key made at once all count, in order', async () => {
    const dir = await tempDir();
    try {
      const store = new DiskStore(dir, { renameOffThread: true });
      const key = '5e'.repeat(32);
      const add = (letter: string) =>
        store.update(key, (c) => ({ data: `${c?.data ?? ''}${letter}`, atime: Date.now() }));
      const first = add('a');
      assert.ok(first instanceof Promise, 'the save settles once the rename is done');
      const results = await Promise.all([first, add('b'), add('c')]);
      assert.deepEqual(
        results.map((r) => r?.data),
        ['a', 'ab', 'abc'],
      );
      assert.equal((await store.get(key))?.data, 'abc');
      assert.deepEqual(await readdir(join(dir, '5e')), [`${key}.sess`], 'no lock file left');
      // A delete made while an update's rename is under way comes after it: the record stays gone.
      // Every thread of the pool is kept busy first, so the rename is still waiting at the delete.
      const threads = Number(process.env.UV_THREADPOOL_SIZE) || 4;
      const busy = Array.from({ length: threads }, () =>
        promisify(pbkdf2)('x', 'y', 100_000, 32, 'sha256'),
      );
      const saving = add('d');
      const deleting = store.delete(key);
      await Promise.all([...busy, saving, deleting]);
      assert.equal(await store.get(key), undefined, 'deleted after the rename, not before');
      // So is a set.
      const busyAgain = Array.from({ length: threads }, () =>
        promisify(pbkdf2)('x', 'y', 100_000, 32, 'sha256'),
      );
      const updating = add('e');
      const setting = store.set(key, { data: 'set', atime: Date.now() });
      await Promise.all([...busyAgain, updating, setting]);
      assert.equal((await store.get(key))?.data, 'set', 'set after the rename, not before');
      // A record with an old access time gives the lock file an old mtime, which other processes
      // would take for a stale lock while the rename waits: it is renamed at once.
      const old = store.update(key, () => ({ data: 'old', atime: Date.now() - 3600_000 }));
      assert.ok(!(old instanceof Promise), 'renamed on the event loop');
      assert.equal((await store.get(key))?.data, 'old');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

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

describe('DiskStore across processes', () => {
  const child = (args: string[]) =>
    fork(fileURLToPath(new URL('../fixtures/disk-writer.ts', import.meta.url)), args, {
      execArgv: ['--import', 'tsx', '--conditions=websession-src'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });

  for (const rename of ['on-thread', 'off-thread'])
    it(`two processes updating one record lose no update (rename ${rename})`, async () => {
      const dir = await tempDir();
      const key = 'cd'.repeat(32);
      const run = () => child(['count', dir, key, '100', `rename=${rename}`]);
      const runs = [run(), run()];
      const codes = await Promise.all(runs.map((p) => once(p, 'exit').then(([code]) => code)));
      assert.deepEqual(codes, [0, 0]);
      assert.equal((await new DiskStore(dir).get(key))?.data, '200');
      await rm(dir, { recursive: true, force: true });
    });

  for (const rename of ['on-thread', 'off-thread'])
    it(`a delete waits for another process's update under way: the deleted record is not renamed back (rename ${rename})`, async () => {
      const dir = await tempDir();
      const key = '7c'.repeat(32);
      const go = join(dir, 'go');
      const store = new DiskStore(dir);
      let writer: ReturnType<typeof child> | undefined;
      try {
        await store.set(key, { data: 'alive', atime: Date.now() });
        writer = child(['slow-update', dir, key, go, `rename=${rename}`]);
        const exited = once(writer, 'exit');
        // The other process has read the record and holds its lock.
        while (!existsSync(`${go}.read`)) {
          assert.equal(writer.exitCode, null, 'the other process ended before its update read');
          await new Promise((r) => setTimeout(r, 5));
        }
        const deleted = store.delete(key);
        assert.ok(existsSync(store.pathOf(key)), 'not removed while the other update holds it');
        await writeFile(go, '');
        assert.deepEqual(await exited, [0, null]);
        await deleted;
        assert.equal(await store.get(key), undefined, 'deleted after the update, not undone by it');
        assert.equal(existsSync(store.pathOf(key)), false);
        // A key with no shard folder: nothing to remove, and no folder made for a lock.
        await store.delete('0e'.repeat(32));
        assert.equal(existsSync(join(dir, '0e')), false);
      } finally {
        if (writer?.exitCode === null) writer.kill('SIGKILL');
        await rm(dir, { recursive: true, force: true });
      }
    });

  it("a lock held by a process of this host that is gone is taken over at once; another host's only once stale", async () => {
    const dir = await tempDir();
    const key = '9a'.repeat(32);
    const holder = child(['hold', dir, key]);
    await once(holder, 'message');
    const store = new DiskStore(dir);
    const file = store.pathOf(key);
    assert.equal(tryLock(file), undefined, 'held by a live process');
    holder.kill('SIGKILL');
    await once(holder, 'exit');
    const taken = tryLock(file);
    assert.ok(taken, 'its holder is gone: taken over at once');
    unlock(taken);
    // A holder on another host sharing the folder cannot be asked: its lock waits to be stale.
    await writeFile(`${file}.tmp`, 'half a record', { mode: 0o600 });
    const otherHost = holderStamp(holder.pid!, (HOST_TAG + 1) % 1_000_000);
    await utimes(`${file}.tmp`, otherHost, new Date());
    assert.equal(tryLock(file), undefined);
    await utimes(`${file}.tmp`, otherHost, new Date(Date.now() - 60_000));
    const stale = tryLock(file);
    assert.ok(stale, 'stale: taken over');
    unlock(stale);
    assert.equal(
      (await store.update(key, (c) => ({ data: `${c?.data}+1`, atime: Date.now() })))?.data,
      'held+1',
    );
    await rm(dir, { recursive: true, force: true });
  });

  for (const [how, rename] of [
    ['set', 'on-thread'],
    ['update', 'on-thread'],
    ['update', 'off-thread'],
  ] as const)
    it(`a writer killed mid-write (SIGKILL) never leaves a torn record (${how}, rename ${rename})`, async () => {
      const dir = await tempDir();
      const key = 'ef'.repeat(32);
      const store = new DiskStore(dir);
      await store.set(key, { data: 'B'.repeat(1 << 20), atime: Date.now() });
      const shard = join(dir, key.slice(0, 2));
      // Kill the writer as soon as its temp file is seen; a round counts as mid-write when that
      // temp file is still there after the kill (the rename never happened).
      let midWrite = 0;
      for (let round = 0; round < 8 && midWrite < 2; round++) {
        const p = child(['churn', dir, key, how, `rename=${rename}`]);
        await once(p, 'message');
        // An update writes into its lock file `<key>.sess.tmp`; a set into a temp file of its own.
        const mine = (n: string) =>
          how === 'update'
            ? n === `${key}.sess.tmp`
            : n.includes(`.${p.pid}.`) && n.endsWith('.tmp');
        for (let i = 0; i < 400 && !(await readdir(shard)).some(mine); i++)
          await new Promise((r) => setTimeout(r, 2));
        p.kill('SIGKILL');
        await once(p, 'exit');
        if ((await readdir(shard)).some(mine)) midWrite++;
        const data = (await store.get(key))?.data ?? '';
        assert.equal(data.length, 1 << 20, 'a whole record');
        assert.ok(/^(A+|B+)$/.test(data), 'one write, never a mix or a prefix');
      }
      assert.ok(midWrite > 0, 'at least one writer was killed between writing and renaming');
      // The killed updater's lock is taken over at once: its process is gone.
      assert.equal(
        (await store.update(key, (c) => ({ data: c!.data.slice(0, 1), atime: Date.now() })))?.data
          .length,
        1,
      );
      // Temp files of the killed writer are left aside, never read as sessions, and removed by cleanup once old.
      const keys: string[] = [];
      for await (const k of store.keys()) keys.push(k);
      assert.deepEqual(keys, [key]);
      await rm(dir, { recursive: true, force: true });
    });
});
