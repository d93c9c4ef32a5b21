// CookieStore: the session sealed (AES-256-GCM, HKDF-derived key) in the cookie itself.
//
// The store contract suite (test/helpers/store-contract.ts) does not apply: it checks records
// kept by the store (get after set, create-only, update's lock, touch, cleanup, keys), and a
// CookieStore keeps none: it is a sealer, not a Store, with no record methods (checked below). What the contract promises of a store is checked here through the manager
// instead: a session written is read back with its data, codec types and times; unchanged
// sessions are not rewritten until the touch interval; a killed one is gone (for this browser).
import assert from 'node:assert/strict';
import crypto, { createCipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { syncBuiltinESMExports } from 'node:module';
import { Writable } from 'node:stream';
import { describe, it, mock, type TestContext } from 'node:test';
import {
  ConfigError,
  CookieStore,
  encodePayload,
  MAX_COOKIE_BYTES,
  type SessionConfig,
  SessionExpiredError,
  SessionManager,
  SessionTooLargeError,
  storeFromUrl,
  UnsupportedError,
} from 'websession';
import { main } from '../../src/cli.js';

const KEY = 'k'.repeat(32);
const OLD_KEY = 'o'.repeat(32);
const OTHER_KEY = 'x'.repeat(32);
const NAME = 'webpy_session_id';

function managerWith(config: SessionConfig = {}, store: CookieStore = new CookieStore()) {
  return new SessionManager(store, { secret_key: KEY, cleanup_interval: 0, ...config });
}

/** The `name=value` of a Set-Cookie value. */
function pair(setCookie: string | undefined): string {
  assert.ok(setCookie, 'a Set-Cookie was expected');
  return setCookie.split(';')[0] as string;
}

function cookieValue(setCookie: string | undefined): string {
  const p = pair(setCookie);
  return p.slice(p.indexOf('=') + 1);
}

/** A login: a new session with `data`, its `name=value` cookie. */
async function login(manager: SessionManager, data: Record<string, unknown> = { user: 'ada' }) {
  const s = await manager.load({});
  for (const [k, v] of Object.entries(data)) s.set(k, v);
  return pair(await manager.commit(s));
}

describe('CookieStore through the manager', () => {
  it('is a sealer, not a record store: it has no record methods', () => {
    const store = new CookieStore({ secret_keys: KEY });
    for (const method of ['get', 'set', 'create', 'update', 'touch', 'delete', 'cleanup', 'keys'])
      assert.equal(method in store, false, method);
  });

  it('a session written comes back with its data (Date, Map, Set, BigInt)', async () => {
    const manager = managerWith();
    const when = new Date('2026-01-02T03:04:05Z');
    const user = 'ada.lovelace@analytical.example';
    const data = { user, when, m: new Map([['a', 1]]), s: new Set([1, 2]), n: 10n ** 20n };
    const cookie = await login(manager, data);
    assert.match(cookie, /^webpy_session_id=[\w-]+$/);
    // A signed-only cookie would show the data as text or as base64url: neither is there. (A name
    // as short as 'ada' turns up in random base64url about once in 2,000 cookies.)
    const decoded = Buffer.from(cookieValue(`${cookie};`), 'base64url').toString('latin1');
    assert.ok(
      !cookie.includes(user) && !decoded.includes(user),
      'the data is encrypted, not only signed',
    );
    const s = await manager.load({ cookie });
    assert.equal(s.isNew, false);
    assert.deepEqual(s.data, data);
    assert.equal(await manager.commit(s), undefined, 'unchanged: no new cookie');
  });

  it('tampered, truncated, re-ordered, foreign-key and moved cookies open as absent: no exception', async () => {
    const manager = managerWith();
    const value = cookieValue(`${await login(manager)};`);
    const flip = (v: string, i: number) =>
      v.slice(0, i) + (v[i] === 'A' ? 'B' : 'A') + v.slice(i + 1);
    const half = Math.floor(value.length / 2);
    const foreign = managerWith({ secret_key: OTHER_KEY });
    const moved = managerWith({ cookie_name: 'other' });
    const bad: [string, string][] = [
      ['tampered (IV)', flip(value, 3)],
      ['tampered (ciphertext)', flip(value, half)],
      ['tampered (tag)', flip(value, value.length - 2)],
      ['truncated', value.slice(0, -4)],
      ['truncated to its head', value.slice(0, 20)],
      ['re-ordered (halves swapped)', value.slice(half) + value.slice(0, half)],
      ['re-ordered (IV and body)', value.slice(0, 2) + value.slice(18) + value.slice(2, 18)],
      ['foreign key', cookieValue(await login(foreign))],
      ['sealed for another cookie name', cookieValue(await login(moved))],
      ['empty', ''],
      ['not base64url', '%%%%'],
      ['3000 characters', 'a'.repeat(3000)],
    ];
    for (const [what, v] of bad) {
      const s = await manager.load({ cookie: `${NAME}=${v}` });
      assert.equal(s.isNew, true, what);
      assert.deepEqual(s.data, {}, what);
      assert.equal(await manager.commit(s), undefined, `${what}: no cookie sent`);
    }
  });

  it('a cookie sealed with an old key opens and comes back sealed with the new one', async () => {
    const before = managerWith({ secret_key: OLD_KEY });
    const cookie = await login(before, { user: 'ada' });
    const rotated = managerWith({ secret_key: [KEY, OLD_KEY] });
    const s = await rotated.load({ cookie });
    assert.equal(s.user, 'ada');
    const resealed = pair(await rotated.commit(s));
    assert.notEqual(resealed, cookie);
    const onlyNew = managerWith({ secret_key: KEY });
    assert.equal((await onlyNew.load({ cookie: resealed })).user, 'ada', 'sealed with the newest');
    assert.equal((await onlyNew.load({ cookie })).isNew, true, 'the old seal needs the old key');
    // Once re-sealed, an unchanged request sends nothing again.
    const again = await rotated.load({ cookie: resealed });
    assert.equal(await rotated.commit(again), undefined);
  });

  it('an expired seal (idle or absolute) is absent even when the browser still sends it', async () => {
    const store = new CookieStore({ secret_keys: KEY });
    const manager = new SessionManager(store, { timeout: 60, lifetime: 3600, cleanup_interval: 0 });
    const now = Date.now();
    const text = (created: number) =>
      encodePayload({ v: 1, meta: { created }, data: { user: 'ada' } });
    const idle = `${NAME}=${store.seal(text(now - 120_000), now - 61_000, NAME)}`;
    const absolute = `${NAME}=${store.seal(text(now - 3_601_000), now - 1000, NAME)}`;
    const live = `${NAME}=${store.seal(text(now - 3_000_000), now - 30_000, NAME)}`;
    assert.equal((await manager.load({ cookie: live })).user, 'ada');
    for (const cookie of [idle, absolute]) {
      const s = await manager.load({ cookie });
      assert.equal(s.isNew, true);
      assert.equal(s.user, undefined);
    }
    const strict = new SessionManager(store, {
      timeout: 60,
      lifetime: 3600,
      ignore_expiry: false,
      cleanup_interval: 0,
    });
    for (const cookie of [idle, absolute]) {
      await assert.rejects(
        async () => strict.load({ cookie }),
        (err: unknown) => {
          assert.ok(err instanceof SessionExpiredError);
          assert.match(err.setCookie ?? '', /^webpy_session_id=;.*Max-Age=0/i);
          return true;
        },
      );
    }
  });

  it('one cookie of 4,096 bytes (name and value) passes; 4,097 fails at commit with SessionTooLargeError', async () => {
    // The seal's length follows the data; the cookie name then fills the rest byte by byte.
    const total = async (name: string, size: number): Promise<number> => {
      const m = managerWith({ cookie_name: name });
      const s = await m.load({});
      s.set('x', 'a'.repeat(size));
      try {
        return pair(await m.commit(s)).length - 1; // without the '='
      } catch (err) {
        assert.ok(err instanceof SessionTooLargeError);
        return err.size;
      }
    };
    let size = 2900;
    while ((await total('s', size)) < MAX_COOKIE_BYTES - 40) size += 10;
    const base = await total('s', size);
    assert.ok(base <= MAX_COOKIE_BYTES);
    const fits = 's'.repeat(1 + MAX_COOKIE_BYTES - base);
    const m = managerWith({ cookie_name: fits });
    const s = await m.load({});
    s.set('x', 'a'.repeat(size));
    const setCookie = await m.commit(s);
    assert.equal(pair(setCookie).length - 1, 4096);
    assert.equal((await m.load({ cookie: pair(setCookie) })).x, 'a'.repeat(size));

    const over = managerWith({ cookie_name: `${fits}s` });
    const s2 = await over.load({});
    s2.set('x', 'a'.repeat(size));
    await assert.rejects(
      async () => over.commit(s2),
      (err: unknown) => {
        assert.ok(err instanceof SessionTooLargeError);
        assert.equal(err.size, 4097);
        assert.equal(err.limit, 4096);
        assert.match(err.message, /4097 bytes.*4096/);
        return true;
      },
    );
  });

  it('writes only when the data changed or the access time is due (touch_interval)', async () => {
    const store = new CookieStore({ secret_keys: KEY });
    const manager = new SessionManager(store, {
      timeout: 600,
      touch_interval: 60,
      cleanup_interval: 0,
    });
    const now = Date.now();
    const text = encodePayload({ v: 1, meta: { created: now }, data: { n: 1 } });
    const fresh = `${NAME}=${store.seal(text, now - 30_000, NAME)}`;
    const due = `${NAME}=${store.seal(text, now - 61_000, NAME)}`;
    assert.equal(await manager.commit(await manager.load({ cookie: fresh })), undefined);
    const touched = pair(await manager.commit(await manager.load({ cookie: due })));
    const opened = store.open(touched.slice(NAME.length + 1), NAME);
    assert.ok(opened && opened.atime >= now, 'the access time was refreshed');
    const s = await manager.load({ cookie: fresh });
    s.n = 2;
    const changed = pair(await manager.commit(s));
    assert.equal((await manager.load({ cookie: changed })).n, 2);
  });

  it('update(), regenerate(), flash and kill() within one request', async () => {
    const manager = managerWith();
    const cookie = await login(manager, { count: 1 });
    const s = await manager.load({ cookie });
    const updated = await s.update((d) => {
      d.count = (d.count as number) + 1;
    });
    assert.deepEqual(updated, { count: 2 });
    s.flash('note', 'hi');
    const next = pair(await manager.commit(s));
    const s2 = await manager.load({ cookie: next });
    assert.equal(s2.count, 2);
    assert.deepEqual(s2.flashes('note'), ['hi']);
    s2.regenerate();
    const regenerated = pair(await manager.commit(s2));
    const s3 = await manager.load({ cookie: regenerated });
    assert.equal(s3.count, 2);
    s3.kill();
    assert.match((await manager.commit(s3)) ?? '', /^webpy_session_id=;.*Max-Age=0/i);
  });

  it('concurrent requests of one browser: each sends its own cookie, the last response wins', async () => {
    const manager = managerWith();
    const cookie = await login(manager, { a: 0, b: 0 });
    const one = await manager.load({ cookie });
    const two = await manager.load({ cookie });
    one.a = 1;
    two.b = 1;
    await manager.commit(one);
    const last = pair(await manager.commit(two));
    assert.deepEqual((await manager.load({ cookie: last })).data, { a: 0, b: 1 });
  });

  it('two session cookies (one planted): the one that opens is used whatever their order', async () => {
    const manager = managerWith();
    const real = await login(manager);
    const planted = `${NAME}=${'ab'.repeat(40)}`;
    for (const cookie of [`${planted}; ${real}`, `${real}; ${planted}`])
      assert.equal((await manager.load({ cookie })).user, 'ada', cookie);
  });

  it('refuses what needs a server: user sessions, log out everywhere, revoking by key', async () => {
    const manager = managerWith();
    const refused = (err: unknown) => {
      assert.ok(err instanceof UnsupportedError);
      assert.match(err.message, /CookieStore.*server store/);
      return true;
    };
    await assert.rejects(manager.listUserSessions('ada'), refused);
    await assert.rejects(manager.revokeUserSessions('ada'), refused);
    await assert.rejects(manager.revokeSession('ab'.repeat(32)), refused);
    assert.equal(await manager.cleanup(), 0);
  });

  it('needs a secret key: from the config or its own options', () => {
    assert.throws(() => new SessionManager(new CookieStore(), {}), ConfigError);
    assert.throws(() => new CookieStore({ secret_keys: 'short' }), ConfigError);
    const own = new SessionManager(new CookieStore({ secret_keys: KEY }), { cleanup_interval: 0 });
    assert.ok(own);
  });

  it('one store given to two managers: the same secret is fine, a different one is refused', async () => {
    const store = new CookieStore();
    const first = managerWith({}, store);
    const cookie = await login(first);
    assert.ok(managerWith({}, store), 'the same secret_key: one key, no conflict');
    assert.throws(
      () => managerWith({ secret_key: OTHER_KEY }, store),
      (e: unknown) =>
        e instanceof ConfigError && /another SessionManager.*its own CookieStore/.test(e.message),
    );
    assert.throws(() => managerWith({ secret_key: [KEY, OLD_KEY] }, store), ConfigError);
    // The first manager still seals and opens with its own key.
    assert.equal((await first.load({ cookie })).user, 'ada');
    // A store given its own keys serves managers with any (or no) secret_key, as documented.
    const own = new CookieStore({ secret_keys: KEY });
    managerWith({}, own);
    assert.ok(managerWith({ secret_key: OTHER_KEY }, own));
  });

  it('cookie: in storeFromUrl, and the CLI refuses it with one line', async () => {
    assert.ok((await storeFromUrl('cookie:')) instanceof CookieStore);
    await assert.rejects(storeFromUrl('cookie:./x'), ConfigError);
    await assert.rejects(storeFromUrl('cookie:?max=1'), ConfigError);
    const run = async (argv: string[]) => {
      let err = '';
      const sink = new Writable({ write: (_c, _e, cb) => cb() });
      const errs = new Writable({
        write: (chunk, _e, cb) => {
          err += String(chunk);
          cb();
        },
      });
      const code = await main(argv, { out: sink, err: errs });
      return { code, err };
    };
    const migrate = await run(['migrate', '--from', 'memory:', '--to', 'cookie:']);
    assert.equal(migrate.code, 2);
    assert.match(migrate.err, /^websession: cannot migrate into cookie:.*\n$/);
    for (const argv of [
      ['stats', '--store', 'cookie:'],
      ['migrate', '--from', 'cookie:', '--to', 'memory:'],
    ]) {
      const r = await run(argv);
      assert.equal(r.code, 2, argv.join(' '));
      assert.match(r.err, /^websession: cookie: \(CookieStore\).*\n$/);
    }
  });
});

/** Counts node:crypto decryptions from here to the end of test `t`. */
function countDecryptions(t: TestContext) {
  const decipher = mock.method(crypto, 'createDecipheriv');
  syncBuiltinESMExports(); // the named import in the store sees the counting one
  t.after(() => {
    decipher.mock.restore();
    syncBuiltinESMExports();
  });
  return decipher;
}

describe('CookieStore: the values it sealed or opened lately open again without decrypting', () => {
  const TEXT = encodePayload({ v: 1, meta: { created: 1 }, data: { count: 1 } });

  it('only the very same string, only for the cookie name it was sealed for; other spellings of its bytes do not open', () => {
    const store = new CookieStore({ secret_keys: KEY });
    const value = store.seal(TEXT, 1000, NAME);
    const opened = { data: TEXT, atime: 1000, stale: false };
    assert.deepEqual(store.open(value, NAME), opened);
    assert.deepEqual(new CookieStore({ secret_keys: KEY }).open(value, NAME), opened, 'decrypted');
    assert.equal(store.open(value, 'other'), undefined, 'sealed for another cookie name');
    const flipped = value.slice(0, -2) + (value.at(-2) === 'A' ? 'B' : 'A') + value.at(-1);
    assert.equal(store.open(flipped, NAME), undefined, 'tampered');
    assert.equal(store.open(`${value}A`, NAME), undefined, 'spare trailing character');
    assert.equal(store.open(`${value}==`, NAME), undefined, 'padded');
    const standard = `${value}-_`.replace('-', '+').replace('_', '/').slice(0, value.length);
    if (standard !== value) assert.equal(store.open(standard, NAME), undefined, 'base64 alphabet');
    assert.equal(new CookieStore({ secret_keys: OTHER_KEY }).open(value, NAME), undefined);
  });

  it('browsers sending back the value they were given last, many at once, cost no decryption per request', (t) => {
    const decipher = countDecryptions(t);
    const store = new CookieStore({ secret_keys: KEY });
    // Every seal of a process shares its subkey salt: one browser's seal must not take the
    // place of the value another browser holds.
    const latest = Array.from({ length: 20 }, (_, i) => store.seal(TEXT, 1000 + i, NAME));
    for (let round = 0; round < 15; round++) {
      for (let b = 0; b < latest.length; b++) {
        assert.equal(store.open(latest[b] as string, NAME)?.data, TEXT);
        latest[b] = store.seal(TEXT, 2000 + round, NAME);
      }
    }
    assert.equal(decipher.mock.callCount(), 0, 'decryptions in 300 requests of 20 browsers');
    // A client that keeps sending its first value (it ignores Set-Cookie) opens from memory too.
    const first = latest[0] as string;
    for (let i = 0; i < 300; i++) {
      assert.equal(store.open(first, NAME)?.data, TEXT);
      store.seal(TEXT, 5000 + i, NAME);
    }
    assert.equal(decipher.mock.callCount(), 0, 'decryptions in 300 more');
    assert.equal(new CookieStore({ secret_keys: KEY }).open(first, NAME)?.data, TEXT);
    assert.ok(decipher.mock.callCount() > 0, 'counted: another store decrypts');
  });

  it('keeps a bounded number: an older value still opens, by decryption', (t) => {
    const decipher = countDecryptions(t);
    const store = new CookieStore({ secret_keys: KEY });
    const first = store.seal(TEXT, 1000, NAME);
    for (let i = 0; i < 5000; i++) store.seal(TEXT, 2000 + i, NAME);
    assert.deepEqual(store.open(first, NAME), { data: TEXT, atime: 1000, stale: false });
    assert.equal(decipher.mock.callCount(), 1, 'pushed out by 5,000 newer seals: decrypted');
    assert.deepEqual(store.open(first, NAME), { data: TEXT, atime: 1000, stale: false });
    assert.equal(decipher.mock.callCount(), 1, 'then kept again');
  });

  it('a value of an older key stays stale when it opens again', () => {
    const value = new CookieStore({ secret_keys: OLD_KEY }).seal(TEXT, 1000, NAME);
    const rotated = new CookieStore({ secret_keys: [KEY, OLD_KEY] });
    assert.equal(rotated.open(value, NAME)?.stale, true);
    assert.equal(rotated.open(value, NAME)?.stale, true);
  });
});

describe('CookieStore: a subkey per process (NIST: at most 2^32 seals per key with random IVs)', () => {
  const salt = (value: string) => Buffer.from(value, 'base64url').subarray(1, 17).toString('hex');

  it('seals under a subkey whose salt rides in the cookie: one per store, any store with the secret opens it', () => {
    const one = new CookieStore({ secret_keys: KEY });
    const two = new CookieStore({ secret_keys: KEY });
    const a = one.seal('a', 1, NAME);
    const b = one.seal('b', 2, NAME);
    const c = two.seal('c', 3, NAME);
    assert.equal(Buffer.from(a, 'base64url')[0], 2, 'format version 2');
    assert.equal(salt(a), salt(b), 'one subkey for a process');
    assert.notEqual(salt(a), salt(c), 'another process, another subkey');
    assert.equal(one.sealsUnderSubkey, 2);
    assert.deepEqual(two.open(a, NAME), { data: 'a', atime: 1, stale: false });
    assert.deepEqual(one.open(c, NAME), { data: 'c', atime: 3, stale: false });
    assert.equal(new CookieStore({ secret_keys: OTHER_KEY }).open(a, NAME), undefined);
    // The salt is authenticated through the subkey: another salt does not open.
    const raw = Buffer.from(a, 'base64url');
    raw[1] = (raw[1] as number) ^ 1;
    assert.equal(
      new CookieStore({ secret_keys: KEY }).open(raw.toString('base64url'), NAME),
      undefined,
    );
  });

  it('a cookie of the earlier format (one key, no salt) still opens, stale, and comes back as a subkey seal', async () => {
    // Format 1 as it was written: version, IV, AES-256-GCM of (atime, text) under the HKDF key, tag.
    const key = Buffer.from(
      hkdfSync('sha256', KEY, '', 'websession cookie store v1 aes-256-gcm', 32),
    );
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from(`1:${NAME}`));
    const text = encodePayload({ v: 1, meta: { created: Date.now() }, data: { user: 'ada' } });
    const plain = Buffer.alloc(8 + Buffer.byteLength(text));
    plain.writeDoubleBE(Date.now(), 0);
    plain.write(text, 8);
    const sealed = Buffer.concat([cipher.update(plain), cipher.final()]);
    const v1 = Buffer.concat([Buffer.from([1]), iv, sealed, cipher.getAuthTag()]).toString(
      'base64url',
    );
    const store = new CookieStore({ secret_keys: KEY });
    assert.equal(store.open(v1, NAME)?.stale, true);
    const manager = managerWith({}, store);
    const s = await manager.load({ cookie: `${NAME}=${v1}` });
    assert.equal(s.user, 'ada');
    const resealed = cookieValue(await manager.commit(s));
    assert.equal(Buffer.from(resealed, 'base64url')[0], 2);
  });
});
