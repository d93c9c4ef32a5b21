// web.py's sessions example on ShelfStore and RedisStore with only its store line changed, as the
// README shows: the same file, one line different, logs in and out the same way.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Application } from 'websession/web';
import { LOGGED_IN, LOGGED_OUT } from '../../examples/frameworks/shared.js';
import { dropPrefix, redisUrlWith } from '../helpers/redis.js';
import { REDIS_URL, serverSkip } from '../helpers/servers.js';

const EXAMPLE = new URL('../../examples/webpy/sessions.ts', import.meta.url);
const STORE_LINE = "web.session.DiskStore('sessions')";
const redisSkip = await serverSkip('redis', REDIS_URL, 6379);
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const fn of cleanups) await fn();
});

/** Imports a copy of the example with its store line replaced; returns its app. */
async function exampleWith(name: string, storeLine: string): Promise<Application> {
  const source = await readFile(EXAMPLE, 'utf8');
  assert.equal(source.split(STORE_LINE).length, 2, 'the example has its store line once');
  const file = fileURLToPath(
    new URL(`../../examples/webpy/.test-${name}-${process.pid}.ts`, import.meta.url),
  );
  // The example keeps `app` to itself; the copy exports it so the test can drive it.
  await writeFile(file, `${source.replace(STORE_LINE, storeLine)}\nexport { app, session };\n`);
  cleanups.push(() => rm(file, { force: true }));
  const mod = (await import(file)) as {
    app: Application;
    session: { manager: { close(): Promise<void>; store: { close(): Promise<void> } } };
  };
  cleanups.push(async () => {
    await mod.session.manager.close();
    await mod.session.manager.store.close();
  });
  return mod.app;
}

async function logsInAndOut(app: Application): Promise<void> {
  const browser = app.browser();
  assert.equal((await browser.open('/')).data, LOGGED_OUT);
  assert.equal((await browser.open('/login')).status, '303 See Other');
  assert.equal((await browser.open('/')).data, LOGGED_IN);
  await browser.open('/logout');
  assert.equal((await browser.open('/')).data, LOGGED_OUT);
}

describe("web.py's example with only its store line changed", () => {
  it('runs on ShelfStore', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'websession-example-shelf-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'sessions.shelf');
    await logsInAndOut(
      await exampleWith('shelf', `web.session.ShelfStore(${JSON.stringify(file)})`),
    );
  });

  it('runs on RedisStore', { skip: redisSkip }, async () => {
    const prefix = `wsex:${randomBytes(4).toString('hex')}:`;
    cleanups.push(() => dropPrefix(prefix));
    const url = redisUrlWith(`prefix=${prefix}`);
    await logsInAndOut(
      await exampleWith('redis', `web.session.RedisStore(${JSON.stringify(url)})`),
    );
  });
});
