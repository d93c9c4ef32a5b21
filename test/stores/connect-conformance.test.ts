// The adapter conformance cases that apply to a store, run on every framework with express-session
// stores through connectStore (connect-redis, connect-pg-simple, session-file-store,
// memorystore): login and logout with the record as stored, bad cookies never adopted, no record
// for a visitor without data, the store's disconnect event as a 503 and the recovery, and 64
// parallel updates of one session in one process.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectStore, decodePayload, type Store, storeKey } from 'websession';
import { STORE_UNAVAILABLE_BODY } from 'websession/node';
import { LOGGED_IN, LOGGED_OUT } from '../../examples/frameworks/shared.js';
import { cookieOf, get } from '../adapters/answers.js';
import { FRAMEWORKS, type Running } from '../adapters/servers.js';
import {
  type ConnectKind,
  connectKinds,
  type MadeConnectStore,
} from '../helpers/connect-stores.js';
import { recordingLogger } from '../helpers/console-capture.js';
import { SpyStore } from '../helpers/spy-store.js';

/** The stored data of the session a cookie names (undefined when there is no record). */
async function stored(store: Store, cookie: string): Promise<Record<string, unknown> | undefined> {
  const record = await store.get(storeKey(cookie.slice(cookie.indexOf('=') + 1)));
  return record && decodePayload(record.data).data;
}

function suite(kind: ConnectKind, framework: string): void {
  describe(`connectStore(${kind.name}) on ${framework}`, { skip: kind.skip }, () => {
    let made: MadeConnectStore;
    let store: Store;
    let spy: SpyStore;
    let app: Running;
    // The store failures the disconnect test causes are logged here, where it asserts them.
    const logger = recordingLogger();
    before(async () => {
      made = await kind.make();
      store = connectStore(made.store, { kind: kind.name });
      spy = new SpyStore(store);
      app = await FRAMEWORKS[framework]!.example(spy, { cleanup_interval: 0, logger });
    });
    after(async () => {
      await app?.close();
      await made?.teardown();
    });

    it('login and logout: saved before the answer, followed by the page, kill ends it', async () => {
      const cookie = cookieOf(await get(app, '/login'));
      assert.deepEqual(await stored(store, cookie), { logged_in: true });
      assert.equal((await get(app, '/', cookie)).body, LOGGED_IN);
      await get(app, '/logout', cookie);
      assert.equal((await get(app, '/', cookie)).body, LOGGED_OUT);
      assert.deepEqual(await stored(store, cookie), { logged_in: false });
      const kill = await get(app, '/kill', cookie);
      assert.match(kill.setCookies[0] ?? '', /Max-Age=0/i);
      assert.equal(await stored(store, cookie), undefined);
    });

    it('a bad or unknown cookie is no session, never adopted', async () => {
      for (const cookie of [
        'webpy_session_id=../../etc/passwd',
        `webpy_session_id=${'ab'.repeat(32)}`,
        'webpy_session_id=',
      ]) {
        const page = await get(app, '/', cookie);
        assert.equal(page.status, 200);
        assert.equal(page.body, LOGGED_OUT);
        assert.deepEqual(page.setCookies, []);
      }
      assert.equal(await store.get(storeKey('ab'.repeat(32))), undefined);
    });

    it('a visitor who got no data gets no cookie and the store is never called', async () => {
      const calls = spy.count();
      const page = await get(app, '/');
      assert.deepEqual(page.setCookies, []);
      assert.equal(spy.count(), calls);
    });

    it("the store's disconnect event is a 503 with the clear body, and its connect event recovers", async () => {
      const cookie = cookieOf(await get(app, '/login'));
      made.store.emit('disconnect');
      try {
        const down = await get(app, '/', cookie);
        assert.equal(down.status, 503);
        assert.equal(down.body, STORE_UNAVAILABLE_BODY);
        assert.deepEqual(
          logger.lines.filter((line) => line.includes('the store reported a disconnect')),
          [`[websession] [${kind.name}] get failed: the store reported a disconnect`],
          "the first store failure is logged at once, in the store kind's name",
        );
      } finally {
        made.store.emit('connect');
      }
      assert.equal((await get(app, '/', cookie)).body, LOGGED_IN);
    });

    it('64 parallel /count of one session end at 64 (the lock of one process)', async () => {
      const cookie = cookieOf(await get(app, '/login'));
      const answers = await Promise.all(
        Array.from({ length: 64 }, () => get(app, '/count', cookie)),
      );
      assert.ok(answers.every((a) => a.status === 200));
      assert.deepEqual(
        answers.map((a) => Number(a.body)).sort((a, b) => a - b),
        Array.from({ length: 64 }, (_, i) => i + 1),
      );
      assert.deepEqual(await stored(store, cookie), { logged_in: true, count: 64 });
    });
  });
}

for (const kind of await connectKinds())
  for (const framework of Object.keys(FRAMEWORKS)) suite(kind, framework);
