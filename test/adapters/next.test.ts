// websession/next in a real Next.js app (test/apps/next, App Router, Node.js runtime): built with
// `next build` and run with `next start -p 0`; route handlers for login (regenerate, remember
// me), the counter (64 parallel requests give 64) and logout, a Server Component page that reads
// the session, and a server action that logs in.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { appCopy, packageFile, run, type Started, startServer } from '../helpers/framework-app.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const tempDir = tempDirs('next');
const pair = (setCookie: string) => setCookie.split(';')[0]!;

describe('Next.js app (test/apps/next): next build, next start', () => {
  let server: Started | undefined;
  let app = '';
  let timings = '';
  before(async () => {
    const dir = await tempDir();
    const started = performance.now();
    app = await appCopy('next', dir);
    const copied = performance.now();
    const next = await packageFile('next', 'dist/bin/next');
    // The app's node_modules links to packages elsewhere: Turbopack must see from the root.
    const env = {
      NEXT_TELEMETRY_DISABLED: '1',
      TURBOPACK_ROOT: '/',
      SESSIONS_DIR: join(dir, 'sessions'),
    };
    const build = await run(process.execPath, [next, 'build'], app, env);
    assert.equal(build.code, 0, `next build failed:\n${build.output}`);
    const built = performance.now();
    timings = `websession compiled and app copied in ${((copied - started) / 1000).toFixed(1)} s; next build in ${((built - copied) / 1000).toFixed(1)} s`;
    server = await startServer(
      process.execPath,
      [next, 'start', '-p', '0', '-H', '127.0.0.1'],
      app,
      env,
      (output) => {
        const m = /http:\/\/127\.0\.0\.1:(\d+)/.exec(output);
        return m ? Number(m[1]) : undefined;
      },
    );
  });
  after(() => server?.close());

  const get = async (path: string, cookie?: string) => {
    const res = await fetch(`${server!.url}${path}`, {
      redirect: 'manual',
      headers: cookie ? { cookie } : {},
    });
    return { status: res.status, body: await res.text(), setCookies: res.headers.getSetCookie() };
  };

  it('login (regenerate), the page, 64 parallel counts give 64, logout', async (t) => {
    t.diagnostic(timings);
    const page = await get('/');
    assert.equal(page.status, 200);
    assert.match(page.body, /You are not logged in/);
    assert.deepEqual(page.setCookies, [], 'a visitor gets no cookie');

    const login = await get('/login');
    assert.equal(login.status, 307);
    assert.equal(login.setCookies.length, 1, JSON.stringify(login.setCookies));
    assert.match(login.setCookies[0]!, /^webpy_session_id=[0-9a-f]{64};/);
    assert.match(login.setCookies[0]!, /HttpOnly/i);
    assert.doesNotMatch(
      login.setCookies[0]!,
      /Max-Age/i,
      'not remembered: a browser-session cookie',
    );
    const cookie = pair(login.setCookies[0]!);
    assert.match((await get('/', cookie)).body, /You are logged in/);

    const relogin = await get('/login', cookie);
    const renewed = pair(relogin.setCookies[0]!);
    assert.notEqual(renewed, cookie, 'login gives a new id');
    assert.match((await get('/', cookie)).body, /You are not logged in/, 'the old id is dead');

    const counts = await Promise.all(Array.from({ length: 64 }, () => get('/count', renewed)));
    assert.ok(
      counts.every((c) => c.status === 200),
      JSON.stringify(counts.map((c) => c.status)),
    );
    assert.deepEqual(
      counts.map((c) => Number(c.body)).sort((a, b) => a - b),
      Array.from({ length: 64 }, (_, i) => i + 1),
    );

    const logout = await get('/logout', renewed);
    assert.equal(logout.status, 307);
    assert.match(logout.setCookies[0] ?? '', /^webpy_session_id=;.*Max-Age=0/i);
    assert.match((await get('/', renewed)).body, /You are not logged in/);
  });

  it('remember me: a 30-day cookie, the page reads it (no cookie set by a Server Component), gone at logout', async () => {
    const login = await get('/login?remember=1');
    assert.match(login.setCookies[0] ?? '', /Max-Age=2592000/);
    const cookie = pair(login.setCookies[0]!);
    const page = await get('/', cookie);
    assert.equal(page.status, 200);
    assert.match(page.body, /You are logged in/);
    const logout = await get('/logout', cookie);
    assert.match(logout.setCookies[0] ?? '', /Max-Age=0/);
    const again = await get('/login');
    assert.doesNotMatch(again.setCookies[0] ?? '', /Max-Age/i);
  });

  it('a server action logs in through the same helper', async () => {
    const manifest = JSON.parse(
      await readFile(join(app, '.next', 'server', 'server-reference-manifest.json'), 'utf8'),
    ) as { node: Record<string, { exportedName: string }> };
    const id = Object.entries(manifest.node).find(
      ([, action]) => action.exportedName === 'logInRemembered',
    )?.[0];
    assert.ok(id, 'the action is in the build');
    // What the browser's form submission sends to a server action without arguments.
    const res = await fetch(`${server!.url}/`, {
      method: 'POST',
      headers: { 'Next-Action': id, 'Content-Type': 'text/plain;charset=UTF-8' },
      body: '[]',
    });
    await res.body?.cancel();
    assert.equal(res.status, 200);
    const setCookie = res.headers.getSetCookie()[0] ?? '';
    assert.match(setCookie, /^webpy_session_id=[0-9a-f]{64};.*Max-Age=2592000/i);
    assert.match((await get('/', pair(setCookie))).body, /You are logged in/);
  });
});
