// The debug-mode reloader, end to end: the web.py example runs in debug mode in its own process
// (a copy in a temp folder inside the repo, so `websession/web` resolves through the package's
// own exports), its source is edited on disk, and the next requests must be served by the new
// code with the session intact: no restart by hand, no failed request.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as web from 'websession/web';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TMP = path.join(ROOT, '.test-tmp');
const EXAMPLE = path.join(ROOT, 'examples/webpy/sessions.ts');
const LOGGED_IN = '<h1>You are logged in</h1>';
const STEP_MS = 50;
const DEADLINE_MS = 30_000;

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request on a fresh connection (no keep-alive: each request meets the current server). */
function get(port: number, urlPath: string, cookie?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: urlPath, agent: false, headers: cookie ? { cookie } : {} },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Replaces `from` by `to` in `text`, failing loudly when the example no longer has `from`. */
function edit(text: string, from: string, to: string): string {
  assert.ok(text.includes(from), `expected ${JSON.stringify(from)} in the example`);
  return text.replace(from, to);
}

interface Running {
  port: number;
  dir: string;
  file: string;
  output: () => string;
  source: string;
}

const started: { child: ChildProcess; dir: string }[] = [];

after(async () => {
  for (const { child, dir } of started) {
    // The supervisor, its children and the loader's helper share one process group.
    if (child.exitCode === null && child.pid) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await rm(dir, { recursive: true, force: true });
  }
});

/** Starts a copy of the web.py example in debug mode with the given store; waits until it serves. */
async function startExample(store: 'memory' | 'disk'): Promise<Running> {
  await mkdir(TMP, { recursive: true });
  const dir = await mkdtemp(path.join(TMP, `reload-${store}-`));
  let source = await readFile(EXAMPLE, 'utf8');
  source = edit(source, 'web.config.debug = false;', 'web.config.debug = true;');
  if (store === 'memory') {
    source = edit(source, "web.session.DiskStore('sessions')", 'web.session.MemoryStore()');
  }
  const file = path.join(dir, 'app.ts');
  await writeFile(file, source);
  // cwd is the temp folder, so DiskStore('sessions') lives there too.
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=websession-src', 'app.ts', '127.0.0.1:0'],
    { cwd: dir, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  started.push({ child, dir });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => {
    output += c.toString('utf8');
  });
  child.stderr?.on('data', (c: Buffer) => {
    output += c.toString('utf8');
  });
  const deadline = Date.now() + DEADLINE_MS;
  for (;;) {
    const m = /http:\/\/127\.0\.0\.1:(\d+)\//.exec(output);
    if (m) return { port: Number(m[1]), dir, file, output: () => output, source };
    assert.equal(child.exitCode, null, `the example exited:\n${output}`);
    assert.ok(Date.now() < deadline, `the example did not start:\n${output}`);
    await sleep(STEP_MS);
  }
}

/** Logs in over HTTP and returns the session cookie. */
async function login(port: number): Promise<string> {
  const r = await get(port, '/login');
  assert.equal(r.status, 303);
  const setCookie = r.headers['set-cookie'];
  assert.ok(Array.isArray(setCookie) && setCookie[0], 'login sets a cookie');
  const cookie = setCookie[0].split(';')[0] ?? '';
  const page = await get(port, '/', cookie);
  assert.ok(page.body.includes(LOGGED_IN), page.body);
  return cookie;
}

/**
 * Requests `/` until the body contains `wanted` (bounded). Every answer on the way must be a 200
 * of a logged-in page: the session is never lost and no request fails during a swap.
 */
async function pollUntil(run: Running, cookie: string, wanted: string): Promise<Reply> {
  const deadline = Date.now() + DEADLINE_MS;
  for (;;) {
    const r = await get(run.port, '/', cookie);
    assert.equal(r.status, 200, r.body);
    assert.ok(r.body.includes(LOGGED_IN), `session lost during reload: ${r.body}`);
    if (r.body.includes(wanted)) return r;
    assert.ok(Date.now() < deadline, `${JSON.stringify(wanted)} never served:\n${run.output()}`);
    await sleep(STEP_MS);
  }
}

describe('debug-mode reloader (web.py example, real processes)', () => {
  for (const store of ['memory', 'disk'] as const) {
    test(`an edited handler is served at once and the ${store} session survives`, async () => {
      const run = await startExample(store);
      const cookie = await login(run.port);
      if (store === 'disk') {
        const shards = await readdir(path.join(run.dir, 'sessions'));
        assert.equal(shards.length, 1, 'the DiskStore writes into the temp folder');
      }
      for (const version of ['v2', 'v3']) {
        await writeFile(
          run.file,
          edit(run.source, LOGGED_IN, `${LOGGED_IN}<p>edited ${version}</p>`),
        );
        const r = await pollUntil(run, cookie, `<p>edited ${version}</p>`);
        assert.ok(!r.body.includes('websession-reload-error'));
      }
      assert.match(run.output(), /reloaded: new code serving \d+ ms after the change/);
      // Logging out still works on the new code: it is the same session, now written by it.
      const out = await get(run.port, '/logout', cookie);
      assert.equal(out.status, 303);
      const page = await get(run.port, '/', cookie);
      assert.ok(page.body.includes('You are not logged in.'), page.body);
    });
  }

  test('a syntax error keeps the last good code serving, then the fix is picked up', async () => {
    const run = await startExample('memory');
    const cookie = await login(run.port);
    const good = run.source;
    await writeFile(run.file, edit(good, `return '${LOGGED_IN}`, `return = '${LOGGED_IN}`));
    // The old code keeps answering, logged in, with the error shown on the page.
    const broken = await pollUntil(run, cookie, 'websession-reload-error');
    assert.match(broken.body, /Reload failed/);
    assert.match(broken.body, /app\.ts:\d+:\d+/, 'the banner names the file and line');
    assert.match(run.output(), /reload failed .*still serving the last good code/);
    await sleep(300);
    const still = await get(run.port, '/', cookie);
    assert.equal(still.status, 200);
    assert.ok(still.body.includes(LOGGED_IN));
    // Fixed: the new code serves, the banner is gone, the in-memory session is still there.
    await writeFile(run.file, edit(good, LOGGED_IN, `${LOGGED_IN}<p>fixed</p>`));
    const fixed = await pollUntil(run, cookie, '<p>fixed</p>');
    assert.ok(!fixed.body.includes('websession-reload-error'), fixed.body);
  });
});

describe('Session(app, store) run again, as reloaded code does', () => {
  test('replaces the session processor instead of adding a second one', async () => {
    const app = web.application(['/login', 'Login', '/', 'Index'], () => ({ Login, Index }));
    const first = web.session.MemoryStore();
    web.session.Session(app, first);
    const second = web.session.MemoryStore();
    const session = web.session.Session(app, second);
    class Login {
      GET() {
        session.logged_in = true;
        throw web.seeother('/');
      }
    }
    class Index {
      GET() {
        return session.get('logged_in', false) ? 'in' : 'out';
      }
    }
    const b = app.browser();
    await b.open('/login');
    assert.equal((await b.open('/')).data, 'in');
    // One processor: only the store of the last Session() saw the request.
    assert.equal(first.size, 0);
    assert.equal(second.size, 1);
    // The same store again keeps the current data.
    web.session.Session(app, second);
    assert.equal((await b.open('/')).data, 'in');
    assert.equal(second.size, 1);
  });
});
