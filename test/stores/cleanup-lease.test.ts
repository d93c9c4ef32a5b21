// One cleanup pass at a time per store: the store-wide lease (Store.lease) on the stores that
// keep it in a file (DiskStore, ShelfStore), and background passes of several processes sharing
// one store, which never overlap. (The SQL stores' leases are tested with their stores.)
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DiskStore, ShelfStore, type Store } from '../../src/index.js';

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
