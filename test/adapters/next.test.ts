// websession/next in a real Next.js app (test/apps/next, App Router, Node.js runtime): built with
// `next build` and run with `next start -p 0`; route handlers for login (regenerate, remember
// me), the counter (64 parallel requests give 64) and logout, a Server Component page that reads
// the session, and a server action that logs in.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  appCopy,
  cookiePair,
  loginCountLogout,
  packageFile,
  rememberedLogin,
  run,
  type Started,
  startServer,
} from '../helpers/framework-app.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const tempDir = tempDirs('next');

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
    timings = `websession transpiled and app copied in ${((copied - started) / 1000).toFixed(1)} s; next build in ${((built - copied) / 1000).toFixed(1)} s`;
    server = await startServer(
      process.execPath,
      [next, 'start', '-p', '0', '-H', '127.0.0.1'],
      app,
      env,
      /http:\/\/127\.0\.0\.1:(\d+)/,
    );
  });
  after(() => server?.close());

  it('login (regenerate), the page, 64 parallel counts give 64, logout', async (t) => {
    t.diagnostic(timings);
    await loginCountLogout(server!, 303);
  });

  it('remember me: a 30-day cookie, the page reads it (no cookie set by a Server Component), gone at logout', async () => {
    const cookie = await rememberedLogin(server!);
    const page = await server!.get('/', cookie);
    assert.equal(page.status, 200);
    assert.match(page.body, /You are logged in/);
    const logout = await server!.get('/logout', cookie);
    assert.match(logout.setCookies[0] ?? '', /Max-Age=0/);
    const again = await server!.get('/login');
    assert.doesNotMatch(again.setCookies[0] ?? '', /Max-Age/i);
  });

  it('a server action logs in through the same helper, redirect() inside it', async () => {
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
    // Next answers an action's redirect (thrown inside withSession) in this header.
    assert.match(res.headers.get('x-action-redirect') ?? '', /^\/(;|$)/);
    const setCookie = res.headers.getSetCookie()[0] ?? '';
    assert.match(setCookie, /^webpy_session_id=[0-9a-f]{64};.*Max-Age=2592000/i);
    assert.match((await server!.get('/', cookiePair(setCookie))).body, /You are logged in/);
  });
});
