// The example runner as a user runs it: npm run example -- <framework> --store <url> --listen <host:port>
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CookieClient, startExample } from './helpers/example-process.js';

const RUNNER = fileURLToPath(new URL('../examples/run.ts', import.meta.url));
const LOGGED_IN = '<h1>You are logged in</h1><a href="/logout">Logout</a>';
const LOGGED_OUT = '<h1>You are not logged in.</h1><a href="/login">Login now</a>';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

function runner(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', '--conditions=websession-src', RUNNER, ...args],
      { timeout: 30_000 },
      (err, _out, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr }),
    );
  });
}

describe('example runner', () => {
  for (const store of ['memory:', 'disk']) {
    it(`web + ${store}: the five routes, and 64 parallel /count of one session end at 64`, async () => {
      let url = store;
      if (store === 'disk') {
        const dir = await mkdtemp(join(tmpdir(), 'websession-runner-'));
        dirs.push(dir);
        url = `disk:${join(dir, 'sessions')}`;
      }
      const app = await startExample(url);
      try {
        const user = new CookieClient();
        assert.deepEqual(await user.get(`${app.base}/`), { status: 200, body: LOGGED_OUT });
        assert.equal(user.cookie, undefined, 'no cookie for a visitor without data');
        const login = await user.get(`${app.base}/login`);
        assert.equal(login.status, 303);
        assert.match(user.cookie ?? '', /^webpy_session_id=[0-9a-f]{64}$/);
        assert.deepEqual(await user.get(`${app.base}/`), { status: 200, body: LOGGED_IN });
        const counts = await Promise.all(
          Array.from({ length: 64 }, () => user.get(`${app.base}/count`)),
        );
        assert.deepEqual(
          counts.map((r) => Number(r.body)).sort((a, b) => a - b),
          Array.from({ length: 64 }, (_, i) => i + 1),
        );
        assert.equal((await user.get(`${app.base}/count`)).body, '65');
        assert.equal((await user.get(`${app.base}/logout`)).status, 303);
        assert.deepEqual(await user.get(`${app.base}/`), { status: 200, body: LOGGED_OUT });
        assert.deepEqual(await user.get(`${app.base}/kill`), { status: 200, body: 'killed' });
        assert.equal(user.cookie, undefined);
      } finally {
        await app.stop();
      }
    });
  }

  it('refuses an unknown framework, a bad store URL and a bad address with one line and exit code 2', async () => {
    const cases: [string[], RegExp][] = [
      [['nope'], /unknown framework "nope"/],
      [['web', '--store', 'bogus://x'], /unknown store URL scheme "bogus:"/],
      [['web', '--store', 'not a url'], /bad store URL/],
      [['web', '--listen', 'nowhere'], /bad --listen address "nowhere"/],
      [['web', '--listen', '127.0.0.1:99999'], /bad --listen address/],
    ];
    for (const [args, message] of cases) {
      const { code, stderr } = await runner(args);
      assert.equal(code, 2, args.join(' '));
      assert.match(stderr, message);
      assert.match(stderr.split('\n')[0] ?? '', message, 'the first line says what is wrong');
    }
  });
});
