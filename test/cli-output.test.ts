// The websession command's options and output: a mistyped option, JSON output, a dry run of
// cleanup, a cookie kept out of the process list, and Ctrl-C during migrate. Runs the built bin.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { watch } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { DiskStore, SessionManager } from 'websession';
import { SHARD } from '../src/stores/disk-files.js';
import { BIN, buildWhenStale } from './helpers/build.js';
import { countKeys, seedDisk } from './helpers/migrate.js';
import { tempDirs } from './helpers/temp-dirs.js';

const tempDir = tempDirs('cli-output');

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the bin to its end, with `input` on its stdin and `env` added to the environment. */
function run(
  args: string[],
  options: { input?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<Ran> {
  return new Promise((resolve) => {
    const child = execFile(
      BIN,
      args,
      { env: { ...process.env, WEBSESSION_COOKIE: '', ...options.env } },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin?.end(options.input ?? '');
  });
}

/** `n` sessions in a DiskStore at `dir`, of user `ann`, each holding a Date, a Map and a Set. */
async function seed(dir: string, n: number): Promise<string[]> {
  const manager = new SessionManager(new DiskStore(dir), { cleanup_interval: 0 });
  const cookies: string[] = [];
  for (let i = 0; i < n; i++) {
    const s = await manager.load({ ip: '10.0.0.1', userAgent: 'agent' });
    s.i = i;
    s.when = new Date(0);
    s.tags = new Set(['a']);
    s.seen = new Map([['x', 1]]);
    s.setUser('ann');
    const set = await manager.commit(s);
    cookies.push(set!.split(';')[0]!.split('=')[1]!);
  }
  return cookies;
}

before(buildWhenStale);

describe('websession CLI output', () => {
  let store: string;
  let cookies: string[];
  before(async () => {
    const dir = join(await tempDir(), 'sessions');
    cookies = await seed(dir, 3);
    store = `disk:${dir}`;
  });

  it('a mistyped option: one line naming it and the closest known one, exit 2', async () => {
    for (const [typo, near] of [
      ['--stor', '--store'],
      ['--limt', '--limit'],
      ['--dryrun', '--dry-run'],
    ] as const) {
      const r = await run(['list', typo, 'x']);
      assert.equal(r.code, 2);
      assert.equal(
        r.stderr,
        `websession: unknown option ${typo} (did you mean ${near}?); websession --help lists them\n`,
      );
      assert.equal(r.stdout, '');
    }
    const far = await run(['list', '--frobnicate']);
    assert.equal(
      far.stderr,
      'websession: unknown option --frobnicate; websession --help lists them\n',
    );
  });

  it('show prints the session as JSON (indented; --json: one line), dates as ISO, Maps and Sets as JSON', async () => {
    const key = (await run(['list', '--store', store, '--limit', '1'])).stdout.trim();
    const shown = await run(['show', '--store', store, key]);
    assert.equal(shown.code, 0, shown.stderr);
    const session = JSON.parse(shown.stdout) as Record<string, unknown>;
    assert.equal(session.key, key);
    assert.equal(session.user, 'ann');
    assert.match(String(session.created), /^\d{4}-\d\d-\d\dT/);
    const data = session.data as Record<string, unknown>;
    assert.equal(data.when, '1970-01-01T00:00:00.000Z');
    assert.deepEqual(data.tags, ['a']);
    assert.deepEqual(data.seen, { x: 1 });
    assert.ok(shown.stdout.split('\n').length > 3, 'indented');
    const oneLine = await run(['show', '--store', store, key, '--json']);
    assert.deepEqual(JSON.parse(oneLine.stdout), session);
    assert.equal(oneLine.stdout.split('\n').length, 2, 'one line');
  });

  it('--json on stats and list (keys, and a user’s sessions)', async () => {
    const stats = JSON.parse((await run(['stats', '--store', store, '--json'])).stdout);
    assert.equal(stats.sessions, 3);
    assert.equal(stats.corrupt, 0);
    assert.ok(stats.bytes > 0);
    const keys = JSON.parse((await run(['list', '--store', store, '--json'])).stdout) as string[];
    assert.equal(keys.length, 3);
    assert.ok(keys.every((k) => /^[0-9a-f]{64}$/.test(k)));
    const mine = JSON.parse(
      (await run(['list', '--store', store, '--user', 'ann', '--json'])).stdout,
    );
    assert.deepEqual(mine.map((r: { key: string }) => r.key).sort(), [...keys].sort());
    assert.equal(mine[0].userAgent, 'agent');
  });

  it('show takes the cookie from stdin (--cookie -) or WEBSESSION_COOKIE; on the command line it warns', async () => {
    const piped = await run(['show', '--store', store, '--cookie', '-', '--json'], {
      input: `${cookies[1]}\n`,
    });
    assert.equal(piped.code, 0, piped.stderr);
    assert.equal(piped.stderr, '');
    assert.equal(JSON.parse(piped.stdout).data.i, 1);
    const env = await run(['show', '--store', store, '--json'], {
      env: { WEBSESSION_COOKIE: cookies[2] },
    });
    assert.equal(env.code, 0, env.stderr);
    assert.equal(env.stderr, '');
    assert.equal(JSON.parse(env.stdout).data.i, 2);
    const argv = await run(['show', '--store', store, '--cookie', cookies[0]!, '--json']);
    assert.equal(argv.code, 0);
    assert.match(
      argv.stderr,
      /^websession: warning: a cookie on the command line is visible in the process list/,
    );
    assert.equal(JSON.parse(argv.stdout).data.i, 0);
  });

  it('cleanup --dry-run counts what it would remove and deletes nothing; a tiny --timeout says what it does', async () => {
    const dir = join(await tempDir(), 'clean');
    await seed(dir, 2);
    const url = `disk:${dir}`;
    const dry = await run(['cleanup', '--store', url, '--timeout', '0', '--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal(
      dry.stdout,
      'would remove 2 of 2 session(s) (idle more than 0 s); nothing was deleted\n',
    );
    assert.equal(await countKeys(new DiskStore(dir)), 2);
    const kept = await run(['cleanup', '--store', url, '--timeout', '3600', '--dry-run']);
    assert.match(kept.stdout, /^would remove 0 of 2 session/);
    const real = await run(['cleanup', '--store', url, '--timeout', '0']);
    assert.equal(real.code, 0, real.stderr);
    assert.match(real.stderr, /^websession: --timeout 0 removes every session idle more than 0 s/);
    assert.match(real.stdout, /^removed 2 expired session\(s\)/);
  });

  it('Ctrl-C during migrate says how far it got and that a rerun resumes; the rerun completes', async () => {
    const root = await tempDir();
    const from = `disk:${join(root, 'from')}`;
    const toDir = join(root, 'to');
    await seedDisk(join(root, 'from'), 2000);
    // The destination folder exists before the run, so that its first write can be watched:
    // the interrupt goes the moment something is copied (a poll could come after the last copy).
    new DiskStore(toDir, { crossProcess: false });
    const watcher = watch(toDir);
    // A shard folder appears with the first record copied.
    const firstWrite = new Promise<void>((resolve) =>
      watcher.on('change', (_event, name) => {
        if (SHARD.test(String(name))) resolve();
      }),
    );
    const child = spawn(BIN, ['migrate', '--from', from, '--to', `disk:${toDir}`, '--jobs', '4'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
    });
    const exited = once(child, 'close');
    try {
      await Promise.race([firstWrite, exited]);
    } finally {
      watcher.close();
    }
    child.kill('SIGINT');
    const [code] = await exited;
    assert.equal(code, 130, stderr);
    assert.match(
      stderr,
      /^websession: migrate interrupted after \d+ of 2000 session\(s\) \(\d+ copied\); run the same command again to resume: what is copied stays and is skipped\n$/,
    );
    const resumed = await run(['migrate', '--from', from, '--to', `disk:${toDir}`]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(
      resumed.stdout,
      /migrated 2000 live session\(s\) of 2000 \(\d+ copied, [1-9]\d* already there/,
    );
  });
});
