// The debug-mode reloader, end to end: the web.py example runs in debug mode in its own process,
// its source is edited on disk, and the next requests must be served by the new code with the
// session intact: no restart by hand, no failed request.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import * as web from 'websession/web';
import { LOGGED_IN, LOGGED_OUT } from '../../examples/frameworks/shared.js';
import {
  edit,
  get,
  login,
  outputMatching,
  pollUntil,
  type RunningExample,
  sleep,
  startWebpyCopy,
} from '../helpers/reload-process.js';
import { sessionFiles } from '../helpers/session-files.js';

const running: RunningExample[] = [];
after(async () => {
  for (const run of running) await run.stop();
});

async function start(
  store: 'memory' | 'disk',
  debug: boolean | 'environment' = true,
): Promise<RunningExample> {
  const run = await startWebpyCopy(store, debug);
  running.push(run);
  return run;
}

describe('debug-mode reloader (web.py example, real processes)', () => {
  for (const store of ['memory', 'disk'] as const) {
    test(`an edited handler is served at once and the ${store} session survives`, async () => {
      const run = await start(store);
      const cookie = await login(run.port);
      if (store === 'disk') {
        const records = await sessionFiles(path.join(run.dir, 'sessions'));
        assert.equal(records.length, 1, 'the DiskStore writes into the temp folder');
      }
      for (const version of ['v2', 'v3']) {
        await writeFile(
          run.file,
          edit(run.source, LOGGED_IN, `${LOGGED_IN}<p>edited ${version}</p>`),
        );
        const r = await pollUntil(run, cookie, `<p>edited ${version}</p>`);
        assert.ok(!r.body.includes('websession-reload-error'));
      }
      await outputMatching(run, /reloaded: new code serving \d+ ms after the change/);
      // Logging out still works on the new code: it is the same session, now written by it.
      const out = await get(run.port, '/logout', cookie);
      assert.equal(out.status, 303);
      const page = await get(run.port, '/', cookie);
      assert.equal(page.body, LOGGED_OUT);
    });
  }

  test('WEB_DEBUG=1 turns the reloader on for the example as written (web.config.debug = false)', async () => {
    const run = await start('disk', 'environment');
    assert.ok(run.source.includes('web.config.debug = false;'), 'the source is the example as is');
    const cookie = await login(run.port);
    await writeFile(run.file, edit(run.source, LOGGED_IN, `${LOGGED_IN}<p>from env</p>`));
    await pollUntil(run, cookie, '<p>from env</p>');
    await outputMatching(run, /debug mode: watching/);
  });

  test('a syntax error keeps the last good code serving, then the fix is picked up', async () => {
    const run = await start('memory');
    const cookie = await login(run.port);
    const good = run.source;
    await writeFile(run.file, edit(good, `return '${LOGGED_IN}`, `return = '${LOGGED_IN}`));
    // The old code keeps answering, logged in, with the error shown on the page.
    const broken = await pollUntil(run, cookie, 'websession-reload-error');
    assert.match(broken.body, /Reload failed/);
    assert.match(broken.body, /app\.ts:\d+:\d+/, 'the banner names the file and line');
    await outputMatching(run, /reload failed .*still serving the last good code/);
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

describe('web.config.debug and WEB_DEBUG', () => {
  test('the environment wins over the program; unset, the program decides', () => {
    const saved = process.env.WEB_DEBUG;
    const before = web.config.debug;
    try {
      delete process.env.WEB_DEBUG;
      web.config.debug = false;
      assert.equal(web.config.debug, false);
      web.config.debug = true;
      assert.equal(web.config.debug, true);
      process.env.WEB_DEBUG = '0';
      assert.equal(web.config.debug, false, 'WEB_DEBUG=0 switches it off');
      process.env.WEB_DEBUG = '1';
      web.config.debug = false;
      assert.equal(web.config.debug, true, 'WEB_DEBUG=1 switches it on');
      process.env.WEB_DEBUG = 'maybe';
      assert.equal(web.config.debug, false, 'another value leaves the program its say');
    } finally {
      if (saved === undefined) delete process.env.WEB_DEBUG;
      else process.env.WEB_DEBUG = saved;
      web.config.debug = before;
    }
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
