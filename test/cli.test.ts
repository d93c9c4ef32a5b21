// The websession command, driven as a separate process (src/cli.ts is what dist/cli.js is built from).
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import { DiskStore, SessionManager } from 'websession';
import { migrateAndKill, runCli, seedDisk, verifyMigrated } from './helpers/migrate.js';
import { dropPrefix, redisUrlWith } from './helpers/redis.js';
import { REDIS_URL, serverSkip } from './helpers/servers.js';

const redisSkip = await serverSkip('Redis', REDIS_URL, 6379);

const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const NODE_ARGS = ['--import', 'tsx', '--conditions=websession-src', CLI];

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...NODE_ARGS, ...args],
      { timeout: 60_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

async function seed(dir: string, n: number, user?: string): Promise<string[]> {
  const manager = new SessionManager<{ i: number; when: Date }>(new DiskStore(dir), {
    cleanup_interval: 0,
  });
  const cookies: string[] = [];
  for (let i = 0; i < n; i++) {
    const s = await manager.load({ ip: `10.0.0.${i % 250}`, userAgent: `agent-${i}` });
    s.i = i;
    s.when = new Date(i);
    if (user) s.setUser(user);
    const set = await manager.commit(s);
    cookies.push(set!.split(';')[0]!.split('=')[1]!);
  }
  return cookies;
}

describe('websession CLI', () => {
  let dir: string;
  let url: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'websession-cli-'));
    url = `disk:${join(dir, 'src')}`;
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is the package bin', async () => {
    const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as {
      bin: Record<string, string>;
    };
    assert.equal(pkg.bin.websession, './dist/cli.js');
  });

  it('prints usage and exits 2 on bad usage, unknown commands and bad store URLs', async () => {
    assert.equal((await run([])).code, 2);
    const unknown = await run(['frobnicate']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command "frobnicate"/);
    const bad = await run(['stats', '--store', 'nope:x']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown store URL scheme "nope:"/);
    assert.equal((await run(['stats'])).code, 2);
    assert.equal((await run(['--help'])).code, 0);
  });

  it('stats, list (paged), show, kill and kill --user', async () => {
    const cookies = await seed(join(dir, 'src'), 5, 'ann');
    await seed(join(dir, 'src'), 2);
    const stats = await run(['stats', '--store', url]);
    assert.equal(stats.code, 0, stats.stderr);
    assert.match(stats.stdout, /^sessions: 7$/m);
    assert.match(stats.stdout, /^bytes: \d+$/m);
    const page1 = (await run(['list', '--store', url, '--limit', '4'])).stdout.trim().split('\n');
    const page2 = (await run(['list', '--store', url, '--limit', '4', '--offset', '4'])).stdout
      .trim()
      .split('\n');
    assert.equal(page1.length, 4);
    assert.equal(page2.length, 3);
    assert.equal(new Set([...page1, ...page2]).size, 7);
    const user = await run(['list', '--store', url, '--user', 'ann']);
    assert.equal(user.stdout.trim().split('\n').length, 5);
    assert.match(user.stdout, /ua agent-\d/);
    const shown = await run(['show', '--store', url, '--cookie', cookies[0]!]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /data: \{ i: 0, when: 1970-01-01T00:00:00\.000Z \}/);
    assert.match(shown.stdout, /user: 'ann'/);
    const missing = await run(['show', '--store', url, 'f'.repeat(64)]);
    assert.equal(missing.code, 3);
    assert.equal((await run(['show', '--store', url, 'not-a-key'])).code, 2);
    const killOne = await run(['kill', '--store', url, page2[0]!]);
    assert.equal(killOne.code, 0);
    const killUser = await run(['kill', '--store', url, '--user', 'ann']);
    assert.equal(killUser.code, 0, killUser.stderr);
    assert.match(killUser.stdout, /killed \d session\(s\) of user ann/);
    assert.equal((await run(['kill', '--store', url, '--user', 'nobody'])).code, 3);
    assert.match((await run(['stats', '--store', url])).stdout, /^sessions: [12]$/m);
  });

  it('cleanup removes idle sessions; a plain summary when piped, no progress bar', async () => {
    const store = `disk:${join(dir, 'clean')}`;
    await seed(join(dir, 'clean'), 3);
    const kept = await run(['cleanup', '--store', store, '--timeout', '3600']);
    assert.equal(
      kept.stdout,
      kept.stdout.replace(/\r/g, ''),
      'no carriage-return progress when piped',
    );
    assert.match(kept.stdout, /^removed 0 expired session\(s\) in [\d.]+ s\n$/);
    await new Promise((r) => setTimeout(r, 1100));
    const all = await run(['cleanup', '--store', store, '--timeout', '1']);
    assert.match(all.stdout, /^removed 3 expired session\(s\)/);
    assert.equal((await run(['cleanup', '--store', store])).code, 2, '--timeout is required');
  });

  it('shows a progress bar on a terminal (under a pseudo-terminal)', {
    skip: process.platform !== 'linux' ? 'needs script(1)' : false,
  }, async () => {
    const src = join(dir, 'tty');
    await seed(src, 50);
    const command = [
      process.execPath,
      ...NODE_ARGS,
      'migrate',
      '--from',
      `disk:${src}`,
      '--to',
      `disk:${join(dir, 'tty-to')}`,
    ]
      .map((a) => `'${a}'`)
      .join(' ');
    const out = await new Promise<string>((resolve, reject) => {
      execFile('script', ['-qec', command, '/dev/null'], { timeout: 60_000 }, (err, stdout) =>
        err ? reject(err) : resolve(stdout),
      );
    });
    assert.match(out, /\rmigrate \[#+\.*\] \d+\/50/);
    assert.match(out, /verified: all 50 live session\(s\)/);
  });

  it('migrate copies every live session, survives an interruption and resumes', async () => {
    const src = join(dir, 'm-src');
    const dst = join(dir, 'm-dst');
    const cookies = await seed(src, 3000);
    // Start, and kill it part-way.
    const child = spawn(
      process.execPath,
      [...NODE_ARGS, 'migrate', '--from', `disk:${src}`, '--to', `disk:${dst}`],
      { stdio: 'ignore' },
    );
    const dstStore = new DiskStore(dst);
    for (let i = 0; i < 400; i++) {
      let n = 0;
      for await (const _ of dstStore.keys()) n++;
      if (n > 200) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    child.kill('SIGKILL');
    let partial = 0;
    for await (const _ of dstStore.keys()) partial++;
    assert.ok(partial > 0 && partial < 3000, `interrupted part-way (${partial} copied)`);
    const resumed = await run(['migrate', '--from', `disk:${src}`, '--to', `disk:${dst}`]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stdout, /migrated 3000 live session\(s\) of 3000/);
    assert.match(resumed.stdout, /already there/);
    assert.match(resumed.stdout, /verified: all 3000/);
    // Same ids, same data: each cookie loads its session from the destination.
    const manager = new SessionManager<{ i: number; when: Date }>(dstStore, {
      cleanup_interval: 0,
    });
    for (const i of [0, 1, 1500, 2999]) {
      const s = await manager.load({ cookie: `webpy_session_id=${cookies[i]}` });
      assert.equal(s.i, i);
      assert.ok(s.when instanceof Date && s.when.getTime() === i);
    }
  });

  describe('migrate from a DiskStore of 3000 sessions, SIGKILLed halfway and resumed', () => {
    const N = 3000;
    let from: string;
    let ids: string[];
    before(async () => {
      from = `disk:${join(dir, 'm3k')}`;
      ids = await seedDisk(join(dir, 'm3k'), N);
    });
    const sample = [0, 1, 10, 100, 1499, 1500, 2999];

    async function interruptedThenResumed(to: string, progress: () => Promise<number>) {
      await migrateAndKill(from, to, N / 2, progress);
      const partial = await progress();
      assert.ok(partial > 0 && partial < N, `interrupted part-way (${partial} of ${N} copied)`);
      const resumed = await runCli(['migrate', '--from', from, '--to', to]);
      assert.equal(resumed.code, 0, resumed.stderr);
      const m = /migrated 3000 live session\(s\) of 3000 \((\d+) copied, (\d+) already there/.exec(
        resumed.stdout,
      );
      assert.ok(m, resumed.stdout);
      assert.equal(Number(m[1]) + Number(m[2]), N);
      assert.ok(Number(m[2]) >= partial - 64, 'what the first run copied is not copied again');
      assert.match(resumed.stdout, /verified: all 3000/);
      await verifyMigrated(from, to, ids, sample);
    }

    it('to SQLite: same ids, data and user index', async () => {
      const file = join(dir, 'm3k.db');
      let db: Database.Database | undefined;
      try {
        await interruptedThenResumed(`sqlite:${file}`, async () => {
          try {
            db ??= new Database(file, { readonly: true, fileMustExist: true });
            return Number(
              (db.prepare('SELECT COUNT(*) AS n FROM sessions').get() as { n: number }).n,
            );
          } catch {
            return 0;
          }
        });
      } finally {
        db?.close();
      }
    });

    it('to Redis: same ids, data and user index', { skip: redisSkip }, async () => {
      const prefix = `ws_cli_migrate_${process.pid}_${Date.now()}:`;
      const redis = new Redis(REDIS_URL);
      try {
        await interruptedThenResumed(redisUrlWith(`prefix=${prefix}`), async () => {
          let n = 0;
          let cursor = '0';
          do {
            const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
            cursor = next;
            n += keys.filter((k) => !k.startsWith(`${prefix}user:`)).length;
          } while (cursor !== '0');
          return n;
        });
      } finally {
        redis.disconnect();
        await dropPrefix(prefix);
      }
    });
  });
});
