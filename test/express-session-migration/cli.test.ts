// `websession migrate --from-express-session <module> --to <url>`: every session of a real
// connect-redis store moved at once into a DiskStore; expired ones removed, an unreadable one left
// and named; a second run moves nothing twice; and a user coming back with the old cookie finds
// the session the command moved.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createClient } from 'redis';
import { DiskStore, expressSessionMigration, SessionManager } from 'websession';
import { connectKinds } from '../helpers/connect-stores.js';
import { CLI_ARGS, runCli } from '../helpers/migrate.js';
import { REDIS_URL } from '../helpers/servers.js';
import {
  getOld,
  newSid,
  oldCookie,
  oldSession,
  putOld,
  SECRET,
  SECRET_KEY,
} from './old-sessions.js';

const [redisKind] = await connectKinds('connect-redis');
const kind = redisKind as NonNullable<typeof redisKind>;
const PACKAGE_JSON = fileURLToPath(new URL('../../package.json', import.meta.url));

describe('websession migrate --from-express-session', { skip: kind.skip }, () => {
  it('moves every session at once; resumable; the old cookie then finds its session', async () => {
    const made = await kind.make();
    after(() => made.teardown());
    const dir = await mkdtemp(join(tmpdir(), 'websession-es-cli-'));
    after(() => rm(dir, { recursive: true, force: true }));
    const prefix = (made.store as unknown as { prefix: string }).prefix;

    const sids = Array.from({ length: 20 }, () => newSid());
    for (const [i, sid] of sids.entries())
      await putOld(made.store, sid, oldSession({ user: `u${i}` }));
    const expired = newSid();
    await putOld(made.store, expired, oldSession({ user: 'gone' }, 1000));
    const client = createClient({ url: REDIS_URL });
    await client.connect();
    after(() => client.close());
    // Past its cookie's expiry while Redis still holds it, and a record that is not JSON.
    const stale = JSON.parse((await client.get(prefix + expired)) as string);
    stale.cookie.expires = new Date(Date.now() - 1000).toISOString();
    await client.set(prefix + expired, JSON.stringify(stale));
    const garbled = newSid();
    await client.set(prefix + garbled, 'not json {');

    const module = join(dir, 'old-sessions.mjs');
    await writeFile(
      module,
      `import { createRequire } from 'node:module';
const require = createRequire(${JSON.stringify(PACKAGE_JSON)});
const { createClient } = require('redis');
const { RedisStore } = require('connect-redis');
export async function store() {
  const client = createClient({ url: ${JSON.stringify(REDIS_URL)} });
  await client.connect();
  return new RedisStore({ client, prefix: ${JSON.stringify(prefix)} });
}
export const secret = ${JSON.stringify(SECRET)};
`,
    );
    const to = `disk:${join(dir, 'sessions')}`;
    const first = await runCli(['migrate', '--from-express-session', module, '--to', to]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^moved 20 of 22 express-session session\(s\)/m);
    assert.match(first.stdout, /1 expired removed/);
    assert.match(first.stdout, /1 unreadable left in place/);
    assert.match(first.stderr, /not a session object/);
    for (const sid of sids) assert.equal(await getOld(made.store, sid), undefined);
    assert.equal(await client.get(prefix + expired), null);

    const second = await runCli(['migrate', '--from-express-session', module, '--to', to]);
    assert.match(second.stdout, /^moved 0 of 1 /m, 'nothing is moved twice');

    const manager = new SessionManager(new DiskStore(join(dir, 'sessions')), {
      cookie_name: 'connect.sid',
      secret_key: SECRET_KEY,
      cleanup_interval: 0,
      migrate: expressSessionMigration({ store: made.store, secret: SECRET }),
    });
    after(() => manager.close());
    const session = await manager.load({ cookie: oldCookie(sids[7] as string) });
    assert.equal(session.user, 'u7', 'the old cookie finds the session the command moved');
    assert.match((await manager.commit(session)) ?? '', /^connect\.sid=[0-9a-f]{64}\./);

    const usage = await runCli([
      'migrate',
      '--from-express-session',
      join(dir, 'none.mjs'),
      '--to',
      to,
    ]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /cannot load --from-express-session/);
  });

  it('Ctrl-C: the moves under way end, the command prints how far it got and how to go on', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'websession-es-cli-int-'));
    after(() => rm(dir, { recursive: true, force: true }));
    const module = join(dir, 'old-sessions.mjs');
    // 100 sessions in a memorystore; the third read waits for the SIGINT the test sends.
    await writeFile(
      module,
      `import { createRequire } from 'node:module';
const require = createRequire(${JSON.stringify(PACKAGE_JSON)});
const session = require('express-session');
const inner = new (require('memorystore')(session))({ checkPeriod: 3600000 });
for (let i = 0; i < 100; i++)
  inner.set('sid' + String(i).padStart(3, '0'), { cookie: { originalMaxAge: null, expires: null }, n: i }, () => {});
inner.stopInterval();
let reads = 0;
let resume;
const interrupted = new Promise((resolve) => { resume = resolve; });
// A pending promise alone does not keep a process up: a timer does, until the SIGINT.
const alive = setInterval(() => {}, 1000);
process.once('SIGINT', () => { clearInterval(alive); resume(); });
export const store = {
  get(sid, cb) {
    if (++reads !== 3) return inner.get(sid, cb);
    process.stderr.write('blocked\\n');
    interrupted.then(() => inner.get(sid, cb));
  },
  set: (sid, s, cb) => inner.set(sid, s, cb),
  destroy: (sid, cb) => inner.destroy(sid, cb),
  ids: (cb) => inner.ids(cb),
};
export const secret = ${JSON.stringify(SECRET)};
`,
    );
    const child = spawn(
      process.execPath,
      [...CLI_ARGS, 'migrate', '--from-express-session', module, '--to', 'memory:', '--jobs', '1'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    const blocked = new Promise<void>((resolve) =>
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString('utf8');
        if (stderr.includes('blocked')) resolve();
      }),
    );
    const exited = once(child, 'close');
    await blocked;
    child.kill('SIGINT');
    const [code] = (await exited) as [number | null];
    assert.equal(code, 1, `${stdout}\n${stderr}`);
    assert.match(stdout, /^moved 3 of 100 express-session session\(s\)/m);
    assert.match(
      stderr,
      /interrupted after 3 of 100: run the same command again to move the 97 left/,
    );
  });
});
