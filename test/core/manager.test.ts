import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ConfigError,
  generateSessionId,
  IdCache,
  MemoryStore,
  type SessionConfig,
  SessionExpiredError,
  SessionManager,
  SessionTooLargeError,
  StoreUnavailableError,
  signId,
  storeKey,
} from 'websession';
import { cookieOf, SpyStore } from '../helpers/spy-store.js';

type Data = {
  user: string;
  n: number;
  a: number;
  b: number;
  nested: { list: number[] };
  blob: string;
};

function setup(config: SessionConfig<Data> = {}) {
  const memory = new MemoryStore();
  const store = new SpyStore(memory);
  const manager = new SessionManager<Data>(store, { cleanup_interval: 0, ...config });
  return { memory, store, manager };
}

/** Creates a stored session with `data` and returns its Cookie header. */
async function seed(manager: SessionManager<Data>, data: Partial<Data>): Promise<string> {
  const s = await manager.load({});
  Object.assign(s, data);
  return cookieOf(await manager.commit(s));
}

describe('SessionManager', () => {
  it('gives a visitor whose session got no data no cookie and no record', async () => {
    const { manager, store, memory } = setup();
    const s = await manager.load({});
    assert.equal(s.get('user', 'nobody'), 'nobody');
    assert.equal(await manager.commit(s), undefined);
    assert.equal(memory.size, 0);
    assert.equal(store.count(), 0);
  });

  it('stores a session that got data and sends a secure-by-default cookie', async () => {
    const { manager, memory } = setup();
    const s = await manager.load({});
    s.user = 'ann';
    const setCookie = await manager.commit(s);
    assert.match(
      setCookie ?? '',
      /^webpy_session_id=[0-9a-f]{64}; Path=\/; HttpOnly; SameSite=Lax$/,
    );
    assert.equal(memory.size, 1);
    const https = await manager.load({ secure: true });
    https.user = 'bob';
    assert.match((await manager.commit(https, { secure: true })) ?? '', /; Secure/);
  });

  it('loads data back, and does not rewrite an unchanged session', async () => {
    const { manager, store } = setup();
    const cookie = await seed(manager, { user: 'ann', nested: { list: [1] } });
    store.reset();
    const s = await manager.load({ cookie });
    assert.equal(s.user, 'ann');
    assert.deepEqual(s.nested, { list: [1] });
    assert.equal(s.isNew, false);
    assert.equal(await manager.commit(s), undefined, 'no Set-Cookie for an unchanged session');
    assert.deepEqual(
      store.calls.map((c) => c.op),
      ['get'],
      'one read, no write, no touch (touched recently)',
    );
  });

  it('writes only when a written key ends with another value than it had, over several keys', async () => {
    const { manager, store, memory } = setup();
    const cookie = await seed(manager, { user: 'ann', a: 1, b: 2 });
    // Each key written, then set back (or deleted and set back): nothing to write.
    store.reset();
    const back = await manager.load({ cookie });
    back.a = 5;
    back.user = 'bob';
    back.n = 7;
    back.a = 1;
    back.user = 'ann';
    delete back.n;
    delete back.b;
    back.b = 2;
    assert.equal(await manager.commit(back), undefined);
    assert.deepEqual(
      store.calls.map((c) => c.op),
      ['get'],
      'keys set back to what they held: no write',
    );
    // The first key set back, a later one changed: written, with every key as it ends.
    const later = await manager.load({ cookie });
    later.a = 9;
    later.user = 'bob';
    later.a = 1;
    await manager.commit(later);
    const saved = await manager.load({ cookie });
    assert.deepEqual([saved.user, saved.a, saved.b], ['bob', 1, 2]);
    // The first key changed, later ones set back: written.
    const first = await manager.load({ cookie });
    first.b = 3;
    first.a = 2;
    first.a = 1;
    await manager.commit(first);
    assert.equal((await manager.load({ cookie })).b, 3);
    assert.equal(memory.size, 1);
  });

  it('detects nested mutation as a change', async () => {
    const { manager } = setup();
    const cookie = await seed(manager, { nested: { list: [1] } });
    const s = await manager.load({ cookie });
    s.nested?.list.push(2);
    await manager.commit(s);
    assert.deepEqual((await manager.load({ cookie })).nested, { list: [1, 2] });
  });

  it('refreshes the access time of an unchanged session, throttled', async () => {
    const { manager, store, memory } = setup({ touch_interval: 60 });
    const cookie = await seed(manager, { user: 'ann' });
    const key = storeKey(cookie.split('=')[1]!);
    const old = Date.now() - 120_000;
    await memory.touch(key, old);
    store.reset();
    await manager.commit(await manager.load({ cookie }));
    assert.equal(store.count('touch'), 1);
    assert.ok(((await memory.get(key))?.atime ?? 0) > old + 60_000);
    store.reset();
    await manager.commit(await manager.load({ cookie }));
    assert.equal(store.count('touch'), 0, 'touched again within touch_interval');
  });

  it('kill deletes the record and expires the cookie', async () => {
    const { manager, memory } = setup();
    const cookie = await seed(manager, { user: 'ann' });
    const s = await manager.load({ cookie });
    s.kill();
    const setCookie = await manager.commit(s);
    assert.match(
      setCookie ?? '',
      /^webpy_session_id=; Max-Age=0; Path=\/; Expires=Thu, 01 Jan 1970/,
    );
    assert.equal(memory.size, 0);
    const again = await manager.load({ cookie });
    assert.equal(again.isNew, true);
    assert.equal(again.user, undefined);
  });

  it('cookie_max_age sends Max-Age and the same moment as Expires, on every answer', async () => {
    const { manager } = setup({ cookie_max_age: 3600 });
    const s = await manager.load({});
    s.user = 'ann';
    const setCookie = (await manager.commit(s)) ?? '';
    assert.match(setCookie, /; Max-Age=3600(;|$)/);
    const expires = /; Expires=([^;]+)/.exec(setCookie)?.[1];
    assert.ok(expires, setCookie);
    const offset = Date.parse(expires) - Date.now();
    assert.ok(Math.abs(offset - 3_600_000) < 60_000, `Expires is an hour ahead: ${expires}`);
    // Sent again on later answers, so the hour counts from the last visit.
    const again = await manager.commit(await manager.load({ cookie: cookieOf(setCookie) }));
    assert.match(again ?? '', /; Max-Age=3600;.*Expires=/);
    // Without it: a browser-session cookie, no Max-Age, no Expires.
    const plain = setup();
    const p = await plain.manager.load({});
    p.user = 'bob';
    assert.doesNotMatch((await plain.manager.commit(p)) ?? '', /Max-Age|Expires/);
  });

  it('cleans expired sessions up in the background, never inside a request', async () => {
    const { manager, memory, store } = setup({ cleanup_interval: 1, timeout: 60 });
    try {
      const stale = await seed(manager, { user: 'old' });
      const fresh = await seed(manager, { user: 'new' });
      await memory.touch(storeKey(stale.split('=')[1]!), Date.now() - 120_000);
      store.reset();
      await manager.commit(await manager.load({ cookie: fresh }));
      assert.equal(store.count('cleanup'), 0, 'no cleanup on the request path');
      // Until the pass has run (however busy the machine): the test's timeout is the limit.
      while (memory.size > 1) await new Promise((r) => setTimeout(r, 50));
      assert.ok(store.count('cleanup') >= 1, 'a background pass ran');
      assert.equal(memory.size, 1, 'the expired session is gone');
      assert.ok(await memory.get(storeKey(fresh.split('=')[1]!)), 'the live one stays');
    } finally {
      await manager.close();
    }
  });

  it('does not parse a Cookie header over 16 KiB, even one naming a stored session', async () => {
    const { manager, store } = setup();
    const cookie = await seed(manager, { user: 'ann' });
    const padded = (n: number) => `${cookie}; pad=${'x'.repeat(n - cookie.length - 6)}`;
    store.reset();
    const atLimit = await manager.load({ cookie: padded(16_384) });
    assert.equal(atLimit.user, 'ann', 'a header of exactly 16 KiB is read');
    store.reset();
    const over = await manager.load({ cookie: padded(16_385) });
    assert.equal(over.isNew, true, 'one byte more: no session');
    assert.equal(store.count(), 0, 'and no store call');
  });

  it('never adopts an id the client chose: an unknown id gets a fresh one', async () => {
    const { manager } = setup();
    const chosen = generateSessionId();
    const s = await manager.load({ cookie: `webpy_session_id=${chosen}` });
    s.user = 'mallory';
    const setCookie = await manager.commit(s);
    assert.notEqual(cookieOf(setCookie).split('=')[1], chosen);
    assert.notEqual(s.id, chosen);
  });

  it('treats hostile cookies as no session without calling the store', async () => {
    const { manager, store } = setup();
    const hostile = [
      'webpy_session_id=../../etc/passwd',
      'webpy_session_id=not-hex-at-all',
      'webpy_session_id=',
      `webpy_session_id=${'a'.repeat(3000)}`,
      `webpy_session_id=${'A'.repeat(64)}`,
      'webpy_session_id=%ZZ%',
      '=;;;=webpy_session_id;\u0000\u00ff',
      `webpy_session_id="${generateSessionId()}`,
      `${'x'.repeat(20_000)}; webpy_session_id=${generateSessionId()}`,
    ];
    for (const cookie of hostile) {
      const s = await manager.load({ cookie });
      assert.equal(s.isNew, true, cookie.slice(0, 40));
      assert.equal(await manager.commit(s), undefined);
    }
    assert.equal(store.count(), 0);
  });

  describe('expiry (web.py semantics)', () => {
    it('an idle session past timeout becomes a new one when ignore_expiry is true', async () => {
      const { manager, memory } = setup({ timeout: 60 });
      const cookie = await seed(manager, { user: 'ann' });
      await memory.touch(storeKey(cookie.split('=')[1]!), Date.now() - 61_000);
      const s = await manager.load({ cookie });
      assert.equal(s.isNew, true);
      assert.equal(s.user, undefined);
    });

    it('answers expired_message when ignore_expiry is false', async () => {
      const { manager, memory } = setup({
        timeout: 60,
        ignore_expiry: false,
        expired_message: 'Gone!',
      });
      const cookie = await seed(manager, { user: 'ann' });
      await memory.touch(storeKey(cookie.split('=')[1]!), Date.now() - 61_000);
      await assert.rejects(
        async () => manager.load({ cookie }),
        (err: unknown) => {
          assert.ok(err instanceof SessionExpiredError);
          assert.equal(err.body, 'Gone!');
          assert.match(err.setCookie ?? '', /Max-Age=0/);
          return true;
        },
      );
    });

    it('enforces an absolute lifetime whatever the activity', async () => {
      const { manager } = setup({ lifetime: 1 });
      const cookie = await seed(manager, { user: 'ann' });
      await new Promise((r) => setTimeout(r, 1100));
      assert.equal((await manager.load({ cookie })).isNew, true);
    });

    it('expires a session whose IP changed when ignore_change_ip is false', async () => {
      const { manager } = setup({ ignore_change_ip: false, ignore_expiry: false });
      const s = await manager.load({ ip: '10.0.0.1' });
      s.user = 'ann';
      const cookie = cookieOf(await manager.commit(s));
      assert.equal((await manager.load({ cookie, ip: '10.0.0.1' })).user, 'ann');
      await assert.rejects(
        async () => manager.load({ cookie, ip: '10.0.0.2' }),
        SessionExpiredError,
      );
    });

    it('keeps a session across IPs by default (ignore_change_ip true)', async () => {
      const { manager } = setup();
      const s = await manager.load({ ip: '10.0.0.1' });
      s.user = 'ann';
      const cookie = cookieOf(await manager.commit(s));
      assert.equal((await manager.load({ cookie, ip: '10.9.9.9' })).user, 'ann');
    });
  });

  describe('initializer', () => {
    it('deep-copies an object initializer and does not store it alone', async () => {
      const init = { nested: { list: [1] } };
      const { manager, memory } = setup({ initializer: init });
      const s = await manager.load({});
      s.nested?.list.push(2);
      assert.deepEqual(init.nested.list, [1]);
      assert.equal(await manager.commit(await manager.load({})), undefined);
      assert.equal(memory.size, 0);
      s.user = 'x';
      const cookie = cookieOf(await manager.commit(s));
      assert.deepEqual((await manager.load({ cookie })).nested, { list: [1, 2] });
    });

    it('runs a function initializer for each new session', async () => {
      let calls = 0;
      const { manager } = setup({
        initializer: (d) => {
          calls++;
          d.n = 7;
        },
      });
      assert.equal((await manager.load({})).n, 7);
      assert.equal((await manager.load({})).get('n'), 7);
      assert.equal(calls, 2);
    });
  });

  describe('signed cookies', () => {
    const k1 = 'k1-0123456789abcdef0123456789abcdef';
    const k2 = 'k2-0123456789abcdef0123456789abcdef';

    it('signs with the key and rejects tampering without a store call', async () => {
      const { manager, store } = setup({ secret_key: k1 });
      const cookie = await seed(manager, { user: 'ann' });
      assert.match(cookie, /^webpy_session_id=[0-9a-f]{64}\.[A-Za-z0-9_-]{43}$/);
      assert.equal((await manager.load({ cookie })).user, 'ann');
      store.reset();
      const id = cookie.split('=')[1]!.split('.')[0]!;
      for (const forged of [
        id,
        `${id}.${'A'.repeat(43)}`,
        `${cookie.split('=')[1]!.slice(0, -1)}x`,
      ]) {
        assert.equal((await manager.load({ cookie: `webpy_session_id=${forged}` })).isNew, true);
      }
      assert.equal(store.count(), 0);
    });

    it('accepts an older key and re-signs with the newest', async () => {
      const { manager: old, memory } = setup({ secret_key: k1 });
      const cookie = await seed(old, { user: 'ann' });
      const rotated = new SessionManager<Data>(memory, {
        secret_key: [k2, k1],
        cleanup_interval: 0,
      });
      const s = await rotated.load({ cookie });
      assert.equal(s.user, 'ann');
      const resigned = cookieOf(await rotated.commit(s));
      assert.notEqual(resigned, cookie);
      assert.equal(resigned.split('.')[0], cookie.split('.')[0]);
      const fresh = new SessionManager<Data>(memory, { secret_key: k2, cleanup_interval: 0 });
      assert.equal((await fresh.load({ cookie: resigned })).user, 'ann');
      assert.equal(
        (await fresh.load({ cookie })).isNew,
        true,
        'the old signature is no longer valid',
      );
    });

    it('a cookie under an older key stays stale on every request (the id memo never takes it as current)', async () => {
      const { manager: old, memory } = setup({ secret_key: k1 });
      const cookie = await seed(old, { user: 'ann' });
      const rotated = new SessionManager<Data>(memory, {
        secret_key: [k2, k1],
        cleanup_interval: 0,
      });
      for (let i = 0; i < 3; i++) {
        const s = await rotated.load({ cookie });
        assert.equal(s.user, 'ann');
        const sent = await rotated.commit(s);
        assert.ok(sent, `request ${i}: the old-key cookie is re-signed again`);
        assert.notEqual(cookieOf(sent), cookie);
      }
    });

    it('the id memo is bounded and verifies exactly like verifyCookieValue', () => {
      const cache = new IdCache([k2, k1], 2);
      const ids = [generateSessionId(), generateSessionId(), generateSessionId()];
      const values = ids.map((id) => signId(id, [k2]));
      for (const [i, v] of values.entries()) {
        assert.deepEqual(cache.verify(v), { id: ids[i], stale: false, key: storeKey(ids[i]!) });
        assert.deepEqual(cache.verify(v), { id: ids[i], stale: false, key: storeKey(ids[i]!) });
      }
      const v0 = values[0]!;
      const flipped = `${v0.slice(0, -1)}${v0.endsWith('A') ? 'B' : 'A'}`;
      assert.equal(cache.verify(flipped), undefined);
      assert.equal(cache.verify(ids[0]), undefined, 'an unsigned id is refused when keys are set');
      assert.equal(cache.verify(signId(ids[2]!, [k1]))?.stale, true);
      assert.equal(
        cache.verify(signId(ids[2]!, ['k3-0123456789abcdef0123456789abcdef'])),
        undefined,
      );
      const plain = new IdCache([]);
      assert.equal(plain.verify(ids[0])?.key, storeKey(ids[0]!));
      assert.equal(plain.verify(ids[0]!.toUpperCase()), undefined);
      assert.equal(plain.sign(ids[1]!, storeKey(ids[1]!)), ids[1]);
    });

    it('refuses short or missing-looking secrets', () => {
      assert.throws(() => setup({ secret_key: 'short' }), ConfigError);
      assert.throws(() => setup({ secret_key: [''] }), ConfigError);
    });
  });

  it('regenerate gives a new id, keeps the data and deletes the old record', async () => {
    const { manager, memory } = setup();
    const cookie = await seed(manager, { user: 'ann' });
    const s = await manager.load({ cookie });
    const oldId = s.id;
    s.regenerate();
    s.n = 1;
    const next = cookieOf(await manager.commit(s));
    assert.notEqual(next, cookie);
    assert.notEqual(s.id, oldId);
    assert.equal(memory.size, 1);
    assert.equal((await manager.load({ cookie })).isNew, true, 'old id is dead');
    const loaded = await manager.load({ cookie: next });
    assert.equal(loaded.user, 'ann');
    assert.equal(loaded.n, 1);
  });

  it('merges parallel requests that change different keys', async () => {
    const { manager } = setup();
    const cookie = await seed(manager, { user: 'ann' });
    const r1 = await manager.load({ cookie });
    const r2 = await manager.load({ cookie });
    r1.a = 1;
    r2.b = 2;
    await manager.commit(r1);
    await manager.commit(r2);
    const s = await manager.load({ cookie });
    assert.equal(s.a, 1);
    assert.equal(s.b, 2);
    assert.equal(s.user, 'ann');
  });

  it('never revives a session killed by a parallel request', async () => {
    const { manager, memory } = setup();
    const cookie = await seed(manager, { user: 'ann' });
    const slow = await manager.load({ cookie });
    const logout = await manager.load({ cookie });
    logout.kill();
    await manager.commit(logout);
    slow.a = 1;
    await manager.commit(slow);
    assert.equal(memory.size, 0);
    assert.equal((await manager.load({ cookie })).isNew, true);
  });

  it('update() is atomic: 64 parallel increments end at 64', async () => {
    const { manager } = setup();
    const cookie = await seed(manager, { n: 0 });
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        const s = await manager.load({ cookie });
        await s.update((d) => {
          d.n = (d.n ?? 0) + 1;
        });
        await manager.commit(s);
      }),
    );
    assert.equal((await manager.load({ cookie })).n, 64);
  });

  it('update() on a new session stores it and sends the cookie', async () => {
    const { manager } = setup();
    const s = await manager.load({});
    const data = await s.update((d) => {
      d.n = 1;
    });
    assert.equal(data.n, 1);
    const cookie = cookieOf(await manager.commit(s));
    assert.equal((await manager.load({ cookie })).n, 1);
  });

  it('after update() the session holds the data as stored, apart from the object fn was given', async () => {
    // MemoryStore itself: a store that answers at once, whose writes are made on the spot.
    const manager = new SessionManager<Data & { when: Date }>(new MemoryStore(), {
      cleanup_interval: 0,
    });
    const s = await manager.load({});
    s.n = 0;
    const cookie = cookieOf(await manager.commit(s));
    const r = await manager.load({ cookie });
    let kept: Partial<Data & { when: Date }> = {};
    const returned = await r.update((d) => {
      d.n = 1;
      kept = d;
    });
    kept.n = 99;
    returned.a = 7;
    assert.equal(r.n, 1, 'a change through the kept object is not the session');
    assert.equal(r.a, undefined, 'nor one to the returned copy');
    await r.update((d) => {
      d.when = new Date(5);
      d.nested = { list: [1] };
      kept = d;
    });
    (kept.nested as { list: number[] }).list.push(2);
    assert.ok(r.when instanceof Date && r.when.getTime() === 5, 'a Date comes back a Date');
    assert.deepEqual(r.nested, { list: [1] });
    r.b = 2; // a plain assignment after update() is saved at commit
    await manager.commit(r);
    const again = await manager.load({ cookie });
    assert.deepEqual(
      [again.n, again.a, again.b, again.nested, again.when?.getTime()],
      [1, undefined, 2, { list: [1] }, 5],
    );
  });

  it('update() keeps a change made after calling it, before awaiting it', async () => {
    // MemoryStore: the first update of a manager waits a microtask (group commit does not know
    // yet that the store answers at once), later ones apply when called. Both keep the change.
    const manager = new SessionManager<Data>(new MemoryStore(), { cleanup_interval: 0 });
    const cookie = await seed(manager, { n: 0, user: 'ann' });
    for (const round of [1, 2]) {
      const r = await manager.load({ cookie });
      r.flash('note', `hi ${round}`);
      r.b = round;
      const pending = r.update((d) => {
        d.n = (d.n ?? 0) + 1;
      });
      r.a = round * 10;
      const data = await pending;
      assert.deepEqual([data.n, data.b], [round, round]);
      assert.deepEqual([r.n, r.b, r.a], [round, round, round * 10]);
      await manager.commit(r);
      const again = await manager.load({ cookie });
      assert.deepEqual([again.n, again.b, again.a, again.user], [round, round, round * 10, 'ann']);
      assert.deepEqual(again.flashes('note'), [`hi ${round}`]);
      await manager.commit(again);
    }
  });

  it('refuses to save a session over max_size and keeps the stored one', async () => {
    const { manager } = setup({ max_size: 1024 });
    const cookie = await seed(manager, { user: 'ann' });
    const s = await manager.load({ cookie });
    s.blob = 'x'.repeat(2000);
    await assert.rejects(async () => manager.commit(s), SessionTooLargeError);
    const again = await manager.load({ cookie });
    assert.equal(again.user, 'ann');
    assert.equal(again.blob, undefined);
  });

  it('fails a hanging store with StoreUnavailableError after store_timeout', async () => {
    const { manager, store } = setup({ store_timeout: 50 });
    const cookie = await seed(manager, { user: 'ann' });
    let release!: () => void;
    store.hang = new Promise((r) => {
      release = r;
    });
    await assert.rejects(async () => manager.load({ cookie }), StoreUnavailableError);
    release();
  });

  it('wraps a store failure as StoreUnavailableError', async () => {
    const { manager, store } = setup();
    const cookie = await seed(manager, { user: 'ann' });
    store.fail = new Error('ECONNREFUSED');
    await assert.rejects(
      async () => manager.load({ cookie }),
      (err: unknown) => err instanceof StoreUnavailableError && /ECONNREFUSED/.test(err.message),
    );
  });

  it('treats a corrupt record as no session and logs it', async () => {
    const warnings: string[] = [];
    const { manager, memory } = setup({ logger: { warn: (m) => warnings.push(m) } });
    const cookie = await seed(manager, { user: 'ann' });
    await memory.set(storeKey(cookie.split('=')[1]!), {
      data: '{{{ not a record',
      atime: Date.now(),
    });
    const s = await manager.load({ cookie });
    assert.equal(s.isNew, true);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /corrupt session record/);
  });

  it('offers attribute access and get/has/delete, and guards method names', async () => {
    const { manager } = setup();
    const s = await manager.load({});
    s.user = 'ann';
    assert.equal(s.get('user'), 'ann');
    assert.equal(s.has('user'), true);
    assert.deepEqual(Object.keys(s), ['user']);
    assert.equal('user' in s, true);
    delete s.user;
    assert.equal(s.has('user'), false);
    assert.throws(() => {
      (s as unknown as Record<string, unknown>).kill = 1;
    }, TypeError);
    s.set('n', 3);
    assert.equal(s.n, 3);
    assert.deepEqual(JSON.parse(JSON.stringify(s)), { n: 3 });
  });

  it('rejects bad configuration with clear errors', () => {
    const store = new MemoryStore();
    for (const bad of [
      { timeout: -1 },
      { timeout: Number.NaN },
      { cookie_name: 'bad name' },
      { samesite: 'Sometimes' },
      { cookie_path: 'relative' },
      { samesite: 'None', secure: false },
      { max_size: 10 },
      { unknown_key: 1 },
    ]) {
      assert.throws(
        () => new SessionManager(store, bad as SessionConfig),
        ConfigError,
        JSON.stringify(bad),
      );
    }
  });
});
