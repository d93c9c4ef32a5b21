// The move of one express-session session, through SessionManager.load/commit: concurrent first
// requests of one browser, bad cookies, bad old records, an old store that fails, expiry, the
// switch to turn it off.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { after, describe, it } from 'node:test';
import { createClient } from 'redis';
import {
  type ConnectStoreLike,
  connectStore,
  decodePayload,
  type ExpressSessionMigration,
  expressSessionMigration,
  MemoryStore,
  type SessionConfig,
  SessionManager,
  StoreError,
  storeKey,
} from 'websession';
import { sessionMetrics } from 'websession/metrics';
import { connectKinds } from '../helpers/connect-stores.js';
import { recordingLogger } from '../helpers/console-capture.js';
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

const [memorystore] = await connectKinds('memorystore');
const [redisKind] = await connectKinds('connect-redis');

interface Setup {
  old: Awaited<ReturnType<NonNullable<typeof memorystore>['make']>>['store'];
  store: MemoryStore;
  manager: SessionManager;
  migration: ExpressSessionMigration;
  logged: string[];
}

/** An old memorystore, a new MemoryStore, and a manager moving sessions between them. */
async function setup(config: SessionConfig = {}, old?: ConnectStoreLike): Promise<Setup> {
  const made = await (memorystore as NonNullable<typeof memorystore>).make();
  after(() => made.teardown());
  const oldStore = (old ?? made.store) as Setup['old'];
  const migration = expressSessionMigration({ store: oldStore, secret: [SECRET, 'older secret'] });
  const logger = recordingLogger();
  const store = new MemoryStore();
  const manager = new SessionManager(store, {
    cookie_name: 'connect.sid',
    secret_key: SECRET_KEY,
    cleanup_interval: 0,
    logger,
    migrate: migration,
    ...config,
  });
  after(() => manager.close());
  return { old: oldStore, store, manager, migration, logged: logger.lines };
}

/** One request: load, read, commit; the data seen and the Set-Cookie sent. */
async function request(manager: SessionManager, cookie: string | undefined) {
  const session = await manager.load({ cookie });
  const data = { ...session };
  const setCookie = await manager.commit(session);
  return { data, setCookie, isNew: session.isNew };
}

describe('express-session migration: one move', () => {
  it('16 parallel first requests with one old cookie end with one session and one Set-Cookie value', async () => {
    const { old, store, manager, migration } = await setup();
    const sid = newSid();
    await putOld(old, sid, oldSession({ user: 'ann', count: 5 }));
    const answers = await Promise.all(
      Array.from({ length: 16 }, () => request(manager, oldCookie(sid))),
    );
    const values = new Set(answers.map((a) => a.setCookie?.split(';')[0]));
    assert.equal(values.size, 1, 'one Set-Cookie value');
    assert.ok([...values][0]?.startsWith('connect.sid='));
    for (const a of answers) assert.deepEqual(a.data, { user: 'ann', count: 5 });
    assert.equal(store.size, 1, 'one session');
    assert.equal(await getOld(old, sid), undefined, 'the old record is gone');
    assert.equal(migration.progress().moved, 1);
  });

  it('two processes moving one session at once (two migrations, one store) end with one session', async () => {
    const { old, store, manager } = await setup();
    const other = new SessionManager(store, {
      cookie_name: 'connect.sid',
      secret_key: SECRET_KEY,
      cleanup_interval: 0,
      migrate: expressSessionMigration({ store: old, secret: SECRET }),
    });
    after(() => other.close());
    const sid = newSid();
    await putOld(old, sid, oldSession({ user: 'bo' }));
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => request(i % 2 ? other : manager, oldCookie(sid))),
    );
    assert.equal(new Set(answers.map((a) => a.setCookie?.split(';')[0])).size, 1);
    assert.equal(store.size, 1);
    for (const a of answers) assert.equal(a.data.user, 'bo');
  });

  it('a cookie signed with an older secret moves too, into the session a retry finds', async () => {
    const { old, store, manager } = await setup();
    const sid = newSid();
    await putOld(old, sid, oldSession({ user: 'cy' }));
    const first = await request(manager, oldCookie(sid, 'older secret'));
    assert.equal(first.data.user, 'cy');
    const again = await request(manager, oldCookie(sid, 'older secret'));
    assert.equal(again.setCookie?.split(';')[0], first.setCookie?.split(';')[0]);
    assert.equal(store.size, 1);
  });

  it('bad cookies are no session: forged, another secret, malformed; nothing read, nothing moved', async () => {
    const { old, store, manager } = await setup();
    const sid = newSid();
    await putOld(old, sid, oldSession({ user: 'dee' }));
    const good = decodeURIComponent(oldCookie(sid).split('=')[1] as string);
    const bad = [
      `connect.sid=${encodeURIComponent(`${good.slice(0, -2)}xx`)}`,
      oldCookie(sid, 'a secret nobody configured'),
      `connect.sid=${encodeURIComponent(`s:${sid}`)}`,
      `connect.sid=${sid}`,
      'connect.sid=s:',
      'connect.sid=s%3A.',
      'connect.sid=%ZZ%',
      `connect.sid=s%3A${'a'.repeat(5000)}.x`,
      'connect.sid=s%3A__proto__.x',
    ];
    for (const cookie of bad) {
      const answer = await request(manager, cookie);
      assert.deepEqual(answer.data, {}, cookie.slice(0, 60));
      assert.equal(answer.isNew, true);
      assert.equal(answer.setCookie, undefined);
    }
    assert.equal(store.size, 0);
    assert.ok(await getOld(old, sid), 'the old record is untouched');
  });

  it('an expired old session is not moved (and is removed); an unknown one is no session', async () => {
    const { old, store, manager } = await setup();
    const sid = newSid();
    const expired = oldSession({ user: 'eve' });
    (expired.cookie as { expires: string }).expires = new Date(Date.now() - 1000).toISOString();
    await putOld(old, sid, expired);
    assert.deepEqual((await request(manager, oldCookie(sid))).data, {});
    assert.equal(store.size, 0);
    assert.equal(await getOld(old, sid), undefined);
    assert.deepEqual((await request(manager, oldCookie(newSid()))).data, {});
  });

  it('hostile fields: __proto__ at the top and nested is skipped with a logged reason, the rest moves', async () => {
    const { old, manager, logged } = await setup();
    const sid = newSid();
    const hostile = JSON.parse(
      '{"__proto__":{"admin":true},"user":"fay","prefs":{"__proto__":{"admin":true}},"list":[1,2]}',
    );
    await putOld(old, sid, { ...oldSession({}), ...hostile });
    const answer = await request(manager, oldCookie(sid));
    assert.deepEqual(answer.data, { user: 'fay', list: [1, 2] });
    assert.equal(({} as { admin?: boolean }).admin, undefined, 'no prototype was polluted');
    assert.ok(
      logged.some((l) => /__proto__/.test(l) && /skipped/.test(l)),
      logged.join('\n'),
    );
    assert.ok(
      logged.some((l) => /"prefs"/.test(l)),
      'the nested one is named',
    );
    assert.ok(!logged.some((l) => /admin/.test(l)), 'values are never logged');
  });

  it('an old record that is not JSON is no session, logged, left in place; the process stays up', async (t) => {
    if (redisKind?.skip) return t.skip(redisKind.skip);
    const made = await (redisKind as NonNullable<typeof redisKind>).make();
    after(() => made.teardown());
    const { store, manager, logged } = await setup({}, made.store);
    const sid = newSid();
    const prefix = (made.store as unknown as { prefix: string }).prefix;
    const client = createClient({ url: REDIS_URL });
    await client.connect();
    after(() => client.close());
    await client.set(prefix + sid, 'not json {');
    const answer = await request(manager, oldCookie(sid));
    assert.deepEqual(answer.data, {});
    assert.equal(store.size, 0);
    assert.ok(
      logged.some((l) => /not a session object/.test(l)),
      logged.join('\n'),
    );
    assert.equal(await client.get(prefix + sid), 'not json {');
    // A string or an array where a session object should be: the same.
    for (const value of ['"a string"', '[1,2]', 'null', '7']) {
      await client.set(prefix + sid, value);
      assert.deepEqual((await request(manager, oldCookie(sid))).data, {});
    }
    assert.equal(store.size, 0);
  });

  it('the old store down: the request fails with a StoreError (a 503), nothing is lost, the next one moves it', async () => {
    class Switchable extends EventEmitter implements ConnectStoreLike {
      readonly inner: ConnectStoreLike;
      down = false;
      constructor(inner: ConnectStoreLike) {
        super();
        this.inner = inner;
      }
      get(sid: string, cb: (err?: unknown, value?: unknown) => void): unknown {
        if (this.down)
          return cb(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
        return this.inner.get(sid, cb);
      }
      set(
        sid: string,
        s: Parameters<ConnectStoreLike['set']>[1],
        cb?: (err?: unknown) => void,
      ): unknown {
        return this.inner.set(sid, s, cb);
      }
      destroy(sid: string, cb?: (err?: unknown) => void): unknown {
        if (this.down) throw new Error('thrown synchronously');
        return this.inner.destroy(sid, cb);
      }
    }
    const made = await (memorystore as NonNullable<typeof memorystore>).make();
    after(() => made.teardown());
    const switchable = new Switchable(made.store);
    const { store, manager } = await setup({}, switchable);
    const sid = newSid();
    await putOld(made.store, sid, oldSession({ user: 'gus' }));
    switchable.down = true;
    await assert.rejects(async () => manager.load({ cookie: oldCookie(sid) }), StoreError);
    switchable.emit('disconnect');
    switchable.down = false;
    await assert.rejects(async () => manager.load({ cookie: oldCookie(sid) }), /disconnect/);
    switchable.emit('connect');
    assert.ok(await getOld(made.store, sid), 'nothing lost');
    assert.equal((await request(manager, oldCookie(sid))).data.user, 'gus');
    assert.equal(store.size, 1);
  });

  it('turned off, old cookies are ignored', async () => {
    const { old, store, manager, migration } = await setup();
    const sid = newSid();
    await putOld(old, sid, oldSession({ user: 'hal' }));
    migration.enabled = false;
    assert.deepEqual((await request(manager, oldCookie(sid))).data, {});
    assert.equal(store.size, 0);
    migration.enabled = true;
    assert.equal((await request(manager, oldCookie(sid))).data.user, 'hal');
  });

  it('the moved record is an ordinary session of ours: our codec, our hashed key, a new id', async () => {
    const { old, store, manager } = await setup();
    const sid = newSid();
    await putOld(old, sid, oldSession({ user: 'ivy', when: '2020-01-01' }));
    const answer = await request(manager, oldCookie(sid));
    const value = (answer.setCookie ?? '').split(';')[0]?.split('=')[1] ?? '';
    const id = value.split('.')[0] as string;
    assert.match(id, /^[0-9a-f]{64}$/);
    assert.ok(!id.includes(sid));
    const record = await store.get(storeKey(id));
    assert.deepEqual(decodePayload(record?.data ?? '').data, { user: 'ivy', when: '2020-01-01' });
  });

  it('"remember me" moves as the cookie lifetime, in whole seconds even when stored a millisecond short', async () => {
    const { old, manager } = await setup();
    const days30 = 30 * 86400_000;
    // express-session reads the clock twice when it sets maxAge: 30 days often lands 1 ms short.
    for (const stored of [days30, days30 - 1, days30 + 1]) {
      const sid = newSid();
      await putOld(old, sid, oldSession({ user: 'kim' }, stored));
      const answer = await request(manager, oldCookie(sid));
      assert.equal(answer.data.user, 'kim');
      assert.match(answer.setCookie ?? '', /Max-Age=2592000(;|$)/i, `stored as ${stored} ms`);
    }
    const browserSession = newSid();
    await putOld(old, browserSession, oldSession({ user: 'lee' }, null));
    const plain = await request(manager, oldCookie(browserSession));
    assert.equal(plain.data.user, 'lee');
    assert.doesNotMatch(plain.setCookie ?? '', /Max-Age/i, 'a browser-session cookie stays one');
  });
});

describe('express-session migration into connectStore on the same old store', () => {
  it('moves into the store the app already had (records side by side, ours under hashed keys)', async () => {
    const made = await (memorystore as NonNullable<typeof memorystore>).make();
    after(() => made.teardown());
    const migration = expressSessionMigration({ store: made.store, secret: SECRET });
    const manager = new SessionManager(connectStore(made.store), {
      cookie_name: 'connect.sid',
      secret_key: SECRET_KEY,
      cleanup_interval: 0,
      migrate: migration,
    });
    after(() => manager.close());
    const sids = [newSid(), newSid(), newSid()];
    for (const sid of sids) await putOld(made.store, sid, oldSession({ user: sid.slice(0, 5) }));
    assert.equal(await migration.countRemaining(), 3);
    const answer = await request(manager, oldCookie(sids[0] as string));
    assert.equal(answer.data.user, (sids[0] as string).slice(0, 5));
    assert.deepEqual(migration.progress(), { moved: 1, remaining: 2 });
    assert.equal(await migration.countRemaining(), 2, 'our record is not counted as an old one');
  });

  it('metrics: moved and remaining', async () => {
    const made = await (memorystore as NonNullable<typeof memorystore>).make();
    after(() => made.teardown());
    const migration = expressSessionMigration({ store: made.store, secret: SECRET });
    const manager = new SessionManager(new MemoryStore(), {
      cookie_name: 'connect.sid',
      secret_key: SECRET_KEY,
      cleanup_interval: 0,
      migrate: migration,
    });
    after(() => manager.close());
    const metrics = sessionMetrics(manager);
    after(() => metrics.close());
    const sids = [newSid(), newSid()];
    for (const sid of sids) await putOld(made.store, sid, oldSession({ user: 'x' }));
    await migration.countRemaining();
    assert.match(metrics.text(), /^websession_migration_moved_total\{store="memory"\} 0$/m);
    assert.match(metrics.text(), /^websession_migration_remaining\{store="memory"\} 2$/m);
    await request(manager, oldCookie(sids[1] as string));
    assert.match(metrics.text(), /^websession_migration_moved_total\{store="memory"\} 1$/m);
    assert.match(metrics.text(), /^websession_migration_remaining\{store="memory"\} 1$/m);
  });
});
