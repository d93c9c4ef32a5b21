// The move on every framework and the web.py-style layer (it is a session config key, not a
// feature of one middleware): an express-session user of the example app, logged in before the
// switch, is logged in on the first request after it, gets our cookie, and the old record is gone.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { expressSessionMigration, MemoryStore } from 'websession';
import { LOGGED_IN } from '../../examples/frameworks/shared.js';
import { cookieOf, get } from '../adapters/answers.js';
import { FRAMEWORKS } from '../adapters/servers.js';
import { connectKinds } from '../helpers/connect-stores.js';
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

for (const framework of Object.keys(FRAMEWORKS)) {
  describe(`express-session migration on ${framework}`, () => {
    it('a user logged in under express-session is logged in on the first request after the switch', async () => {
      const made = await (memorystore as NonNullable<typeof memorystore>).make();
      after(() => made.teardown());
      const store = new MemoryStore();
      const app = await FRAMEWORKS[framework]!.example(store, {
        cleanup_interval: 0,
        cookie_name: 'connect.sid',
        secret_key: SECRET_KEY,
        migrate: expressSessionMigration({ store: made.store, secret: SECRET }),
      });
      after(() => app.close());
      const sid = newSid();
      await putOld(made.store, sid, oldSession({ logged_in: true }));
      const first = await get(app, '/', oldCookie(sid));
      assert.equal(first.body, LOGGED_IN);
      const ours = cookieOf(first);
      assert.match(ours, /^connect\.sid=[0-9a-f]{64}\./);
      assert.equal(await getOld(made.store, sid), undefined);
      assert.equal(store.size, 1);
      assert.equal((await get(app, '/', ours)).body, LOGGED_IN);
    });
  });
}
