// One cleanup pass at a time per store: the store-wide lease (Store.lease) on the stores that
// keep it in a file (DiskStore, ShelfStore), and background passes of several processes sharing
// one store, which never overlap; six processes sharing one store (Disk, SQLite, PostgreSQL) run
// about one pass per interval between them, not one each. (The SQL stores' leases are tested with
// their stores.)
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { lstat, mkdtemp, readdir, rm, symlink, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  Database,
  DBStore,
  DiskStore,
  SessionManager,
  ShelfStore,
  type Store,
} from '../../src/index.js';
import { sessionMetrics } from '../../src/metrics.js';
import { recordingLogger } from '../helpers/console-capture.js';
import { POSTGRES_URL, postgresPool, serverSkip } from '../helpers/servers.js';
import { tempDirs } from '../helpers/temp-dirs.js';
import { uniqueTable } from '../helpers/unique-table.js';

const base = await mkdtemp(join(tmpdir(), 'websession-lease-'));
after(() => rm(base, { recursive: true, force: true }));
const worker = fileURLToPath(new URL('../fixtures/cleanup-worker.ts', import.meta.url));

interface Pass {
  pid: number;
  start: number;
  end: number;
  skipped: boolean;
  error?: string;
}

/** Runs `count` cleanup workers on one store for `ms`; every pass they reported. */
async function runWorkers(count: number, args: string[]): Promise<Pass[]> {
  const passes: Pass[] = [];
  const children = Array.from({ length: count }, () => {
    const child = fork(worker, args, {
      execArgv: ['--import', 'tsx', '--conditions=websession-src'],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d;
    });
    child.on('message', (m) => passes.push(m as Pass));
    after(() => child.kill()); // a failed test leaves no worker behind
    return new Promise<void>((resolve, reject) =>
      child.on('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`worker exited ${code}: ${stderr}`)),
      ),
    );
  });
  await Promise.all(children);
  return passes;
}
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
      const passes = await runWorkers(4, [kind, where, '3000']);
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

const pgSkip = await serverSkip('postgres', POSTGRES_URL, 5432);
const pgTable = uniqueTable();
after(async () => {
  if (pgSkip) return;
  const pool = postgresPool();
  for (const t of [pgTable, `${pgTable}_lease`]) await pool.query(`DROP TABLE IF EXISTS ${t}`);
  await pool.end();
});

const shared: [string, () => string, { skip?: string | false; todo?: string | false }][] = [
  ['disk', () => join(base, 'disk-six'), {}],
  ['sqlite', () => join(base, 'six.db'), {}],
  ['postgres', () => pgTable, { skip: pgSkip }],
];
for (const [kind, where, options] of shared) {
  describe(`${kind}: six processes sharing one store`, () => {
    it('run about one cleanup pass per interval between them', options, async (t) => {
      const intervalMs = 1000;
      const passes = await runWorkers(6, [kind, where(), '9000', String(intervalMs / 1000)]);
      const failed = passes.flatMap((p) => (p.error ? [p.error] : []));
      assert.deepEqual(failed, [], 'no pass failed');
      const ran = passes.filter((p) => !p.skipped).sort((x, y) => x.start - y.start);
      assert.ok(ran.length >= 2, `passes ran: ${ran.length}`);
      // Counted over the intervals between the first pass and the last one that ran.
      const intervals = (ran.at(-1)!.start - ran[0]!.start) / intervalMs;
      const perInterval = (ran.length - 1) / Math.max(intervals, 1);
      t.diagnostic(`${ran.length} passes over ${intervals.toFixed(1)} intervals`);
      assert.ok(
        perInterval <= 1.5,
        `${ran.length} passes over ${intervals.toFixed(1)} intervals: ${perInterval.toFixed(2)} per interval (one per process would be 6)`,
      );
      assert.ok(
        new Set(ran.map((p) => p.pid)).size >= 1 && passes.some((p) => p.skipped),
        'the other processes skipped theirs',
      );
    });
  });
}

describe('a cleanup lease held all along by another process', () => {
  it('is reported once as a warning, and in every skipped pass’s event and the metrics', async () => {
    const file = join(base, 'stalled.db');
    const open = () =>
      new DBStore(new Database({ dbn: 'sqlite', db: file }), 'sessions', {
        createTable: true,
        closeDatabase: true,
      });
    const [holder, store] = [open(), open()];
    const held = await holder.lease('cleanup', 60_000); // never given up while the test runs
    assert.ok(held);
    const logger = recordingLogger();
    const manager = new SessionManager(store, { cleanup_interval: 0.2, timeout: 60, logger });
    const metrics = sessionMetrics(manager);
    const alive = setInterval(() => {}, 1000); // the schedule's timers do not hold the process
    try {
      const stalled: number[] = [];
      await new Promise<void>((resolve) => {
        manager.on('cleanup', (e) => {
          assert.equal(e.skipped, true);
          if (e.stalledMs !== undefined) stalled.push(e.stalledMs);
          if (stalled.length === 3) resolve();
        });
        void manager.load({}); // background cleanup starts with the first request
      });
      assert.ok(stalled[0]! >= 600, `stalled for ${stalled[0]} ms: over three intervals`);
      const warnings = logger.lines.filter((l) => /no cleanup pass has ended for \d+ s/.test(l));
      assert.equal(warnings.length, 1, `warned once: ${logger.lines.join('\n')}`);
      assert.match(metrics.text(), /websession_cleanup_stalled_seconds\{store="sqlite"\} [1-9]/);
    } finally {
      clearInterval(alive);
      await manager.close();
      await held.release();
      await Promise.all([holder.close(), store.close()]);
    }
  });
});

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
