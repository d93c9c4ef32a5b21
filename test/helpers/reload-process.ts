// The web.py example run as a real program, for the reloader's test and benchmark: a copy in a
// temp folder inside the repo (gitignored `.test-tmp/`), so `websession/web` resolves through the
// package's own exports, started with `node --import tsx` in its own process group.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LOGGED_IN } from '../../examples/frameworks/shared.js';
import { startProcess, WEBPY_EXAMPLE } from './example-process.js';
import { type Answer, httpGet } from './http-client.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TMP = path.join(ROOT, '.test-tmp');
const STEP_MS = 20;
const DEADLINE_MS = 30_000;

/** One GET to the copy on `port` (a fresh connection: each request meets the current server). */
export const get = (port: number, urlPath: string, cookie?: string): Promise<Answer> =>
  httpGet(`http://127.0.0.1:${port}${urlPath}`, { cookie, timeoutMs: 10_000 });

/** The names bench/reload.ts imports (bench/ is not the tests' to change). */
export { LOGGED_IN, startWebpyCopy as startExample };

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
export async function startWebpyCopy(
  store: 'memory' | 'disk',
  debug: boolean | 'environment' = true,
  rewrite: (source: string) => string = (source) => source,
): Promise<RunningExample> {
  await mkdir(TMP, { recursive: true });
  const dir = await mkdtemp(path.join(TMP, `reload-${store}-`));
  const remove = async () => {
    await rm(dir, { recursive: true, force: true });
    await rmdir(TMP).catch(() => {}); // only when no other copy is still there
  };
  let source = await readFile(WEBPY_EXAMPLE, 'utf8');
  if (debug === true)
    source = edit(source, 'web.config.debug = false;', 'web.config.debug = true;');
  if (store === 'memory') {
    source = edit(source, "web.session.DiskStore('sessions')", 'web.session.MemoryStore()');
  }
  source = rewrite(source);
  const file = path.join(dir, 'app.ts');
  await writeFile(file, source);
  try {
    // The supervisor, its children and the loader's helper share one process group.
    const proc = await startProcess(file, ['127.0.0.1:0'], {
      cwd: dir,
      detached: true,
      // 'environment': the source keeps web.py's `web.config.debug = false`; WEB_DEBUG=1 wins.
      env: debug === 'environment' ? { ...process.env, WEB_DEBUG: '1' } : process.env,
    });
    const stop = async () => {
      await proc.stop();
      await remove();
    };
    return { port: Number(new URL(proc.base).port), dir, file, source, output: proc.output, stop };
  } catch (err) {
    await remove();
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
): Promise<Answer> {
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

/**
 * Waits until the copy has printed a line matching `pattern` (bounded). The supervisor logs a
 * swap only once the old child has finished, and its output comes through a pipe: the new code
 * can answer before that line has reached this process.
 */
export async function outputMatching(run: RunningExample, pattern: RegExp): Promise<string> {
  const deadline = Date.now() + DEADLINE_MS;
  while (!pattern.test(run.output())) {
    assert.ok(Date.now() < deadline, `never printed ${pattern}:\n${run.output()}`);
    await sleep(STEP_MS);
  }
  return run.output();
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
