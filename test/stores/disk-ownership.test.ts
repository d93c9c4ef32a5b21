// DiskStore trusts only folders this user owns and nobody else can replace (as OpenSSH checks the
// folders above its key files), and inside its folder opens only real folders and regular files
// of this user, checked on the open descriptor: no link followed, no FIFO waited on. "Another
// user" is nobody (uid 65534): the tests run as root, which owns everything it makes, so another
// user's folder is made with chown, or by running `runuser -u nobody`.
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmod, chown, mkdir, readdir, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError, DiskStore, StoreError } from 'websession';
import { tempDirs } from '../helpers/temp-dirs.js';

const NOBODY = 65534;
const root = tempDirs('owner');
const key = (shard: string) => shard + 'a'.repeat(62);
const record = (data: string, atime = Date.now()) => ({ data, atime });
const asRoot = process.getuid?.() === 0;
const skip = asRoot ? false : 'needs root, to make folders owned by another user (chown)';

/** Children that must not outlive the file (a FIFO writer waiting for a reader). */
const children: ReturnType<typeof spawn>[] = [];
after(() => {
  for (const child of children) child.kill('SIGKILL');
});

/**
 * A FIFO at `file` (a hard link of one made in `outside`), and a process that writes `forged`
 * into it, through its name in `outside`, once a reader opens it: a store that opened the FIFO
 * would wait for that writer, then read the forged text as a record. (The writer never writes
 * through `file`, which a save replaces by a record.)
 */
function plantFifo(file: string, outside: string, forged: string): void {
  const fifo = join(outside, `fifo-${children.length}`);
  execFileSync('mkfifo', ['-m', '600', fifo]);
  execFileSync('ln', [fifo, file]);
  children.push(spawn('sh', ['-c', `printf '%s' '${forged}' > '${fifo}'`], { stdio: 'ignore' }));
}

describe('DiskStore: folders of another user', { skip }, () => {
  it('refuses a store folder owned by another user, in one line naming it, its owner and what to do', async () => {
    const dir = join(await root(), 'sessions');
    await mkdir(dir, { mode: 0o700 });
    await chown(dir, NOBODY, NOBODY);
    assert.throws(
      () => new DiskStore(dir),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.message.includes(dir) &&
        err.message.includes('nobody (uid 65534)') &&
        err.message.includes('chown') &&
        !err.message.includes('\n'),
    );
  });

  it('refuses a store folder under a folder of another user, or under one others can write to without the sticky bit', async () => {
    const base = await root();
    const theirs = join(base, 'theirs');
    await mkdir(join(theirs, 'sessions'), { recursive: true, mode: 0o755 });
    await chown(theirs, NOBODY, NOBODY);
    assert.throws(
      () => new DiskStore(join(theirs, 'sessions')),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.message.includes(`folder ${theirs},`) &&
        err.message.includes('nobody'),
    );
    // Not even a folder the store would make there.
    assert.throws(() => new DiskStore(join(theirs, 'new')), ConfigError);
    const open = join(base, 'open');
    await mkdir(join(open, 'sessions'), { recursive: true, mode: 0o700 });
    await chmod(open, 0o777);
    assert.throws(
      () => new DiskStore(join(open, 'sessions')),
      (err: unknown) =>
        err instanceof ConfigError && err.message.includes(open) && err.message.includes('0777'),
    );
    // Sticky (as /tmp): only an entry's owner may rename it, so the store folder is safe there.
    await chmod(open, 0o1777);
    await new DiskStore(join(open, 'sessions')).close();
  });

  it('refuses a shard folder of another user on read and write: a record planted in it is no session', async () => {
    const dir = join(await root(), 'sessions');
    const store = new DiskStore(dir);
    const k = key('ab');
    const shard = join(dir, 'ab');
    await mkdir(shard, { mode: 0o700 });
    await writeFile(join(shard, `${k}.sess`), 'forged', { mode: 0o600 });
    await chown(join(shard, `${k}.sess`), NOBODY, NOBODY);
    await chown(shard, NOBODY, NOBODY);
    await assert.rejects(
      async () => store.get(k),
      (err: unknown) =>
        err instanceof StoreError && err.message.includes(shard) && err.message.includes('nobody'),
    );
    await assert.rejects(async () => store.set(k, record('mine')), StoreError);
    await assert.rejects(async () => store.update(k, () => record('mine')), StoreError);
    const listed: string[] = [];
    for await (const each of store.keys()) listed.push(each);
    assert.deepEqual(listed, [], 'nor listed');
    // A record file of another user in a shard of ours is no record either.
    const k2 = key('cd');
    await store.set(k2, record('mine'));
    await chown(store.pathOf(k2), NOBODY, NOBODY);
    assert.equal(await store.get(k2), undefined);
    await store.close();
  });

  it('refuses users/ and quarantine/ that are links or belong to another user: nothing is written outside', async () => {
    const base = await root();
    const dir = join(base, 'sessions');
    const outside = join(base, 'outside');
    await mkdir(outside, { mode: 0o700 });
    const store = new DiskStore(dir);
    const k = key('ef');
    await store.set(k, record('x'));
    await symlink(outside, join(dir, 'users'));
    await symlink(outside, join(dir, 'quarantine'));
    await assert.rejects(async () => store.set(k, { ...record('x'), user: 'alice' }), StoreError);
    await assert.rejects(() => store.quarantine(k), StoreError);
    assert.deepEqual(await readdir(outside), []);
    assert.equal((await store.get(k))?.data, 'x', 'the record stays where it was');

    const other = new DiskStore(join(base, 'other'));
    await mkdir(join(other.dir, 'users'), { mode: 0o700 });
    await chown(join(other.dir, 'users'), NOBODY, NOBODY);
    await assert.rejects(
      async () => other.set(k, { ...record('x'), user: 'alice' }),
      (err: unknown) => err instanceof StoreError && err.message.includes('nobody'),
    );
    await Promise.all([store.close(), other.close()]);
  });

  it('the example runner on a folder made by another user refuses to start, in one line naming the folder, its owner and what to do', async () => {
    const base = await root();
    await chmod(base, 0o1777); // so that nobody can make a folder in it
    const theirs = join(base, 'theirs');
    execFileSync('runuser', ['-u', 'nobody', '--', 'mkdir', '-m', '700', theirs]);
    const runner = fileURLToPath(new URL('../../examples/run.ts', import.meta.url));
    const { code, stderr } = await new Promise<{ code: number; stderr: string }>((resolve) =>
      execFile(
        process.execPath,
        [
          '--import',
          'tsx',
          '--conditions=websession-src',
          runner,
          'node',
          '--store',
          `disk:${theirs}`,
          '--listen',
          '127.0.0.1:0',
        ],
        { timeout: 30_000 },
        (err, _out, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stderr }),
      ),
    );
    assert.notEqual(code, 0);
    const lines = stderr.trim().split('\n');
    assert.equal(lines.length, 1, stderr);
    assert.match(lines[0]!, new RegExp(`folder ${theirs} is owned by nobody \\(uid 65534\\)`));
    assert.match(lines[0]!, /chown/);
  });
});

describe('DiskStore: links and special files inside the folder', {
  skip: process.platform === 'win32',
}, () => {
  it('never follows a symbolic link at a shard folder on read: a record planted behind it is no session', async () => {
    const base = await root();
    const dir = join(base, 'sessions');
    const outside = join(base, 'outside');
    await mkdir(outside, { mode: 0o700 });
    const store = new DiskStore(dir);
    const k = key('12');
    await writeFile(join(outside, `${k}.sess`), 'forged', { mode: 0o600 });
    await symlink(outside, join(dir, '12'));
    const read = await Promise.resolve(store.get(k)).catch((err: unknown) => err);
    assert.ok(read === undefined || read instanceof StoreError, `read: ${JSON.stringify(read)}`);
    await store.close();
  });

  it('a FIFO at a record path is no record and never waited on; a save replaces it', async () => {
    const base = await root();
    const store = new DiskStore(join(base, 'sessions'));
    const k = key('34');
    await store.set(key('34').replace(/a$/, 'b'), record('neighbour')); // makes the shard
    plantFifo(store.pathOf(k), base, 'forged');
    assert.equal(await store.get(k), undefined);
    const next = await store.update(k, (current) => record(`${current?.data ?? 'none'}+1`));
    assert.equal(next?.data, 'none+1');
    assert.equal((await store.get(k))?.data, 'none+1');
    await store.close();
  });

  it('a FIFO at the cleanup lease path never blocks: the lease is taken, the FIFO replaced', async () => {
    const base = await root();
    const dir = join(base, 'sessions');
    const store = new DiskStore(dir);
    plantFifo(join(dir, 'cleanup.lease'), base, 'x 60000');
    const lease = await store.lease!('cleanup', 10_000);
    assert.ok(lease, 'taken');
    assert.equal(await store.lease!('cleanup', 10_000), undefined, 'and held');
    await lease.release();
    await store.close();
  });
});

describe('DiskStore cleanup: a shard folder it cannot read', { skip }, () => {
  it('is skipped, counted and reported once; the other shards are cleaned on every pass', async () => {
    // Run as nobody, in a folder of nobody's, with a shard of root's it cannot read (mode 0700).
    const base = await root();
    await chown(base, NOBODY, NOBODY);
    const dir = join(base, 'sessions');
    execFileSync('runuser', ['-u', 'nobody', '--', 'mkdir', '-m', '700', dir]);
    await mkdir(join(dir, '00'), { mode: 0o700 });
    for (const shard of ['00', 'ff']) {
      if (shard === 'ff')
        execFileSync('runuser', ['-u', 'nobody', '--', 'mkdir', '-m', '700', join(dir, shard)]);
      const file = join(dir, shard, `${key(shard)}.sess`);
      await writeFile(file, 'old', { mode: 0o600 });
      if (shard === 'ff') await chown(file, NOBODY, NOBODY);
      await utimes(file, 1, 1);
    }
    const script = `
      import { DiskStore } from 'websession';
      const warnings = [];
      const store = new DiskStore(${JSON.stringify(dir)}, { logger: { warn: (m) => warnings.push(m) } });
      const passes = [];
      for (let i = 0; i < 2; i++) {
        let last;
        const removed = await store.cleanup(60, (p) => { last = p; });
        passes.push({ removed, skipped: last.skipped });
      }
      console.log(JSON.stringify({ passes, warnings }));`;
    const child = spawn(
      'runuser',
      [
        '-u',
        'nobody',
        '--',
        process.execPath,
        '--import',
        'tsx',
        '--conditions=websession-src',
        '--input-type=module',
        '-e',
        script,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(child);
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d));
    child.stderr!.on('data', (d: Buffer) => (err += d));
    const [code] = await once(child, 'close');
    assert.equal(code, 0, err);
    const { passes, warnings } = JSON.parse(out) as {
      passes: { removed: number; skipped: number }[];
      warnings: string[];
    };
    assert.deepEqual(passes, [
      { removed: 1, skipped: 1 },
      { removed: 0, skipped: 1 },
    ]);
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.match(warnings[0]!, new RegExp(join(dir, '00')));
    assert.deepEqual(await readdir(join(dir, 'ff')), [], 'the readable shard was cleaned');
  });
});
