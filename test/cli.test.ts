// The websession command, driven as a separate process: the built binary dist/cli.js (the
// package.json "bin"), rebuilt from src/ first when it is missing or older than the sources.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { DiskStore, SessionManager } from 'websession';
import { main } from '../src/cli.js';
import { shown } from '../src/stores/url-params.js';
import { BIN, buildWhenStale, newestSource, ROOT } from './helpers/build.js';
import { countKeys, migrateAndKill, runCli, seedDisk, verifyMigrated } from './helpers/migrate.js';
import { dropPrefix, redisUrlWith } from './helpers/redis.js';
import { MYSQL_URL, POSTGRES_URL, REDIS_URL, serverSkip } from './helpers/servers.js';

const redisSkip = await serverSkip('Redis', REDIS_URL, 6379);
const postgresSkip = await serverSkip('Postgres', POSTGRES_URL, 5432);
const mysqlSkip = await serverSkip('MySQL', MYSQL_URL, 3306);

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

function exec(
  file: string,
  args: string[],
  cwd = ROOT,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd, env, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/**
 * Runs the command in this process (the bin's `main`, its output captured): for cases about what
 * it answers, not how it starts; each saves starting a Node process.
 */
async function runHere(args: string[]): Promise<Ran> {
  let stdout = '';
  let stderr = '';
  const sink = (add: (text: string) => void) =>
    new Writable({
      write(chunk, _encoding, done) {
        add(String(chunk));
        done();
      },
    });
  const code = await main(args, {
    out: sink((t) => {
      stdout += t;
    }),
    err: sink((t) => {
      stderr += t;
    }),
  });
  return { code, stdout, stderr };
}

/** Runs the built binary to the end. */
function run(args: string[]): Promise<Ran> {
  return exec(BIN, args);
}

/** Runs `command` (a shell command line) under a pseudo-terminal with script(1); its output. */
function underTerminal(argv: string[]): Promise<string> {
  const command = argv.map((a) => `'${a}'`).join(' ');
  return new Promise<string>((resolve, reject) => {
    execFile('script', ['-qec', command, '/dev/null'], { timeout: 60_000 }, (err, stdout) =>
      err ? reject(err) : resolve(stdout),
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
    await buildWhenStale();
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
    assert.ok(statSync(BIN).mtimeMs > newestSource(), 'dist/cli.js is built from the current src/');
    assert.ok(statSync(BIN).mode & 0o111, 'dist/cli.js is executable');
    assert.match(await readFile(BIN, 'utf8'), /^#!\/usr\/bin\/env node\n/);
  });

  it('npx websession --help resolves the package bin and prints the usage on stdout', async () => {
    const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';
    // In an application that has the package installed (linked here, with the bin link npm makes
    // from package.json's "bin"), not in the repository itself: there npx installs the folder
    // into its cache as a link, which runs the package's `prepare`, rebuilding dist/ under the
    // feet of the other test files.
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
      bin: Record<string, string>;
    };
    const app = join(dir, 'npx-app');
    await mkdir(join(app, 'node_modules', '.bin'), { recursive: true });
    await writeFile(join(app, 'package.json'), '{ "name": "app", "private": true }\n');
    await symlink(ROOT, join(app, 'node_modules', 'websession'), 'dir');
    await symlink(
      join('..', 'websession', pkg.bin.websession as string),
      join(app, 'node_modules', '.bin', 'websession'),
    );
    // Offline: npx resolves the local bin without asking the registry (a minute on a busy machine).
    const help = await exec(npx, ['--no-install', 'websession', '--help'], app, {
      ...process.env,
      npm_config_offline: 'true',
      npm_config_update_notifier: 'false',
    });
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^usage: websession <command> \[options\]\n/);
    assert.match(help.stdout, /exit codes: 0 done, 1 failed, 2 usage error, 3 not found/);
  });

  it('prints usage and exits 2 on bad usage, unknown commands and bad store URLs', async () => {
    assert.equal((await runHere([])).code, 2);
    const unknown = await runHere(['frobnicate']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command "frobnicate"/);
    const bad = await runHere(['stats', '--store', 'nope:x']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown store URL scheme "nope:"/);
    assert.equal((await runHere(['stats'])).code, 2);
    const none = await runHere([]);
    assert.equal(none.stdout, '');
    assert.match(none.stderr, /^usage: websession/, 'usage on stderr when no command is given');
    const help = await runHere(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^usage: websession/, 'usage on stdout when asked for');
    assert.equal(help.stderr, '');
    // A bad page is a usage error before the store opens: an unreachable server is not asked.
    for (const page of [['--limit', '0'], ['--limit', 'x'], ['--offset=-1']]) {
      const r = await runHere(['list', '--store', 'redis://127.0.0.1:1/0', ...page]);
      assert.equal(r.code, 2, page.join(' '));
      assert.match(r.stderr, /--limit must be a positive integer/);
    }
    const option = await runHere(['stats', '--frobnicate']);
    assert.equal(option.code, 2);
    assert.equal(
      option.stderr,
      'websession: unknown option --frobnicate; websession --help lists them\n',
    );
  });

  it('exits 2 with one line for a bad store URL, whatever the command', async () => {
    const cases: [string[], RegExp][] = [
      [['stats', '--store', 'not a url'], /^websession: bad store URL "not a url"/],
      [['list', '--store', 'disk:'], /^websession: store URL "disk:" names no folder/],
      [['cleanup', '--store', 'sqlite:', '--timeout', '1'], /names no file/],
      [['show', '--store', 'nope:x', 'f'.repeat(64)], /unknown store URL scheme "nope:"/],
      [['migrate', '--from', 'memory:', '--to', 'bogus://x'], /unknown store URL scheme "bogus:"/],
      [['migrate', '--from', 'memory:'], /^websession: missing --to <store-url>\n$/],
    ];
    for (const [args, message] of cases) {
      const r = await runHere(args);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.stderr, message, args.join(' '));
      assert.equal(r.stderr.split('\n').length, 2, `one line: ${r.stderr}`);
      assert.equal(r.stdout, '');
    }
  });

  it('exits 1 with one line when the store cannot be reached (closed port, missing folder)', async () => {
    const cases: [string[], RegExp][] = [
      [
        ['stats', '--store', 'redis://127.0.0.1:1/0'],
        /^websession: cannot reach Redis at 127\.0\.0\.1:1 \(connect ECONNREFUSED 127\.0\.0\.1:1\)$/m,
      ],
      [
        ['list', '--store', 'postgres://postgres@127.0.0.1:1/test'],
        /^websession: cannot reach PostgreSQL at 127\.0\.0\.1:1 \(connect ECONNREFUSED 127\.0\.0\.1:1\)$/m,
      ],
      [
        ['stats', '--store', 'mysql://root@127.0.0.1:1/test'],
        /^websession: cannot reach MySQL at 127\.0\.0\.1:1 \(connect ECONNREFUSED 127\.0\.0\.1:1\)$/m,
      ],
      [
        ['stats', '--store', `sqlite:${join(dir, 'no', 'such', 'folder', 'x.db')}`],
        /^websession: no file .*x\.db \(store URL sqlite:/,
      ],
      [
        ['migrate', '--from', 'memory:', '--to', 'redis://127.0.0.1:1/0'],
        /^websession: cannot reach Redis at 127\.0\.0\.1:1 /,
      ],
    ];
    for (const [args, message] of cases) {
      const r = await run(args);
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
      assert.equal(r.stderr.split('\n').length, 2, `one line: ${r.stderr}`);
    }
  });

  it('says why an unreachable Redis fails: it cannot connect', async () => {
    const r = await run(['stats', '--store', 'redis://127.0.0.1:1/0']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /ECONNREFUSED|cannot reach|connect/i);
  });

  it('exits 3 for an unknown key or user, 0 once found', async () => {
    const store = `disk:${join(dir, 'ids')}`;
    const [cookie] = await seed(join(dir, 'ids'), 1, 'bo');
    const key = (await runHere(['list', '--store', store])).stdout.trim();
    assert.match(key, /^[0-9a-f]{64}$/);
    const unknown = 'e'.repeat(64);
    const cases: [string[], RegExp][] = [
      [['show', '--store', store, unknown], /^websession: no session with key e{64}\n$/],
      [['kill', '--store', store, unknown], /^websession: no session with key e{64}\n$/],
      [
        ['show', '--store', store, '--cookie', 'a'.repeat(64)],
        /^websession: warning: a cookie on the command line .*\nwebsession: no session with key /,
      ],
      [
        ['list', '--store', store, '--user', 'nobody'],
        /^websession: no sessions for user "nobody"\n$/,
      ],
      [
        ['kill', '--store', store, '--user', 'nobody'],
        /^websession: no sessions for user "nobody"\n$/,
      ],
      [['show', '--store', 'memory:', key], /^websession: no session with key /],
    ];
    for (const [args, message] of cases) {
      const r = await runHere(args);
      assert.equal(r.code, 3, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
      assert.equal(r.stdout, '');
    }
    assert.equal((await runHere(['show', '--store', store, key])).code, 0);
    assert.equal((await runHere(['show', '--store', store, '--cookie', cookie!])).code, 0);
    assert.equal((await runHere(['kill', '--store', store, '--user', 'bo'])).code, 0);
    assert.equal((await runHere(['show', '--store', store, key])).code, 3, 'gone once killed');
  });

  it('stats, list (paged), show, kill and kill --user', async () => {
    const cookies = await seed(join(dir, 'src'), 5, 'ann');
    await seed(join(dir, 'src'), 2);
    const stats = await runHere(['stats', '--store', url]);
    assert.equal(stats.code, 0, stats.stderr);
    assert.match(stats.stdout, /^sessions: 7$/m);
    assert.match(stats.stdout, /^bytes: \d+$/m);
    const page1 = (await runHere(['list', '--store', url, '--limit', '4'])).stdout
      .trim()
      .split('\n');
    const page2 = (await runHere(['list', '--store', url, '--limit', '4', '--offset', '4'])).stdout
      .trim()
      .split('\n');
    assert.equal(page1.length, 4);
    assert.equal(page2.length, 3);
    assert.equal(new Set([...page1, ...page2]).size, 7);
    const user = await runHere(['list', '--store', url, '--user', 'ann']);
    assert.equal(user.stdout.trim().split('\n').length, 5);
    assert.match(user.stdout, /ua agent-\d/);
    const shown = await runHere(['show', '--store', url, '--cookie', cookies[0]!]);
    assert.equal(shown.code, 0, shown.stderr);
    const session = JSON.parse(shown.stdout) as { data: unknown; user: string };
    assert.deepEqual(session.data, { i: 0, when: '1970-01-01T00:00:00.000Z' });
    assert.equal(session.user, 'ann');
    const missing = await runHere(['show', '--store', url, 'f'.repeat(64)]);
    assert.equal(missing.code, 3);
    assert.equal((await runHere(['show', '--store', url, 'not-a-key'])).code, 2);
    const killOne = await runHere(['kill', '--store', url, page2[0]!]);
    assert.equal(killOne.code, 0);
    const killUser = await runHere(['kill', '--store', url, '--user', 'ann']);
    assert.equal(killUser.code, 0, killUser.stderr);
    assert.match(killUser.stdout, /killed \d session\(s\) of user ann/);
    assert.equal((await runHere(['kill', '--store', url, '--user', 'nobody'])).code, 3);
    assert.match((await runHere(['stats', '--store', url])).stdout, /^sessions: [12]$/m);
  });

  it('cleanup removes idle sessions; a plain summary when piped, no progress bar', async () => {
    const store = `disk:${join(dir, 'clean')}`;
    await seed(join(dir, 'clean'), 3);
    const kept = await runHere(['cleanup', '--store', store, '--timeout', '3600']);
    assert.equal(
      kept.stdout,
      kept.stdout.replace(/\r/g, ''),
      'no carriage-return progress when piped',
    );
    assert.match(kept.stdout, /^removed 0 expired session\(s\) in [\d.]+ s\n$/);
    const all = await runHere(['cleanup', '--store', store, '--timeout', '0']);
    assert.match(all.stdout, /^removed 3 expired session\(s\)/);
    assert.equal((await runHere(['cleanup', '--store', store])).code, 2, '--timeout is required');
  });

  it('cleanup counts the temp files it removed apart from the sessions', async () => {
    const folder = join(dir, 'temps');
    await seed(folder, 1);
    const key = 'ab'.repeat(32);
    await mkdir(join(folder, 'ab'), { recursive: true, mode: 0o700 });
    const temp = join(folder, 'ab', `${key}.sess.123.abc.tmp`);
    await writeFile(temp, 'left by a killed write', { mode: 0o600 });
    const old = new Date(Date.now() - 2 * 3600_000);
    await utimes(temp, old, old);
    const { stdout } = await run(['cleanup', '--store', `disk:${folder}`, '--timeout', '3600']);
    assert.match(
      stdout,
      /^removed 0 expired session\(s\) and 1 temp file\(s\) left by interrupted writes in [\d.]+ s\n$/,
    );
  });

  it('migrate prints a plain summary when piped: no progress bar, no carriage return', async () => {
    const src = join(dir, 'piped');
    await seed(src, 50);
    const r = await run([
      'migrate',
      '--from',
      `disk:${src}`,
      '--to',
      `disk:${join(dir, 'piped-to')}`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!r.stdout.includes('\r'), 'no carriage return');
    assert.ok(!r.stdout.includes('\u001b'), 'no escape sequence');
    assert.match(
      r.stdout,
      /^migrated 50 live session\(s\) of 50 \(50 copied, 0 already there, 0 expired skipped\) in [\d.]+ s\nverified: all 50 live session\(s\) are in the destination\n$/,
    );
  });

  it('shows a progress bar on a terminal (under a pseudo-terminal)', {
    skip: process.platform !== 'linux' ? 'needs script(1)' : false,
  }, async () => {
    const src = join(dir, 'tty');
    await seed(src, 50);
    const out = await underTerminal([
      BIN,
      'migrate',
      '--from',
      `disk:${src}`,
      '--to',
      `disk:${join(dir, 'tty-to')}`,
    ]);
    assert.match(out, /\rmigrate \[#+\.*\] \d+\/50/);
    assert.match(out, /\rmigrate \[#{30}\] 50\/50 100%/, 'the bar ends full');
    // Then it says it is verifying, with a bar of its own.
    assert.match(out, /\rverify \[\.{30}\] 0\/50 0%/, 'the verify bar starts');
    assert.match(out, /\rverify \[#{30}\] 50\/50 100%/, 'and ends full');
    assert.ok(out.indexOf('\rverify') > out.lastIndexOf('\rmigrate'), 'after the copy');
    assert.match(out, /verified: all 50 live session\(s\)/);
  });

  it("cleanup waits while another process holds the store's cleanup lease, then runs its pass", async () => {
    const src = join(dir, 'leased');
    await seed(src, 3);
    const lease = await new DiskStore(src).lease('cleanup', 60_000);
    assert.ok(lease);
    const child = spawn(BIN, ['cleanup', '--store', `disk:${src}`, '--timeout', '3600'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
    });
    const exited = once(child, 'close');
    // Wait for the command to say it is waiting (an event, not a time): it found the lease taken.
    const waiting = 'another process is running a cleanup pass on this store: waiting for it…\n';
    await new Promise<void>((resolve) => {
      child.stderr.setEncoding('utf8').on('data', (c: string) => {
        stderr += c;
        if (stderr.includes(waiting)) resolve();
      });
      void exited.then(() => resolve());
    });
    assert.equal(child.exitCode, null, `no pass while another process runs one: ${stderr}`);
    assert.equal(stdout, '');
    await lease.release();
    const [code] = await exited;
    assert.equal(code, 0, stderr);
    assert.equal(stderr, waiting);
    assert.match(stdout, /^removed 0 expired session\(s\) in [\d.]+ s\n$/);
  });

  it('cleanup shows its progress on a terminal (under a pseudo-terminal)', {
    skip: process.platform !== 'linux' ? 'needs script(1)' : false,
  }, async () => {
    const src = join(dir, 'tty-clean');
    await seed(src, 30);
    const out = await underTerminal([
      BIN,
      'cleanup',
      '--store',
      `disk:${src}`,
      '--timeout',
      '3600',
    ]);
    // A DiskStore counts what it scanned (it knows no total up front).
    assert.ok(out.includes('\rcleanup 30 removed 0\u001b[K'), JSON.stringify(out));
    assert.match(out, /removed 0 expired session\(s\) in [\d.]+ s/);
  });

  describe('migrate from a DiskStore of 1000 sessions, SIGKILLed halfway and resumed', () => {
    const N = 1000;
    let from: string;
    let ids: string[];
    before(async () => {
      from = `disk:${join(dir, 'm3k')}`;
      ids = await seedDisk(join(dir, 'm3k'), N);
    });
    const sample = [0, 1, 10, 100, N / 2 - 1, N / 2, N - 1];

    async function interruptedThenResumed(to: string, progress: () => Promise<number>) {
      await migrateAndKill(from, to, N / 2, progress);
      const partial = await progress();
      assert.ok(partial > 0 && partial < N, `interrupted part-way (${partial} of ${N} copied)`);
      const resumed = await runCli(['migrate', '--from', from, '--to', to]);
      assert.equal(resumed.code, 0, resumed.stderr);
      const m = new RegExp(
        `migrated ${N} live session\\(s\\) of ${N} \\((\\d+) copied, (\\d+) already there`,
      ).exec(resumed.stdout);
      assert.ok(m, resumed.stdout);
      assert.equal(Number(m[1]) + Number(m[2]), N);
      assert.ok(Number(m[2]) >= partial - 64, 'what the first run copied is not copied again');
      assert.match(resumed.stdout, new RegExp(`verified: all ${N} `));
      await verifyMigrated(from, to, ids, sample);
    }

    it('to a DiskStore: same ids, data and user index', async () => {
      const to = join(dir, 'm3k-dst');
      const dst = new DiskStore(to, { crossProcess: false });
      await interruptedThenResumed(`disk:${to}`, () => countKeys(dst).catch(() => 0));
    });

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

    // Dropped in an after hook too, so a test cancelled part-way leaves no keys behind.
    const prefix = `ws_cli_migrate_${process.pid}_${Date.now()}:`;
    after(() => (redisSkip ? undefined : dropPrefix(prefix)));

    it('to Redis: same ids, data and user index', { skip: redisSkip }, async () => {
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

/** The binary run with `packages` missing, as on a machine where they are not installed. */
function runWithout(packages: string[], args: string[]): Promise<Ran> {
  const hide = join(ROOT, 'test', 'helpers', 'hide-packages.mjs');
  return exec(process.execPath, ['--import', hide, BIN, ...args], ROOT, {
    ...process.env,
    HIDE_PACKAGES: packages.join(','),
  });
}

/** A server that accepts connections and never answers: a hung database. */
async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('websession CLI: what a new user trips over', () => {
  let dir: string;
  before(async () => {
    await buildWhenStale();
    dir = await mkdtemp(join(tmpdir(), 'websession-cli2-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('--version and -V print the package version', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
      version: string;
    };
    for (const flag of ['--version', '-V']) {
      const r = await run([flag]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `${pkg.version}\n`);
      assert.equal(r.stderr, '');
    }
  });

  it('migrate --to a store whose driver is missing: one line naming the package, no stack trace, exit 1', async () => {
    const src = join(dir, 'drivers');
    await seed(src, 80); // more than the 64 copied at once
    const cases: [string, string, string][] = [
      ['ioredis', REDIS_URL, 'redis'],
      ['pg', POSTGRES_URL, 'postgres'],
      ['mysql2', MYSQL_URL, 'mysql'],
      ['better-sqlite3', `sqlite:${join(dir, 'no-driver.db')}`, 'sqlite'],
      ['lmdb', `shelf:${join(dir, 'no-driver.shelf')}`, 'shelf'],
    ];
    for (const [pkg, to, kind] of cases) {
      const r = await runWithout([pkg], ['migrate', '--from', `disk:${src}`, '--to', to]);
      assert.equal(r.code, 1, `${pkg}: ${r.stderr}`);
      assert.equal(
        r.stderr,
        `websession: the ${kind} store needs the "${pkg}" package: npm install ${pkg}\n`,
      );
      assert.equal(r.stdout, '', 'nothing was read from the source');
    }
    assert.equal(existsSync(join(dir, 'no-driver.db')), false);
  });

  it('migrate --from a folder, file or table that does not exist: exit 1, and nothing is created', async () => {
    const file = join(dir, 'other.db');
    const db = new Database(file);
    db.exec('CREATE TABLE unrelated (x INTEGER)');
    db.close();
    const to = join(dir, 'never-made');
    const cases: [string, RegExp][] = [
      [`disk:${join(dir, 'nope')}`, /^websession: no folder .*nope \(store URL disk:/],
      [`shelf:${join(dir, 'nope.shelf')}`, /^websession: no file .*nope\.shelf/],
      [`sqlite:${join(dir, 'nope.db')}`, /^websession: no file .*nope\.db/],
      [`sqlite:${file}?table=sessions`, /^websession: no table "sessions"/],
    ];
    for (const [from, message] of cases) {
      const r = await run(['migrate', '--from', from, '--to', `disk:${to}`]);
      assert.equal(r.code, 1, `${from}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.split('\n').length, 2, `one line: ${r.stderr}`);
    }
    for (const made of ['nope', 'nope.shelf', 'nope.db', 'never-made'])
      assert.equal(existsSync(join(dir, made)), false, `${made} was not created`);
    const check = new Database(file, { readonly: true });
    const tables = check.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all();
    check.close();
    assert.deepEqual(tables, [{ name: 'unrelated' }], 'no sessions table was created');
  });

  it('stats, list, show, kill and cleanup never create a folder, a file or a table', async () => {
    const key = 'a'.repeat(64);
    const commands = (store: string) => [
      ['stats', '--store', store],
      ['list', '--store', store],
      ['show', '--store', store, key],
      ['kill', '--store', store, key],
      ['cleanup', '--store', store, '--timeout', '60'],
    ];
    for (const store of [
      `disk:${join(dir, 'ro-folder')}`,
      `shelf:${join(dir, 'ro.shelf')}`,
      `sqlite:${join(dir, 'ro.db')}`,
    ]) {
      for (const args of commands(store)) {
        const r = await runHere(args);
        assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
        assert.match(r.stderr, /^websession: no (folder|file) /);
      }
    }
    for (const made of ['ro-folder', 'ro.shelf', 'ro.db'])
      assert.equal(existsSync(join(dir, made)), false, `${made} was not created`);
  });

  it('on PostgreSQL, stats, list and show never create the table', {
    skip: postgresSkip,
  }, async () => {
    const table = `ws_cli_none_${process.pid}_${Date.now()}`;
    const admin = new pg.Client({ connectionString: POSTGRES_URL });
    await admin.connect();
    try {
      for (const command of [['stats'], ['list'], ['show', 'a'.repeat(64)]]) {
        const [name, ...rest] = command;
        const r = await run([name!, '--store', `${POSTGRES_URL}?table=${table}`, ...rest]);
        assert.equal(r.code, 1, r.stderr);
        // The URL as the CLI prints it: a password (POSTGRES_URL may carry one) masked.
        const printed = shown(`${POSTGRES_URL}?table=${table}`);
        assert.equal(r.stderr, `websession: no table "${table}" (store URL ${printed})\n`);
        const password = new URL(POSTGRES_URL).password;
        if (password) assert.ok(!r.stderr.includes(password), 'the password is not printed');
      }
      const found = await admin.query('SELECT 1 FROM pg_tables WHERE tablename = $1', [table]);
      assert.equal(found.rowCount, 0);
    } finally {
      await admin.end();
    }
  });

  it('on MySQL, stats, list and show never create the table', { skip: mysqlSkip }, async () => {
    const table = `ws_cli_none_${process.pid}_${Date.now()}`;
    const admin = await mysql.createConnection(MYSQL_URL);
    try {
      for (const command of [['stats'], ['list'], ['show', 'a'.repeat(64)]]) {
        const [name, ...rest] = command;
        const r = await run([name!, '--store', `${MYSQL_URL}?table=${table}`, ...rest]);
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, new RegExp(`^websession: no table "${table}"`));
      }
      const [rows] = await admin.query('SHOW TABLES LIKE ?', [table]);
      assert.deepEqual(rows, []);
    } finally {
      await admin.end();
    }
  });

  it("a server that does not answer is given up on (the connect timeout) and reported in the user's words", async () => {
    const silent = await silentServer();
    try {
      const cases: [string, string][] = [
        [`redis://127.0.0.1:${silent.port}/0`, 'Redis'],
        [`postgres://postgres@127.0.0.1:${silent.port}/test`, 'PostgreSQL'],
        [`mysql://root@127.0.0.1:${silent.port}/test`, 'MySQL'],
      ];
      for (const [store, name] of cases) {
        // Without the connect timeout the command would wait on the silent server for ever (until
        // exec's 120 s kill): its one line proves it gave up. How soon is not asserted.
        const r = await run(['stats', '--store', store]);
        assert.equal(r.code, 1, r.stderr);
        assert.match(
          r.stderr,
          new RegExp(
            `^websession: cannot reach ${name} at 127\\.0\\.0\\.1:${silent.port} \\(.+\\)\\n$`,
          ),
        );
        assert.doesNotMatch(r.stderr, /failed:|refused the write/);
      }
      const quick = await run([
        'stats',
        '--store',
        `postgres://postgres@127.0.0.1:${silent.port}/test?connectTimeout=200`,
      ]);
      assert.equal(quick.code, 1);
    } finally {
      await silent.close();
    }
  });
});
