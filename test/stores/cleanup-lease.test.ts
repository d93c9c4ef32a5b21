// One cleanup pass at a time per store: the store-wide lease (Store.lease) on the stores that
// keep it in a file (DiskStore, ShelfStore), and background passes of several processes sharing
// one store, which never overlap. (The SQL stores' leases are tested with their stores.)
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { lstat, mkdtemp, readdir, rm, symlink, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DiskStore, ShelfStore, type Store } from '../../src/index.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const base = await mkdtemp(join(tmpdir(), 'websession-lease-'));
after(() => rm(base, { recursive: true, force: true }));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const kinds: Record<string, (where: string) => Store> = {
  disk: (where) => new DiskStore(where),
  shelf: (where) => new ShelfStore(where),
};
let n = 0;

for (const [kind, make] of Object.entries(kinds)) {
  describe(`${kind}: the store-wide lease`, () => {
    /** Two stores on one folder or file, as two processes would have. */
    const pair = () => {
      const where = join(base, `${kind}-${++n}`);
      return [make(where), make(where)] as const;
    };

    it('is held by one store at a time, and free again once released', async () => {
      const [a, b] = pair();
      const held = await a.lease!('cleanup', 10_000);
      assert.ok(held);
      assert.equal(await b.lease!('cleanup', 10_000), undefined);
      assert.equal(await a.lease!('cleanup', 10_000), undefined, 'not reentrant either');
      assert.ok(await b.lease!('other', 10_000), 'another name is another lease');
      await held.release();
      const next = await b.lease!('cleanup', 10_000);
      assert.ok(next);
      await next.release();
      await Promise.all([a.close(), b.close()]);
    });

    it("is taken over once its ttl lapses, and the old holder's renew says it was lost", async () => {
      const [a, b] = pair();
      const old = await a.lease!('cleanup', 400);
      assert.ok(old);
      await sleep(250);
      assert.equal(await old.renew(), true);
      await sleep(250);
      assert.equal(await b.lease!('cleanup', 400), undefined, 'renewed: still held');
      await sleep(500);
      const taken = await b.lease!('cleanup', 10_000);
      assert.ok(taken, 'lapsed: taken over');
      assert.equal(await old.renew(), false);
      await old.release(); // must not release the new holder's lease
      assert.equal(await a.lease!('cleanup', 10_000), undefined);
      await taken.release();
      await Promise.all([a.close(), b.close()]);
    });

    it('release(t) records when the pass ended, and the next holder reads it, whoever it is', async () => {
      const [a, b] = pair();
      const first = await a.lease!('cleanup', 10_000);
      assert.equal(first?.lastPassEndedAt, undefined, 'no pass ended yet');
      const ended = Date.now() - 5;
      await first!.release(ended);
      const second = await b.lease!('cleanup', 10_000);
      assert.equal(second?.lastPassEndedAt, ended);
      await second!.release(); // a release without a time keeps the last one
      const third = await a.lease!('cleanup', 10_000);
      assert.equal(third?.lastPassEndedAt, ended);
      await third!.release(Date.now() + 3_600_000); // a time to come is no record of a pass
      const fourth = await b.lease!('cleanup', 10_000);
      assert.equal(fourth?.lastPassEndedAt, undefined);
      await fourth!.release();
      await Promise.all([a.close(), b.close()]);
    });

    it("lapses after the taker's ttl whatever the holder asked for (Infinity, 1e308)", async () => {
      for (const huge of [Number.POSITIVE_INFINITY, 1e308]) {
        const [a, b] = pair();
        const greedy = await a.lease!('cleanup', huge);
        assert.ok(greedy);
        assert.equal(await b.lease!('cleanup', 60_000), undefined, 'held while fresh');
        await sleep(300);
        const taken = await b.lease!('cleanup', 200);
        assert.ok(taken, `a lease asked for ${huge} ms is taken over after 200 ms`);
        assert.equal(await greedy.renew(), false);
        await taken.release();
        await Promise.all([a.close(), b.close()]);
      }
    });
  });

  describe(`${kind}: background cleanup of four processes sharing one store`, () => {
    it('runs one pass at a time, the others skip theirs', async () => {
      const where = join(base, `${kind}-procs`);
      make(where); // created once before the processes start
      const worker = fileURLToPath(new URL('../fixtures/cleanup-worker.ts', import.meta.url));
      const passes: { start: number; end: number; skipped: boolean; error?: string }[] = [];
      const children = Array.from({ length: 4 }, () => {
        const child = fork(worker, [kind, where, '3000'], {
          execArgv: ['--import', 'tsx', '--conditions=websession-src'],
          stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
        });
        let stderr = '';
        child.stderr!.on('data', (d: Buffer) => {
          stderr += d;
        });
        child.on('message', (m) => passes.push(m as (typeof passes)[number]));
        return new Promise<void>((resolve, reject) =>
          child.on('exit', (code) =>
            code === 0 ? resolve() : reject(new Error(`worker exited ${code}: ${stderr}`)),
          ),
        );
      });
      await Promise.all(children);
      assert.deepEqual(
        passes.flatMap((p) => (p.error ? [p.error] : [])),
        [],
        'no pass failed',
      );
      const ran = passes.filter((p) => !p.skipped).sort((x, y) => x.start - y.start);
      assert.ok(ran.length >= 3, `passes ran: ${ran.length}`);
      assert.ok(
        passes.some((p) => p.skipped),
        'some passes found the lease held and skipped',
      );
      for (let i = 1; i < ran.length; i++)
        assert.ok(
          ran[i]!.start >= ran[i - 1]!.end - 5,
          `pass ${i} started ${ran[i - 1]!.end - ran[i]!.start} ms before the previous one ended: ${JSON.stringify(ran.slice(i - 1, i + 1))}`,
        );
    });
  });
}

describe('disk: a lease file that would hold the lease for ever', () => {
  const root = tempDirs('lease-file');
  const leaseFile = (store: DiskStore) => join(store.dir, 'cleanup.lease');

  it('an mtime in the future holds it no longer than the ttl', async () => {
    const store = new DiskStore(join(await root(), 's'));
    const held = await store.lease('cleanup', 60_000);
    assert.ok(held);
    const future = new Date(Date.now() + 86_400_000);
    await utimes(leaseFile(store), future, future);
    const taken = await store.lease('cleanup', 60_000);
    assert.ok(taken, 'taken over');
    await taken.release();
    await store.close();
  });

  it('a dangling symbolic link at the lease path is replaced, never followed', async () => {
    const base = await root();
    const store = new DiskStore(join(base, 's'));
    await symlink(join(base, 'nowhere'), leaseFile(store));
    const taken = await store.lease('cleanup', 60_000);
    assert.ok(taken, 'taken');
    assert.equal((await lstat(leaseFile(store))).isFile(), true, 'a lease file of its own');
    assert.equal(await readdir(base).then((names) => names.includes('nowhere')), false);
    await taken.release();
    await store.close();
  });
});
