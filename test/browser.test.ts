// A real browser against the web.py example: Debian's chromium, driven by playwright-core, opens
// examples/webpy/sessions.ts (served as `npm start` serves it, DiskStore in a temp folder), logs
// in, reloads, logs out. Outside CI a missing chromium skips with a printed reason; under CI=true
// it fails (.ci/run installs it: apt-get install -y chromium).
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { IN_CI } from './helpers/servers.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const EXAMPLE = fileURLToPath(new URL('../examples/webpy/sessions.ts', import.meta.url));
/** Flags that keep the browser off the network and quiet in a container. */
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

function browserSkip(): string | false {
  if (existsSync(CHROMIUM)) return false;
  const reason = `chromium not found at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH)`;
  if (IN_CI) throw new Error(`CI=true but ${reason}`);
  console.log(`# SKIP ${reason}`);
  return reason;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Starts the example as `npm start -- 127.0.0.1:PORT` does, in `cwd`; resolves once it listens. */
function startExample(cwd: string, port: number): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      import.meta.resolve('tsx'),
      '--conditions=websession-src',
      EXAMPLE,
      `127.0.0.1:${port}`,
    ],
    { cwd, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(
      () => reject(new Error(`the example did not start: ${output}`)),
      30_000,
    );
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(`http://127.0.0.1:${port}/`)) {
        clearTimeout(timer);
        resolve(child);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the example exited with ${code}: ${output}`));
    });
  });
}

const skip = browserSkip();

describe('browser: the web.py example in chromium', { skip }, () => {
  let dir: string;
  let child: ChildProcess | undefined;
  let base: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'websession-browser-'));
    const port = await freePort();
    child = await startExample(dir, port);
    base = `http://127.0.0.1:${port}`;
  });

  after(async () => {
    child?.kill();
    await rm(dir, { recursive: true, force: true });
  });

  it('logs in, stays logged in across a reload, logs out', async () => {
    const { chromium } = await import('playwright-core');
    const profile = join(dir, 'profile');
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
    });
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      await page.goto(`${base}/`);
      assert.equal(await page.textContent('h1'), 'You are not logged in.');
      assert.deepEqual(await context.cookies(), [], 'no cookie before there is data');

      await page.click('text=Login now');
      await page.waitForURL(`${base}/`);
      assert.equal(await page.textContent('h1'), 'You are logged in');
      const cookies = await context.cookies();
      assert.equal(cookies.length, 1);
      const [cookie] = cookies;
      assert.equal(cookie!.name, 'webpy_session_id');
      assert.equal(cookie!.httpOnly, true);
      assert.equal(cookie!.sameSite, 'Lax');
      assert.equal(cookie!.secure, false);
      assert.equal((await readdir(join(dir, 'sessions'))).length, 1, 'one session file on disk');
      // HttpOnly: page scripts cannot read the session cookie.
      assert.equal(await page.evaluate('document.cookie'), '');

      await page.reload();
      assert.equal(await page.textContent('h1'), 'You are logged in');

      await page.click('text=Logout');
      await page.waitForURL(`${base}/`);
      assert.equal(await page.textContent('h1'), 'You are not logged in.');
      assert.ok(await page.isVisible('text=Login now'));
    } finally {
      await context.close();
    }
  });
});
