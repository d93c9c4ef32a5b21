// `websession migrate --from-express-session <module> --to <url>`: every session of a real
// connect-redis store moved at once into a DiskStore; expired ones removed, an unreadable one left
// and named; a second run moves nothing twice; and a user coming back with the old cookie finds
// the session the command moved.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createClient } from 'redis';
import { DiskStore, expressSessionMigration, SessionManager } from 'websession';
import { connectKinds } from '../helpers/connect-stores.js';
import { runCli } from '../helpers/migrate.js';
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
});
