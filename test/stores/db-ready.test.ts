// A permanent misconfiguration fails at start-up with one line saying what to do (a missing
// table, a missing driver), while a database that is only unreachable stays an outage (503).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError, Database, DBStore } from 'websession';
import { closedPort } from '../helpers/tcp-proxy.js';

const dir = await mkdtemp(join(tmpdir(), 'websession-ready-'));
after(() => rm(dir, { recursive: true, force: true }));
const sqlite = (table: string, createTable = false) =>
  new DBStore(new Database({ dbn: 'sqlite', db: join(dir, 'ready.db') }), table, {
    createTable,
    closeDatabase: true,
  });
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Runs `node <args>` from the repository's root; its exit code and stderr. */
function run(args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const options = { cwd: ROOT, env: { ...process.env, ...env }, timeout: 120_000 };
    const child = execFile(process.execPath, args, options, (_err, _out, stderr) =>
      resolve({ code: child.exitCode, stderr }),
    );
  });
}
const TSX = ['--import', import.meta.resolve('tsx'), '--conditions=websession-src'];

describe('DBStore.ready()', () => {
  it('a missing table fails with one line naming the fix and docs/stores.md', async () => {
    const store = sqlite('koa_sessions');
    try {
      await assert.rejects(store.ready(), (err: Error) => {
        assert.ok(err instanceof ConfigError);
        assert.doesNotMatch(err.message, /\n/);
        assert.match(err.message, /table "koa_sessions" does not exist/);
        assert.match(err.message, /createSessionTable\(db, 'koa_sessions'\)/);
        assert.match(err.message, /docs\/stores\.md/);
        assert.doesNotMatch(err.message, /README|; create/);
        return true;
      });
    } finally {
      await store.close();
    }
  });

  it('resolves once the table is there (createTable makes it)', async () => {
    const store = sqlite('made', true);
    await store.ready();
    assert.equal(await store.tableExists(), true);
    await store.close();
  });

  it('an unreachable server is an outage, not a misconfiguration: ready() resolves', async () => {
    const store = new DBStore(`postgres://postgres@127.0.0.1:${await closedPort()}/test`, 'x');
    await store.ready();
    await store.close();
  });
});

describe('start-up with a store that can never serve', () => {
  it('app.run() ends the process with one line when the table is missing', async () => {
    const script = join(ROOT, 'test', 'fixtures', 'run-missing-table.ts');
    const { code, stderr } = await run([...TSX, script, join(dir, 'app.db')]);
    assert.equal(code, 1);
    const lines = stderr.trim().split('\n');
    assert.equal(lines.length, 1, stderr);
    assert.match(lines[0]!, /table "koa_sessions" does not exist \(create it with/);
  });

  it('the example runner ends with one line when the driver is missing', async () => {
    const hide = join(ROOT, 'test', 'helpers', 'hide-packages.mjs');
    const runner = join(ROOT, 'examples', 'run.ts');
    const args = [
      ...TSX,
      '--import',
      hide,
      runner,
      'node',
      '--store',
      `sqlite:${join(dir, 'x.db')}`,
    ];
    const { code, stderr } = await run([...args, '--listen', '127.0.0.1:0'], {
      HIDE_PACKAGES: 'better-sqlite3',
    });
    assert.equal(code, 2);
    assert.equal(stderr.trim().split('\n').length, 1, stderr);
    assert.match(stderr, /npm install better-sqlite3/);
  });
});
