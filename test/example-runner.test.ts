// The example runner as a user runs it: npm run example -- <framework> --store <url> --listen <host:port>
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import net from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import Sqlite from 'better-sqlite3';
import { Redis } from 'ioredis';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { LOGGED_IN, LOGGED_OUT } from '../examples/frameworks/shared.js';
import { uniqueTable } from './helpers/db-store.js';
import { type ExampleProcess, startExample } from './helpers/example-process.js';
import { CookieClient } from './helpers/http-client.js';
import { dropPrefix, redisUrlWith } from './helpers/redis.js';
import { MYSQL_URL, POSTGRES_URL, REDIS_URL, serverSkip } from './helpers/servers.js';
import { sessionFiles } from './helpers/session-files.js';
import { tempDirs } from './helpers/temp-dirs.js';

const RUNNER = fileURLToPath(new URL('../examples/run.ts', import.meta.url));
const FRAMEWORKS = ['web', 'node', 'express', 'fastify', 'hono', 'koa', 'fetch'];

const postgresSkip = await serverSkip('Postgres', POSTGRES_URL, 5432);
const mysqlSkip = await serverSkip('MySQL', MYSQL_URL, 3306);
const redisSkip = await serverSkip('Redis', REDIS_URL, 6379);

const tempDir = tempDirs('runner');

function runner(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', '--conditions=websession-src', RUNNER, ...args],
      { timeout: 150_000 },
      (err, _out, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr }),
    );
  });
}

/** True when something already listens on 127.0.0.1:`port`. */
function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(true));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(false)));
  });
}

/**
 * The five routes (/, /login 303 to /, /count, /logout 303 to /, /kill), and 64 parallel /count of
 * one session ending at 64. `stored`, when given, counts the sessions in the store the runner was
 * pointed at: one after the login, none after the kill.
 */
async function checkRoutes(app: ExampleProcess, stored?: () => Promise<number>): Promise<void> {
  const home = `${app.base}/`;
  const user = new CookieClient();
  const index = await user.get(home);
  assert.equal(index.status, 200);
  assert.equal(index.body, LOGGED_OUT);
  assert.equal(user.cookie, undefined, 'no cookie for a visitor without data');
  const login = await user.get(`${app.base}/login`);
  assert.equal(login.status, 303);
  assert.equal(user.location, home, '/login redirects to / (absolute, as web.py)');
  assert.match(user.cookie ?? '', /^webpy_session_id=[0-9a-f]{64}$/);
  if (stored) assert.equal(await stored(), 1, 'the session is in the store given by --store');
  const again = await user.get(home);
  assert.equal(again.status, 200);
  assert.equal(again.body, LOGGED_IN);
  const counts = await Promise.all(Array.from({ length: 64 }, () => user.get(`${app.base}/count`)));
  assert.ok(counts.every((r) => r.status === 200));
  assert.deepEqual(
    counts.map((r) => Number(r.body)).sort((a, b) => a - b),
    Array.from({ length: 64 }, (_, i) => i + 1),
  );
  assert.equal((await user.get(`${app.base}/count`)).body, '65');
  const logout = await user.get(`${app.base}/logout`);
  assert.equal(logout.status, 303);
  assert.equal(user.location, home, '/logout redirects to /');
  const out = await user.get(home);
  assert.equal(out.status, 200);
  assert.equal(out.body, LOGGED_OUT);
  const cookie = user.cookie;
  assert.ok(cookie, 'the session outlives a logout');
  const kill = await user.get(`${app.base}/kill`);
  assert.equal(kill.status, 200);
  assert.equal(kill.body, 'killed');
  assert.equal(user.cookie, undefined, 'the kill expired the cookie');
  if (stored) assert.equal(await stored(), 0, 'the kill deleted it from the store');
  user.cookie = cookie; // the killed session's cookie: a fresh session, counting from 1
  assert.equal((await user.get(`${app.base}/count`)).body, '1');
  assert.notEqual(user.cookie, cookie);
}

async function withExample(
  store: string | undefined,
  framework: string,
  check: (app: ExampleProcess) => Promise<void>,
  cwd?: string,
): Promise<void> {
  const app = await startExample(store, framework, { cwd });
  try {
    await check(app);
  } finally {
    await app.stop();
  }
}

describe('example runner', () => {
  for (const framework of FRAMEWORKS) {
    it(`${framework} + memory: the five routes, and 64 parallel /count of one session end at 64`, async () => {
      await withExample('memory:', framework, (app) => checkRoutes(app));
    });
  }

  it('web + disk: the five routes, and 64 parallel /count of one session end at 64', async () => {
    const dir = join(await tempDir(), 'sessions');
    await withExample(`disk:${dir}`, 'web', (app) =>
      checkRoutes(app, async () => (await sessionFiles(dir)).length),
    );
  });

  it('node + sqlite:<file>: the five routes, and 64 parallel /count of one session end at 64', async () => {
    const file = join(await tempDir(), 'sessions.db');
    const count = async () => {
      const db = new Sqlite(file, { readonly: true, fileMustExist: true });
      try {
        return (db.prepare('SELECT COUNT(*) AS n FROM sessions').get() as { n: number }).n;
      } finally {
        db.close();
      }
    };
    await withExample(`sqlite:${file}`, 'node', (app) => checkRoutes(app, count));
  });

  it('express + postgres://…?table=<unique>: the five routes, and 64 parallel /count end at 64', {
    skip: postgresSkip,
  }, async () => {
    const table = uniqueTable('ws_runner');
    const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 1 });
    const url = new URL(POSTGRES_URL);
    url.searchParams.set('table', table);
    try {
      await withExample(url.href, 'express', (app) =>
        checkRoutes(app, async () =>
          Number((await pool.query(`SELECT COUNT(*) AS n FROM ${table}`)).rows[0].n),
        ),
      );
    } finally {
      await pool.query(`DROP TABLE IF EXISTS ${table}, ${table}_lease`);
      await pool.end();
    }
  });

  it('fastify + mysql://…?table=<unique>: the five routes, and 64 parallel /count end at 64', {
    skip: mysqlSkip,
  }, async () => {
    const table = uniqueTable('ws_runner');
    const conn = await mysql.createConnection({ uri: MYSQL_URL });
    const url = new URL(MYSQL_URL);
    url.searchParams.set('table', table);
    try {
      await withExample(url.href, 'fastify', (app) =>
        checkRoutes(app, async () => {
          const [rows] = await conn.query(`SELECT COUNT(*) AS n FROM ${table}`);
          return Number((rows as { n: number }[])[0]!.n);
        }),
      );
    } finally {
      await conn.query(`DROP TABLE IF EXISTS ${table}, ${table}_lease`);
      await conn.end();
    }
  });

  it('hono + redis://…?prefix=<unique>: the five routes, and 64 parallel /count end at 64', {
    skip: redisSkip,
  }, async () => {
    const prefix = `ws_runner_${process.pid}_${Date.now()}:`;
    const redis = new Redis(REDIS_URL);
    const count = async () => {
      const keys = await redis.keys(`${prefix}*`);
      return keys.filter((k) => !k.startsWith(`${prefix}user:`)).length;
    };
    try {
      await withExample(redisUrlWith(`prefix=${prefix}`), 'hono', (app) => checkRoutes(app, count));
    } finally {
      redis.disconnect();
      await dropPrefix(prefix);
    }
  });

  it('koa + disk: the five routes, and 64 parallel /count of one session end at 64', async () => {
    const dir = join(await tempDir(), 'sessions');
    await withExample(`disk:${dir}`, 'koa', (app) =>
      checkRoutes(app, async () => (await sessionFiles(dir)).length),
    );
  });

  it('without --store, keeps sessions in ./sessions of the working directory', async () => {
    const cwd = await tempDir();
    await withExample(
      undefined,
      'web',
      (app) => checkRoutes(app, async () => (await sessionFiles(join(cwd, 'sessions'))).length),
      cwd,
    );
  });

  it('without --listen, listens on 127.0.0.1:8080', async (t) => {
    if (await portInUse(8080)) {
      t.skip('127.0.0.1:8080 is in use');
      return;
    }
    const app = await startExample('memory:', 'web', { cwd: await tempDir(), listen: false });
    try {
      assert.equal(app.base, 'http://127.0.0.1:8080');
      const user = new CookieClient();
      assert.equal((await user.get('http://127.0.0.1:8080/login')).status, 303);
      assert.equal(user.location, 'http://127.0.0.1:8080/');
      assert.equal((await user.get('http://127.0.0.1:8080/')).body, LOGGED_IN);
    } finally {
      await app.stop();
    }
  });

  it('refuses an unknown framework, a bad store URL and a bad address with one line and exit code 2', async () => {
    const cases: [string[], RegExp][] = [
      [['nope'], /unknown framework "nope"/],
      [['web', '--store', 'bogus://x'], /unknown store URL scheme "bogus:"/],
      [['web', '--store', 'not a url'], /bad store URL/],
      [
        ['web', '--store', 'redis://127.0.0.1:6379/0?prefx=x:'],
        /unknown parameter "prefx" .*redis: URLs take prefix, ttl, cluster, commandTimeout, connectTimeout/,
      ],
      [['web', '--store', 'disk:./sessions?fsnc=1'], /unknown parameter "fsnc"/],
      [['web', '--listen', 'nowhere'], /bad --listen address "nowhere"/],
      [['web', '--listen', '127.0.0.1:99999'], /bad --listen address/],
    ];
    for (const [args, message] of cases) {
      const { code, stderr } = await runner(args);
      assert.equal(code, 2, args.join(' '));
      assert.match(stderr, message);
      assert.match(stderr.split('\n')[0] ?? '', message, 'the first line says what is wrong');
    }
  });
});
