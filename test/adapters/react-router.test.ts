// websession/react-router: React Router's SessionStorage interface over websession stores, used
// as React Router's docs use it (getSession → set → commitSession / destroySession); then the
// app in test/apps/react-router built with `react-router build` and served by
// @react-router/node: login (regenerate, remember me), the counter (64 parallel requests give
// 64), logout.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isSession } from 'react-router';
import { MemoryStore, StoreUnavailableError } from 'websession';
import {
  createWebSessionStorage,
  STORE_UNAVAILABLE_BODY,
  updateSession,
  websessionOf,
} from 'websession/react-router';
import { recordingLogger } from '../helpers/console-capture.js';
import {
  appCopy,
  loginCountLogout,
  packageFile,
  cookiePair as pair,
  rememberedLogin,
  run,
  type Started,
  startServer,
} from '../helpers/framework-app.js';
import { SpyStore } from '../helpers/spy-store.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const tempDir = tempDirs('react-router');

describe('websession/react-router: the SessionStorage interface', () => {
  type Data = { user: string; count: number };
  const storage = () =>
    createWebSessionStorage<Data, { notice: string }>(new MemoryStore(), {
      config: { cleanup_interval: 0, logger: { warn() {} } },
    });

  it('getSession, set, commitSession, then the next request reads it; destroySession ends it', async () => {
    const { getSession, commitSession, destroySession } = storage();
    const fresh = await getSession(null);
    assert.ok(isSession(fresh), "React Router's isSession accepts it");
    assert.equal(fresh.id, '', 'a new session has no id yet, as React Router documents');
    fresh.set('user', 'ann');
    const setCookie = await commitSession(fresh);
    assert.match(setCookie, /^webpy_session_id=[0-9a-f]{64}; /);

    const next = await getSession(pair(setCookie));
    assert.equal(next.get('user'), 'ann');
    assert.ok(next.has('user'));
    assert.match(next.id, /^[0-9a-f]{64}$/);
    assert.equal(await commitSession(next), '', 'nothing changed: no cookie to send');

    const ended = await getSession(pair(setCookie));
    const expired = await destroySession(ended);
    assert.match(expired, /^webpy_session_id=;.*Max-Age=0/i);
    assert.equal((await getSession(pair(setCookie))).get('user'), undefined);
  });

  it('flash: kept until read, then gone (React Router semantics)', async () => {
    const { getSession, commitSession } = storage();
    const first = await getSession(null);
    first.flash('notice', 'saved');
    const cookie = pair(await commitSession(first));
    const second = await getSession(cookie);
    assert.ok(second.has('notice'));
    assert.equal(second.get('notice'), 'saved');
    assert.equal(second.get('notice'), undefined, 'read once');
    await commitSession(second);
    assert.equal((await getSession(cookie)).has('notice'), false);
  });

  it('commitSession({ maxAge }) is remember me; regenerate through websessionOf keeps it', async () => {
    const { getSession, commitSession } = storage();
    const plain = await getSession(null);
    plain.set('user', 'ann');
    assert.doesNotMatch(await commitSession(plain), /Max-Age/i);

    const login = await getSession(null);
    login.set('user', 'bob');
    const remembered = await commitSession(login, { maxAge: 7 * 86400 });
    assert.match(remembered, /Max-Age=604800/);

    const again = await getSession(pair(remembered));
    websessionOf(again).regenerate();
    const regenerated = await commitSession(again);
    assert.match(regenerated, /Max-Age=604800/);
    assert.notEqual(pair(regenerated), pair(remembered));
    assert.equal((await getSession(pair(remembered))).get('user'), undefined, 'old id dead');
    assert.equal((await getSession(pair(regenerated))).get('user'), 'bob');
  });

  it('updateSession: 64 parallel read-modify-writes of one session give 64', async () => {
    const { getSession, commitSession } = storage();
    const first = await getSession(null);
    first.set('user', 'ann');
    const cookie = pair(await commitSession(first));
    const counts = await Promise.all(
      Array.from({ length: 64 }, async () => {
        const session = await getSession(cookie);
        const data = await updateSession(session, (d) => {
          d.count = (d.count ?? 0) + 1;
        });
        await commitSession(session);
        return data.count;
      }),
    );
    assert.deepEqual(
      counts.sort((a, b) => a! - b!),
      Array.from({ length: 64 }, (_, i) => i + 1),
    );
    assert.equal((await getSession(cookie)).get('count'), 64);
  });

  it('a change after commitSession is dropped, logged once, and not saved', async () => {
    const logger = recordingLogger();
    const { getSession, commitSession } = createWebSessionStorage<Data, { notice: string }>(
      new MemoryStore(),
      { config: { cleanup_interval: 0, logger } },
    );
    const session = await getSession(null);
    session.set('user', 'ann');
    const cookie = pair(await commitSession(session));
    session.set('user', 'bob');
    session.set('user', 'eve');
    assert.equal(logger.lines.length, 1, logger.lines.join('\n'));
    assert.equal((await getSession(cookie)).get('user'), 'ann');
  });

  it('a store outage is thrown as a 503 Response, which React Router sends as the answer', async () => {
    const spy = new SpyStore(new MemoryStore());
    const { getSession, commitSession } = createWebSessionStorage(spy, {
      config: { cleanup_interval: 0, logger: { warn() {} } },
    });
    const session = await getSession(null);
    session.set('user', 'ann');
    const cookie = pair(await commitSession(session));
    spy.fail = new StoreUnavailableError('memory', 'down for the test');
    const thrown = await getSession(cookie).then(
      () => undefined,
      (err: unknown) => err,
    );
    assert.ok(thrown instanceof Response, String(thrown));
    assert.equal(thrown.status, 503);
    assert.equal(thrown.headers.get('retry-after'), '1');
    assert.equal(await thrown.text(), STORE_UNAVAILABLE_BODY);
  });

  it('refuses a session it did not make', async () => {
    const { commitSession } = storage();
    const { createSession } = await import('react-router');
    await assert.rejects(commitSession(createSession()), /not made by a websession storage/);
  });
});

describe('React Router app (test/apps/react-router): react-router build, served by @react-router/node', () => {
  let server: Started | undefined;
  let timings = '';
  before(async () => {
    const dir = await tempDir();
    const started = performance.now();
    const app = await appCopy('react-router', dir);
    const copied = performance.now();
    const cli = await packageFile('@react-router/dev', 'bin.js');
    const build = await run(process.execPath, [cli, 'build'], app);
    assert.equal(build.code, 0, `react-router build failed:\n${build.output}`);
    const built = performance.now();
    timings = `websession transpiled and app copied in ${((copied - started) / 1000).toFixed(1)} s; react-router build in ${((built - copied) / 1000).toFixed(1)} s`;
    server = await startServer(
      process.execPath,
      ['server.js'],
      app,
      { NODE_ENV: 'production', SESSIONS_DIR: `${dir}/sessions` },
      /listening (\d+)/,
    );
  });
  after(() => server?.close());

  it('login (regenerate), the page, 64 parallel counts give 64, logout', async (t) => {
    t.diagnostic(timings);
    await loginCountLogout(server!, 302);
  });

  it('remember me: login?remember=1 gives a 30-day cookie, gone at logout', async () => {
    const cookie = await rememberedLogin(server!);
    assert.match((await server!.get('/', cookie)).body, /You are logged in/);
    const logout = await server!.get('/logout', cookie);
    assert.match(logout.setCookies[0] ?? '', /Max-Age=0/);
  });
});
