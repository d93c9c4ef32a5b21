// websession/express-session under the libraries that build on express-session the most:
// Passport (log in with a new session id, log out, the user kept between requests) and
// connect-flash (a message read once on the next request).
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import flash from 'connect-flash';
import express from 'express';
import passport from 'passport';
import { Strategy as LocalStrategy } from 'passport-local';
import { MemoryStore } from 'websession';
import session from 'websession/express-session';

interface User {
  id: string;
  name: string;
}
const USERS: User[] = [{ id: '1', name: 'alice' }];

function app() {
  const auth = new passport.Passport();
  auth.use(
    new LocalStrategy((username, password, done) => {
      const user = USERS.find((u) => u.name === username);
      if (user && password === 'secret') done(null, user);
      else done(null, false, { message: 'wrong name or password' });
    }),
  );
  auth.serializeUser((user, done) => done(null, (user as User).id));
  auth.deserializeUser((id: string, done) => done(null, USERS.find((u) => u.id === id) ?? false));
  const a = express();
  a.use(express.urlencoded({ extended: false }));
  a.use(
    session({
      secret: 'keyboard cat',
      resave: false,
      saveUninitialized: false,
      store: new MemoryStore(),
      websession: { cleanup_interval: 0 },
    }),
  );
  a.use(flash());
  a.use(auth.session());
  a.post(
    '/login',
    auth.authenticate('local', {
      successRedirect: '/me',
      failureRedirect: '/',
      failureFlash: true,
    }),
  );
  a.post('/logout', (req, res, next) => {
    req.logout((err) => (err ? next(err) : res.redirect('/')));
  });
  a.get('/me', (req, res) => {
    res.send(req.user ? `user ${(req.user as User).name}` : 'nobody');
  });
  a.get('/', (req, res) => {
    res.send(`flash: ${req.flash('error').join(',')}`);
  });
  return a;
}

/** A client that keeps the session cookie, as a browser does. */
function client(base: string) {
  let cookie: string | undefined;
  return {
    cookie: () => cookie,
    async request(path: string, init: RequestInit = {}) {
      const res = await fetch(base + path, {
        ...init,
        redirect: 'manual',
        headers: { ...(init.headers as Record<string, string>), ...(cookie ? { cookie } : {}) },
      });
      const set = res.headers.get('set-cookie');
      if (set) cookie = set.split(';')[0];
      return { status: res.status, location: res.headers.get('location'), text: await res.text() };
    },
  };
}

const form = (body: Record<string, string>): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(body).toString(),
});

describe('websession/express-session with Passport and connect-flash', () => {
  let server: import('node:http').Server;
  let base: string;
  before(async () => {
    server = app().listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());

  it('logs in with a new session id, keeps the user, logs out', async () => {
    const browser = client(base);
    // A session before logging in (a flash message from a failed attempt).
    const failed = await browser.request('/login', form({ username: 'alice', password: 'nope' }));
    assert.equal(failed.status, 302);
    assert.equal(failed.location, '/');
    const before = browser.cookie();
    assert.ok(before, 'the failed attempt left a session for its flash message');
    assert.equal((await browser.request('/')).text, 'flash: wrong name or password');
    assert.equal((await browser.request('/')).text, 'flash: ', 'a flash message is read once');

    const login = await browser.request('/login', form({ username: 'alice', password: 'secret' }));
    assert.equal(login.status, 302);
    assert.equal(login.location, '/me');
    assert.notEqual(browser.cookie(), before, 'logging in regenerates the session id');
    assert.equal((await browser.request('/me')).text, 'user alice');
    assert.equal((await browser.request('/me')).text, 'user alice');

    const stolen = client(base);
    assert.equal((await stolen.request('/me')).text, 'nobody');

    const loggedIn = browser.cookie();
    const logout = await browser.request('/logout', { method: 'POST' });
    assert.equal(logout.status, 302);
    assert.equal((await browser.request('/me')).text, 'nobody');
    // The session that held the login is gone: its cookie, replayed, finds nobody.
    const replay = await fetch(`${base}/me`, { headers: { cookie: loggedIn! } });
    assert.equal(await replay.text(), 'nobody');
  });
});
