// The web.py example, examples/webpy/sessions.ts, served as `npm start` serves it (DiskStore in a
// temp folder). A real browser against it: Debian's chromium, driven by playwright-core, logs in,
// reloads, logs out. Outside CI a missing chromium skips with a printed reason; under CI=true it
// fails (.ci/run installs it: apt-get install -y chromium). And, without a browser: a login
// survives a restart of the server on the same folder.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LOGGED_IN, LOGGED_OUT } from '../examples/frameworks/shared.js';
import { type ExampleProcess, freePort, startWebpyExample } from './helpers/example-process.js';
import { CookieClient } from './helpers/http-client.js';
import { IN_CI } from './helpers/servers.js';
import { sessionFiles } from './helpers/session-files.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
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
  return reason;
}

const skip = browserSkip();

describe('browser: the web.py example in chromium', { skip }, () => {
  let dir: string;
  let app: ExampleProcess | undefined;
  let base: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'websession-browser-'));
    app = await startWebpyExample(dir);
    base = app.base;
  });

  after(async () => {
    await app?.stop();
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
      assert.equal(
        (await sessionFiles(join(dir, 'sessions'))).length,
        1,
        'one session file on disk',
      );
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

describe('the web.py example (npm start -- host:port), without a browser', () => {
  it('a login survives a restart of the server on the same sessions folder', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'websession-restart-'));
    const port = await freePort();
    let app = await startWebpyExample(dir, port);
    try {
      const home = `${app.base}/`;
      const user = new CookieClient();
      assert.equal((await user.get(home)).body, LOGGED_OUT);
      assert.equal((await user.get(`${app.base}/login`)).status, 303);
      assert.equal(user.location, home);
      assert.equal((await user.get(home)).body, LOGGED_IN);
      const cookie = user.cookie;
      assert.match(cookie ?? '', /^webpy_session_id=[0-9a-f]{64}$/);

      const first = app.child.pid;
      await app.stop();
      await assert.rejects(fetch(home), 'the first server is gone');
      app = await startWebpyExample(dir, port);
      assert.notEqual(app.child.pid, first, 'a new server process');

      const back = await user.get(home);
      assert.equal(back.status, 200);
      assert.equal(back.body, LOGGED_IN, 'still logged in: the session came back from disk');
      assert.equal(user.cookie, cookie, 'the same session cookie');
      assert.equal((await user.get(`${app.base}/logout`)).status, 303);
      assert.equal((await user.get(home)).body, LOGGED_OUT, 'the restarted server writes it too');
    } finally {
      await app.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
