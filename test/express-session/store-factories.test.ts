// Store packages written for express-session, made as their READMEs say, with our module in
// express-session's place: session-file-store and connect-pg-simple take it as their factory's
// argument, connect-redis's RedisStore extends express-session's Store. Each runs the app
// (counter, login with regenerate, logout with destroy) on its real backend, and keeps every
// session under the SHA-256 of its id, never the id itself.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { RedisStore } from 'connect-redis';
import type { RequestHandler } from 'express';
import realSession from 'express-session';
import { createClient } from 'redis';
import session, { type ExpressSessionOptions } from 'websession/express-session';
import { CookieClient, httpGet } from '../helpers/http-client.js';
import { dropPrefix } from '../helpers/redis.js';
import { POSTGRES_URL, postgresPool, REDIS_URL, serverSkip } from '../helpers/servers.js';
import { tempDirs } from '../helpers/temp-dirs.js';
import { uniqueTable } from '../helpers/unique-table.js';
import { createApp, listen, type RunningApp } from './app.js';

const require = createRequire(import.meta.url);
const tempDir = tempDirs('es-stores');
const sha256 = (id: string) => createHash('sha256').update(id).digest('hex');
const idOf = (pair: string) => /^connect\.sid=s%3A([0-9a-f]{64})\./.exec(pair)?.[1] as string;

const running: RunningApp[] = [];
after(async () => {
  for (const app of running) await app.close();
});

async function start(
  store: ExpressSessionOptions['store'],
  factory: (options: ExpressSessionOptions) => unknown = session,
): Promise<RunningApp> {
  const middleware = factory({
    secret: 'keyboard cat',
    resave: false,
    saveUninitialized: false,
    store,
  }) as unknown as RequestHandler;
  const app = await listen(createApp(middleware));
  running.push(app);
  return app;
}

/**
 * Runs the app over `store` and checks it, with `hasKey(key)` telling whether the backend holds
 * a session under `key`.
 */
async function exercise(
  store: ExpressSessionOptions['store'],
  hasKey: (key: string) => Promise<boolean>,
): Promise<void> {
  const { url } = await start(store);
  const browser = new CookieClient();
  assert.equal((await browser.get(`${url}/count`)).body, '1');
  assert.equal((await browser.get(`${url}/count`)).body, '2');
  const anonymous = idOf(browser.cookie as string);
  await browser.get(`${url}/login?user=ann`);
  const id = idOf(browser.cookie as string);
  assert.notEqual(id, anonymous);
  assert.equal((await browser.get(`${url}/`)).body, 'hello ann');
  assert.equal(await hasKey(sha256(id)), true, 'the session is kept under the hash of its id');
  assert.equal(await hasKey(id), false, 'never under the id itself');
  assert.equal(await hasKey(sha256(anonymous)), false, 'regenerate removed the old record');
  const loggedIn = browser.cookie as string;
  await browser.get(`${url}/logout`);
  assert.equal(await hasKey(sha256(id)), false, 'destroy removed the record');
  assert.equal((await httpGet(`${url}/`, { cookie: loggedIn })).body, 'anonymous');
}

describe('express-session store packages under websession/express-session', () => {
  it('session-file-store: require("session-file-store")(session)', async () => {
    const dir = await tempDir();
    const FileStore = require('session-file-store')(session);
    const store = new FileStore({ path: dir, retries: 0, reapInterval: -1, logFn: () => {} });
    await exercise(store, async (key) => (await readdir(dir)).includes(`${key}.json`));
  });

  it('switching from express-session keeps the logged-in user and moves the session', async () => {
    const dir = await tempDir();
    const options = { path: dir, retries: 0, reapInterval: -1, logFn: () => {} };
    const before = await start(
      new (require('session-file-store')(realSession))(options),
      realSession as unknown as (options: ExpressSessionOptions) => unknown,
    );
    const browser = new CookieClient();
    await browser.get(`${before.url}/login?user=ann`);
    const old = browser.cookie as string;
    const oldSid = /^connect\.sid=s%3A([^.]+)\./.exec(old)?.[1] as string;
    assert.deepEqual(await readdir(dir), [`${oldSid}.json`], 'express-session stored its session');
    await before.close();

    const after = await start(new (require('session-file-store')(session))(options));
    const answer = await browser.get(`${after.url}/`);
    assert.equal(answer.body, 'hello ann', 'still logged in');
    const id = idOf(browser.cookie as string);
    assert.ok(id, `a cookie of ours replaced the old one: ${browser.cookie}`);
    assert.deepEqual(await readdir(dir), [`${sha256(id)}.json`], 'the old record is gone');
    assert.equal((await httpGet(`${after.url}/`, { cookie: old })).body, 'hello ann');
  });

  describe('connect-pg-simple: require("connect-pg-simple")(session)', async () => {
    const skip = await serverSkip('postgres', POSTGRES_URL, 5432);
    const table = uniqueTable('es_pg_simple');
    const pool = postgresPool();
    after(async () => {
      await pool.query(`DROP TABLE IF EXISTS ${table}`).catch(() => {});
      await pool.end();
    });
    it('runs the app on PostgreSQL', { skip }, async () => {
      const PgStore = require('connect-pg-simple')(session);
      const store = new PgStore({
        pool,
        tableName: table,
        createTableIfMissing: true,
        pruneSessionInterval: false,
      });
      await exercise(store, async (key) => {
        const { rowCount } = await pool.query(`SELECT 1 FROM ${table} WHERE sid = $1`, [key]);
        return rowCount === 1;
      });
    });
  });

  describe('connect-redis: new RedisStore({ client, prefix })', async () => {
    const skip = await serverSkip('redis', REDIS_URL, 6379);
    const prefix = `${uniqueTable('es_connect_redis')}:`;
    const client = createClient({ url: REDIS_URL });
    before(async () => {
      if (!skip) await client.connect();
    });
    after(async () => {
      if (skip) return;
      await dropPrefix(prefix);
      await client.quit();
    });
    it('runs the app on Redis', { skip }, async () => {
      const store = new RedisStore({ client, prefix });
      await exercise(store, async (key) => (await client.exists(`${prefix}${key}`)) === 1);
    });
  });
});
