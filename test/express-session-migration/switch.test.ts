// Real applications switched: the app written the express-session way runs on the real
// express-session with connect-redis, connect-pg-simple and session-file-store; users log in,
// count, ask to be remembered, log out. Then the app runs on websession, on the same store and
// secret, with the migration: every user logged in before is still logged in with the same data,
// every old record is gone, and a logged-out user stays logged out.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import session from 'express-session';
import { connectStore, decodePayload, expressSessionMigration, storeKey } from 'websession';
import { session as websession } from 'websession/express';
import { connectKinds } from '../helpers/connect-stores.js';
import { CookieClient } from '../helpers/http-client.js';
import { expressSessionApp, listen, REMEMBER_MS, websessionApp } from './apps.js';
import { getOld, SECRET, SECRET_KEY } from './old-sessions.js';

/** The old session id in an express-session cookie pair (`connect.sid=s%3A<id>.<mac>`). */
function oldSid(pair: string): string {
  const value = decodeURIComponent(pair.slice(pair.indexOf('=') + 1));
  return value.slice(2, value.lastIndexOf('.'));
}

for (const kind of await connectKinds('connect-redis', 'connect-pg-simple', 'session-file-store')) {
  describe(`switching from express-session: ${kind.name}`, { skip: kind.skip }, () => {
    it('every logged-in user is still logged in with the same data, old records gone, logged-out users stay out', async () => {
      const made = await kind.make();
      after(() => made.teardown());

      // Before: the real express-session.
      const before = await listen(
        expressSessionApp(
          session({ store: made.store, secret: SECRET, resave: false, saveUninitialized: false }),
        ),
      );
      const users = {
        alice: { client: new CookieClient(), count: 3, remember: true },
        bob: { client: new CookieClient(), count: 1, remember: false },
        carol: { client: new CookieClient(), count: 2, remember: false },
      };
      for (const [name, u] of Object.entries(users)) {
        const login = await u.client.get(
          `${before.url}/login?user=${name}${u.remember ? '&remember=1' : ''}`,
        );
        assert.equal(login.body, `hello ${name}`);
        for (let i = 0; i < u.count; i++) await u.client.get(`${before.url}/count`);
      }
      const visitor = new CookieClient(); // never logged in, counted twice
      await visitor.get(`${before.url}/count`);
      assert.equal((await visitor.get(`${before.url}/count`)).body, '2');
      const leaver = new CookieClient(); // logged in, then out
      await leaver.get(`${before.url}/login?user=dave`);
      const leaverCookie = leaver.cookie as string;
      await leaver.get(`${before.url}/logout`);
      leaver.cookie = leaverCookie; // the browser still sends it
      const aliceOld = users.alice.client.cookie as string;
      assert.match(aliceOld, /^connect\.sid=s%3A/);
      const oldSids = [...Object.values(users).map((u) => u.client), visitor].map((c) =>
        oldSid(c.cookie as string),
      );
      for (const sid of oldSids)
        assert.ok(await getOld(made.store, sid), 'stored by express-session');
      await before.close();

      // After: websession on the same store and secret, moving sessions as users come back.
      const store = connectStore(made.store, { kind: kind.name });
      const migrate = expressSessionMigration({ store: made.store, secret: SECRET });
      const afterApp = await listen(
        websessionApp(
          websession(store, {
            cookie_name: 'connect.sid',
            secret_key: SECRET_KEY,
            cleanup_interval: 0,
            migrate,
          }),
        ),
      );
      after(() => afterApp.close());
      for (const [name, u] of Object.entries(users)) {
        const who = await u.client.get(`${afterApp.url}/whoami`);
        assert.equal(who.body, name, `${name} is still logged in`);
        const maxAge = /Max-Age=(\d+)/i.exec(who.setCookies[0] ?? '')?.[1];
        assert.equal(
          maxAge,
          u.remember ? String(REMEMBER_MS / 1000) : undefined,
          `${name}: "remember me" carried over as the cookie's own lifetime, a browser-session cookie otherwise`,
        );
        assert.notEqual(u.client.cookie, undefined);
        assert.doesNotMatch(u.client.cookie as string, /s%3A/, 'our cookie replaced the old one');
        const count = await u.client.get(`${afterApp.url}/count`);
        assert.equal(count.body, String(u.count + 1), `${name}'s counter went on`);
      }
      assert.equal((await visitor.get(`${afterApp.url}/count`)).body, '3');
      for (const sid of oldSids)
        assert.equal(await getOld(made.store, sid), undefined, 'the old record is gone');
      assert.equal((await leaver.get(`${afterApp.url}/whoami`)).body, 'anonymous');
      assert.equal(migrate.progress().moved, 4);

      // The moved session is an ordinary websession record (our codec, our hashed key).
      const id = decodeURIComponent((users.alice.client.cookie as string).split('=')[1] as string);
      const record = await store.get(storeKey(id.split('.')[0] as string));
      assert.equal(decodePayload(record?.data ?? '').data.user, 'alice');

      // The old cookie, replayed after the move, names the session it moved into: never a second.
      const replay = new CookieClient();
      replay.cookie = aliceOld;
      assert.equal((await replay.get(`${afterApp.url}/whoami`)).body, 'alice');
      assert.equal(replay.cookie, users.alice.client.cookie, 'the same session, the same cookie');
    });
  });
}
