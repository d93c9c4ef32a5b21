// web.py's sessions page, every snippet ported as literally as TypeScript allows and run: the
// DiskStore example, the DBStore example (`initializer={'count': 0}`) on the page's own table
// created by hand, the ShelfStore line, and the reloader hack, in process through the app's
// browser and, for the hack, under the real debug-mode reloader.
//
// What the language forces, and only that: `urls` is an array and the handlers are named in a
// function (no `locals()`); keyword arguments are an object; `None` is `null`/`undefined`, so
// `is None` is `== null`; a class used before its line is reached only in a handler; and TypeScript
// wants the type of `web.config._session`, which holds anything, said once with `as`.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import * as web from 'websession/web';
import { LOGGED_IN, LOGGED_OUT } from '../../examples/frameworks/shared.js';
import {
  edit,
  get,
  login,
  outputMatching,
  pollUntil,
  type RunningExample,
  startWebpyCopy,
} from '../helpers/reload-process.js';
import { MYSQL_URL, POSTGRES_URL, serverSkip } from '../helpers/servers.js';

// The snippets name their files as web.py's page does ('sessions', 'session.shelf'): they are
// made in a temporary working folder.
const home = process.cwd();
const dir = await mkdtemp(path.join(tmpdir(), 'websession-page-'));
process.chdir(dir);
const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const fn of cleanups.reverse()) await fn().catch(() => {});
  process.chdir(home);
  await rm(dir, { recursive: true, force: true });
});

/** The page's example with `makeSession` as its session line (the store is the only change). */
function example(makeSession: (app: web.Application) => web.session.WebSession) {
  // biome-ignore format: web.py's pattern, handler pairs
  const urls = [
    '/', 'Index',
    '/login', 'Login',
    '/logout', 'Logout',
  ];

  web.config.debug = false;
  const app = web.application(urls, () => ({ Index, Login, Logout }));
  const session = makeSession(app);

  class Index {
    GET() {
      if (session.get('logged_in', false)) {
        return '<h1>You are logged in</h1><a href="/logout">Logout</a>';
      }
      return '<h1>You are not logged in.</h1><a href="/login">Login now</a>';
    }
  }

  class Login {
    GET() {
      session.logged_in = true;
      throw web.seeother('/');
    }
  }

  class Logout {
    GET() {
      session.logged_in = false;
      throw web.seeother('/');
    }
  }

  cleanups.push(() => session.manager.close());
  cleanups.push(() => session.store.close());
  return app;
}

/** Logs in and out through `app.request()`, carrying the cookie by hand as a browser would. */
async function logsInAndOut(app: web.Application): Promise<void> {
  assert.equal((await app.request('/')).data, LOGGED_OUT);
  const login = await app.request('/login');
  assert.equal(login.status, '303 See Other');
  const cookie = (login.headers['Set-Cookie'] ?? '').split(';')[0] ?? '';
  assert.match(cookie, /^webpy_session_id=[0-9a-f]{64}$/);
  const headers = { cookie };
  assert.equal((await app.request('/', { headers })).data, LOGGED_IN);
  assert.equal((await app.request('/logout', { headers })).status, '303 See Other');
  assert.equal((await app.request('/', { headers })).data, LOGGED_OUT);
}

/**
 * The same walk with `web.session.CookieStore()`: the session is the cookie, so the browser
 * carries the newest one (web.py's server stores keep one id; here each change is a new seal).
 */
async function logsInAndOutInCookie(app: web.Application): Promise<void> {
  assert.equal((await app.request('/')).data, LOGGED_OUT);
  const login = await app.request('/login');
  assert.equal(login.status, '303 See Other');
  const cookie = (login.headers['Set-Cookie'] ?? '').split(';')[0] ?? '';
  assert.match(cookie, /^webpy_session_id=[\w-]+$/);
  assert.equal((await app.request('/', { headers: { cookie } })).data, LOGGED_IN);
  const logout = await app.request('/logout', { headers: { cookie } });
  assert.equal(logout.status, '303 See Other');
  const after = (logout.headers['Set-Cookie'] ?? '').split(';')[0] ?? '';
  assert.equal((await app.request('/', { headers: { cookie: after } })).data, LOGGED_OUT);
}

describe("web.py's sessions page, snippet by snippet", () => {
  it('the session line with web.session.CookieStore() (the key from session_parameters)', async () => {
    const saved = web.config.session_parameters;
    web.config.session_parameters = { ...saved, secret_key: 's'.repeat(32) };
    try {
      await logsInAndOutInCookie(
        example((app) => web.session.Session(app, web.session.CookieStore())),
      );
    } finally {
      web.config.session_parameters = saved;
    }
  });

  it('the example: DiskStore', async () => {
    await logsInAndOut(
      example((app) => web.session.Session(app, web.session.DiskStore('sessions'))),
    );
  });

  it('the ShelfStore line', async () => {
    await logsInAndOut(
      example((app) => web.session.Session(app, web.session.ShelfStore('session.shelf'))),
    );
  });

  it('the reloader hack, run twice in one process as an in-process reload would', async () => {
    let session: web.session.WebSession | undefined;
    /** The example's session line replaced by the page's hack. */
    const withHack = (app: web.Application) => {
      // Hack to make session play nice with the reloader (in debug mode)
      if (web.config.get('_session') == null) {
        session = web.session.Session(app, web.session.DiskStore('sessions'));
        web.config._session = session;
      } else {
        session = web.config._session as web.session.WebSession;
      }
      return session;
    };
    const app = example(withHack);
    cleanups.push(async () => delete web.config._session);
    const first = session;
    assert.ok(first && web.config._session === first);
    await logsInAndOut(app);
    // Run again (the module re-evaluated with the same app): the kept session object is reused.
    example(() => withHack(app));
    assert.equal(session, first);
    await logsInAndOut(app);
  });
});

// ---------------------------------------------------------------------------------------------
// The DBStore example: web.py's page writes
//   db = web.database(dbn='postgres', db='mydatabase', user='myname', pw='')
//   store = web.session.DBStore(db, 'sessions')
//   session = web.session.Session(app, store, initializer={'count': 0})
// on a table the user creates by hand. The table name is made unique per run here, so parallel
// runs never share it.

interface Engine {
  name: string;
  skip: string | false;
  params: web.DatabaseParams;
  /** The page's table, as its users create it on this engine. */
  ddl: (table: string) => string;
}

function serverParams(dbn: string, url: string, fallbackUser: string): web.DatabaseParams {
  const u = new URL(url);
  return {
    dbn,
    db: decodeURIComponent(u.pathname.slice(1)) || 'test',
    user: decodeURIComponent(u.username) || fallbackUser,
    pw: decodeURIComponent(u.password),
    host: u.hostname,
    ...(u.port ? { port: Number(u.port) } : {}),
  };
}

/** The page's table; PostgreSQL spells its `DATETIME` as `TIMESTAMP`. */
const pageTable = (datetime: string) => (t: string) =>
  `CREATE TABLE ${t} (
  session_id CHAR(128) UNIQUE NOT NULL,
  atime ${datetime} NOT NULL default current_timestamp,
  data TEXT
)`;

const engines: Engine[] = [
  {
    name: 'PostgreSQL',
    skip: await serverSkip('postgres', POSTGRES_URL, 5432),
    params: serverParams('postgres', POSTGRES_URL, 'postgres'),
    ddl: pageTable('TIMESTAMP'),
  },
  {
    name: 'MySQL',
    skip: await serverSkip('mysql', MYSQL_URL, 3306),
    params: serverParams('mysql', MYSQL_URL, 'root'),
    ddl: pageTable('DATETIME'),
  },
  {
    name: 'SQLite',
    skip: false,
    params: { dbn: 'sqlite', db: 'sessions.db' },
    ddl: pageTable('DATETIME'),
  },
];

/** Runs one SQL statement on a `web.database()` (the way its users create the table by hand). */
async function execute(db: web.Database, sql: string): Promise<void> {
  const handle = await db.handle();
  if (db.dbn === 'sqlite') (handle as { exec(sql: string): void }).exec(sql);
  else await (handle as { query(sql: string): Promise<unknown> }).query(sql);
}

describe("web.py's DBStore example on the page's own table", () => {
  for (const engine of engines) {
    it(`counts and resets on ${engine.name}`, { skip: engine.skip }, async () => {
      const sessions = `sessions_page_${process.pid}_${Date.now().toString(36)}`;
      const params = engine.params;

      // biome-ignore format: web.py's pattern, handler pairs
      const urls = [
        '/count', 'count',
        '/reset', 'reset',
      ];
      const app = web.application(urls, () => ({ count, reset }));
      const db = web.database({
        dbn: params.dbn,
        db: params.db,
        user: params.user,
        pw: params.pw,
        host: params.host,
        port: params.port,
      });
      const store = web.session.DBStore(db, sessions);
      const session = web.session.Session<{ count: number }>(app, store, { count: 0 });

      class count {
        GET() {
          session.count! += 1;
          return String(session.count);
        }
      }

      class reset {
        GET() {
          session.kill();
          return '';
        }
      }

      await execute(db, engine.ddl(sessions));
      cleanups.push(async () => {
        await session.manager.close();
        for (const t of [sessions, `${sessions}_lease`])
          await execute(db, `DROP TABLE IF EXISTS ${t}`);
        await db.close();
      });

      const browser = app.browser();
      assert.equal((await browser.open('/count')).data, '1');
      assert.equal((await browser.open('/count')).data, '2');
      assert.equal((await browser.open('/count')).data, '3');
      const other = app.browser();
      assert.equal((await other.open('/count')).data, '1', 'another browser has its own count');
      await browser.open('/reset');
      assert.equal((await browser.open('/count')).data, '1', 'reset ended the session');
      assert.equal((await other.open('/count')).data, '2');
    });
  }
});

// ---------------------------------------------------------------------------------------------
// The hack under the real debug-mode reloader: each reload starts a fresh process, so the hack
// always takes its first branch there, and the sessions survive as they do without it.

/** The example's session line on `store`, and the same line as web.py's hack. */
const sessionLine = (store: string) => `const session = web.session.Session(app, ${store});`;
const hack = (store: string) => `// Hack to make session play nice with the reloader (in debug mode)
let session: web.session.WebSession;
if (web.config.get('_session') == null) {
  session = web.session.Session(app, ${store});
  web.config._session = session;
} else {
  session = web.config._session as web.session.WebSession;
}`;

describe("web.py's reloader hack under the real reloader", () => {
  const running: RunningExample[] = [];
  after(async () => {
    for (const run of running) await run.stop();
  });

  for (const [kind, store] of [
    ['disk', "web.session.DiskStore('sessions')"],
    ['memory', 'web.session.MemoryStore()'],
  ] as const) {
    it(`runs as written and the ${kind} session survives an edit`, async () => {
      const run = await startWebpyCopy(kind, true, (source) =>
        edit(source, sessionLine(store), hack(store)),
      );
      running.push(run);
      assert.ok(run.source.includes("if (web.config.get('_session') == null) {"));
      const cookie = await login(run.port);
      await writeFile(run.file, edit(run.source, LOGGED_IN, `${LOGGED_IN}<p>edited</p>`));
      const page = await pollUntil(run, cookie, '<p>edited</p>');
      assert.ok(!page.body.includes('websession-reload-error'), page.body);
      assert.doesNotMatch(await outputMatching(run, /reloaded: new code serving/), /Error/);
      assert.equal((await get(run.port, '/logout', cookie)).status, 303);
      assert.equal((await get(run.port, '/', cookie)).body, LOGGED_OUT);
    });
  }
});
