// The web.py example run as a real program, for the reloader's test and benchmark: a copy in a
// temp folder inside the repo (gitignored `.test-tmp/`), so `websession/web` resolves through the
// package's own exports, started with `node --import tsx` in its own process group.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TMP = path.join(ROOT, '.test-tmp');
const EXAMPLE = path.join(ROOT, 'examples/webpy/sessions.ts');
/** The logged-in page's heading in the example. */
export const LOGGED_IN = '<h1>You are logged in</h1>';
const STEP_MS = 20;
const DEADLINE_MS = 30_000;

/** An HTTP answer. */
export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One GET on a fresh connection (no keep-alive: each request meets the current server). */
export function get(port: number, urlPath: string, cookie?: string): Promise<Reply> {
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
    // A request the server never answers is a failure, not a hang.
    req.setTimeout(10_000, () => req.destroy(new Error(`GET ${urlPath}: no answer in 10 s`)));
    req.end();
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Replaces `from` by `to` in `text`, failing loudly when the example no longer has `from`. */
export function edit(text: string, from: string, to: string): string {
  assert.ok(text.includes(from), `expected ${JSON.stringify(from)} in the example`);
  return text.replace(from, to);
}

/** A running copy of the example. */
export interface RunningExample {
  port: number;
  /** Its temp folder (also the working directory, so DiskStore('sessions') is inside). */
  dir: string;
  /** Its source file. */
  file: string;
  /** The source as first written (debug mode on, the chosen store). */
  source: string;
  /** Everything it printed so far. */
  output: () => string;
  /** Kills its whole process group and removes its folder. */
  stop: () => Promise<void>;
}

/**
 * Starts a copy of the web.py example with the given store, in debug mode unless `debug` is
 * false ('environment': the source unchanged, debug switched on by `WEB_DEBUG=1`), and waits
 * until it prints its URL. `rewrite` edits the source further before it is written.
 */
export async function startExample(
  store: 'memory' | 'disk',
  debug: boolean | 'environment' = true,
  rewrite: (source: string) => string = (source) => source,
): Promise<RunningExample> {
  await mkdir(TMP, { recursive: true });
  const dir = await mkdtemp(path.join(TMP, `reload-${store}-`));
  let source = await readFile(EXAMPLE, 'utf8');
  if (debug === true)
    source = edit(source, 'web.config.debug = false;', 'web.config.debug = true;');
  if (store === 'memory') {
    source = edit(source, "web.session.DiskStore('sessions')", 'web.session.MemoryStore()');
  }
  source = rewrite(source);
  const file = path.join(dir, 'app.ts');
  await writeFile(file, source);
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=websession-src', 'app.ts', '127.0.0.1:0'],
    {
      cwd: dir,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      // 'environment': the source keeps web.py's `web.config.debug = false`; WEB_DEBUG=1 wins.
      env: debug === 'environment' ? { ...process.env, WEB_DEBUG: '1' } : process.env,
    },
  );
  let output = '';
  child.stdout?.on('data', (c: Buffer) => {
    output += c.toString('utf8');
  });
  child.stderr?.on('data', (c: Buffer) => {
    output += c.toString('utf8');
  });
  const stop = async () => {
    // The supervisor, its children and the loader's helper share one process group.
    if (child.exitCode === null && child.signalCode === null && child.pid) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await rm(dir, { recursive: true, force: true });
    await rmdir(TMP).catch(() => {}); // only when no other copy is still there
  };
  const deadline = Date.now() + DEADLINE_MS;
  try {
    for (;;) {
      const m = /http:\/\/127\.0\.0\.1:(\d+)\//.exec(output);
      if (m) return { port: Number(m[1]), dir, file, source, output: () => output, stop };
      assert.equal(child.exitCode, null, `the example exited:\n${output}`);
      assert.ok(Date.now() < deadline, `the example did not start:\n${output}`);
      await sleep(STEP_MS);
    }
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Requests `/` until the body contains `wanted` (bounded). Every answer on the way must be a 200
 * of a logged-in page: the session is never lost and no request fails during a swap.
 */
export async function pollUntil(
  run: RunningExample,
  cookie: string,
  wanted: string,
): Promise<Reply> {
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

/** Logs in over HTTP and returns the session cookie. */
export async function login(port: number): Promise<string> {
  const r = await get(port, '/login');
  assert.equal(r.status, 303);
  const setCookie = r.headers['set-cookie'];
  assert.ok(Array.isArray(setCookie) && setCookie[0], 'login sets a cookie');
  const cookie = setCookie[0].split(';')[0] ?? '';
  const page = await get(port, '/', cookie);
  assert.ok(page.body.includes(LOGGED_IN), page.body);
  return cookie;
}
