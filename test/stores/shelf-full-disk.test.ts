// ShelfStore on a full disk: LMDB prints lines of its own on every failed commit (the native
// library to stderr, lmdb-js with console.error), past the one-line-per-10 s rule of the store
// failure log. After a commit fails for want of space, writes are refused without reaching LMDB
// until space is freed (or 10 s pass), so 20 failed saves print LMDB's lines once.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, describe, it } from 'node:test';
import { mountTmpfs, type Tmpfs, tmpfsSkip } from '../helpers/tmpfs.js';

const skip = await tmpfsSkip();
let fs: Tmpfs | undefined;
after(() => fs?.destroy());

describe('ShelfStore on a full disk', { skip }, () => {
  it('20 failed saves: each a StoreError naming ENOSPC, LMDB heard once; writes again once space is freed', async () => {
    fs = await mountTmpfs('1m');
    const file = `${fs.dir}/shelf.db`;
    // In a child: the native library writes to the process's stderr, not through console.
    const script = `
      import { ShelfStore } from 'websession';
      const store = new ShelfStore(${JSON.stringify(file)});
      const key = (i) => i.toString(16).padStart(2, '0') + 'c'.repeat(62);
      await store.set(key(255), { data: 'x', atime: Date.now() });
      process.send('ready');
      await new Promise((resolve) => process.once('message', resolve));
      const errors = [];
      for (let i = 0; i < 20; i++)
        await store.set(key(i), { data: 'y'.repeat(50000), atime: Date.now() }).catch((e) => errors.push(e.message));
      process.send(errors);
      await new Promise((resolve) => process.once('message', resolve));
      await store.set(key(0), { data: 'y'.repeat(50000), atime: Date.now() });
      process.send('written');
      await store.close();`;
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--conditions=websession-src', '--input-type=module', '-e', script],
      { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] },
    );
    after(() => child.kill('SIGKILL'));
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d;
    });
    const next = async () => (await once(child, 'message'))[0] as unknown;
    assert.equal(await next(), 'ready');
    fs.fill();
    child.send('go');
    const errors = (await next()) as string[];
    assert.equal(errors.length, 20);
    for (const message of errors)
      assert.match(message, /^\[websession\] \[shelf\] write failed in .*No space left/);
    await fs.unfill();
    child.send('go');
    assert.equal(await next(), 'written');
    // 'close', not the IPC messages: the child's stderr can reach us after its messages, and is
    // whole only once its pipe has closed.
    const [code] = await once(child, 'close');
    assert.equal(code, 0, stderr);
    assert.ok(stderr.length > 0, 'LMDB printed its lines for the first failure');
    assert.equal(stderr.split('Write error').length - 1, 1, stderr);
    assert.equal(stderr.split('code: 28').length - 1, 1, stderr);
  });
});
