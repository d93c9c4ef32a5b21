// Several cookies of the session's name in one header (one planted for a parent domain or a
// longer path shadows the real one in naive parsers): the answer must not depend on their order.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { syncBuiltinESMExports } from 'node:module';
import { describe, it, mock } from 'node:test';
import {
  generateSessionId,
  MemoryStore,
  readCookie,
  readCookies,
  type SessionConfig,
  SessionManager,
  signId,
  storeKey,
} from 'websession';
import { cookieOf, SpyStore } from '../helpers/spy-store.js';

function setup(config: SessionConfig = {}) {
  const memory = new MemoryStore();
  const store = new SpyStore(memory);
  const manager = new SessionManager(store, { cleanup_interval: 0, ...config });
  return { memory, store, manager };
}

async function seed(manager: SessionManager, data: Record<string, unknown>): Promise<string> {
  const s = await manager.load({});
  Object.assign(s, data);
  return cookieOf(await manager.commit(s));
}

/** Every order of `items`. */
function orders<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((x, i) =>
    orders([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [x, ...rest]),
  );
}

describe('duplicate session cookies', () => {
  it('readCookies gives every value in order, as written (never unquoted nor decoded), at most max', () => {
    const h = 'a=1; webpy_session_id=x; b=2; webpy_session_id="y"; webpy_session_id=z%41';
    assert.deepEqual(readCookies(h, 'webpy_session_id'), ['x', '"y"', 'z%41']);
    assert.deepEqual(readCookies(h, 'webpy_session_id', 2), ['x', '"y"']);
    assert.equal(readCookie(h, 'webpy_session_id'), 'x');
    assert.equal(readCookie('webpy_session_id=%61b', 'webpy_session_id'), '%61b');
    assert.deepEqual(readCookies('xwebpy_session_id=1', 'webpy_session_id'), []);
    assert.deepEqual(readCookies(undefined, 'webpy_session_id'), []);
  });

  it('readCookies finds the name only as a whole cookie name, wherever else it appears', () => {
    const name = 'webpy_session_id';
    const h = `xwebpy_session_id=1; b=webpy_session_id=2;\twebpy_session_id =3 ; c=4;webpy_session_id=webpy_session_id; webpy_session_idx=5; =6; webpy_session_id`;
    assert.deepEqual(readCookies(h, name), ['3', name]);
    assert.deepEqual(readCookies(h, name, 1), ['3']);
    assert.deepEqual(readCookies(' webpy_session_id = a b ', name), ['a b']);
    assert.deepEqual(readCookies('webpy_session_id', name), [], 'no "=": no value');
    assert.deepEqual(readCookies('a=b', ''), [], 'an empty name finds nothing');
  });

  it('the live session wins over unknown, garbled and expired ones, in every order', async () => {
    const { manager, memory } = setup({ timeout: 60 });
    const live = await seed(manager, { who: 'real' });
    const stale = await seed(manager, { who: 'stale' });
    // The stale one: idle for longer than the timeout.
    const staleKey = storeKey(stale.split('=')[1]!);
    const record = (await memory.get(staleKey))!;
    await memory.set(staleKey, { ...record, atime: Date.now() - 3_600_000 });
    const unknown = `webpy_session_id=${generateSessionId()}`;
    const garbled = 'webpy_session_id=../../etc/passwd';
    for (const order of orders([live, stale, unknown, garbled])) {
      const s = await manager.load({ cookie: order.join('; ') });
      assert.equal(s.get('who'), 'real', order.join('; '));
      assert.equal(s.isNew, false);
    }
  });

  it('with two live sessions, the most recently used wins whatever the order', async () => {
    const { manager, memory } = setup();
    const older = await seed(manager, { who: 'older' });
    const newer = await seed(manager, { who: 'newer' });
    const olderKey = storeKey(older.split('=')[1]!);
    await memory.set(olderKey, { ...(await memory.get(olderKey))!, atime: Date.now() - 10_000 });
    for (const order of [
      [older, newer],
      [newer, older],
    ]) {
      const s = await manager.load({ cookie: order.join('; ') });
      assert.equal(s.get('who'), 'newer');
    }
  });

  it('none live: a new session, the same in every order; a single cookie makes one lookup', async () => {
    const { manager, store } = setup();
    const a = `webpy_session_id=${generateSessionId()}`;
    const b = `webpy_session_id=${generateSessionId()}`;
    for (const order of [
      [a, b],
      [b, a],
    ]) {
      const s = await manager.load({ cookie: order.join('; ') });
      assert.equal(s.isNew, true);
    }
    const live = await seed(manager, { who: 'real' });
    store.reset();
    await manager.load({ cookie: `other=webpy_session_id; ${live}` });
    assert.equal(store.count('get'), 1, 'one candidate: one lookup, as with a single cookie');
  });

  it('looks up at most three candidates, and only correctly signed ones', async () => {
    const secret = 'k'.repeat(40);
    const { manager, store } = setup({ secret_key: secret });
    const live = await seed(manager, { who: 'real' });
    const unsigned = `webpy_session_id=${generateSessionId()}`;
    const forged = `webpy_session_id=${signId(generateSessionId(), ['x'.repeat(40)])}`;
    const others = Array.from(
      { length: 4 },
      () => `webpy_session_id=${signId(generateSessionId(), [secret])}`,
    );
    store.reset();
    const s = await manager.load({ cookie: [unsigned, forged, live, ...others].join('; ') });
    assert.equal(s.get('who'), 'real');
    assert.equal(store.count('get'), 3);
    store.reset();
    const t = await manager.load({ cookie: [forged, unsigned, live].join('; ') });
    assert.equal(t.get('who'), 'real');
    assert.equal(store.count('get'), 1, 'forged and unsigned values are never looked up');
  });

  it('a quoted or percent-encoded session cookie is refused: one spelling, the one we write', async () => {
    for (const config of [{}, { secret_key: 'k'.repeat(40) }]) {
      const { manager, store } = setup(config);
      const live = await seed(manager, { who: 'real' });
      const value = live.slice(live.indexOf('=') + 1);
      const encoded = `%${value.charCodeAt(0).toString(16)}${value.slice(1)}`;
      assert.equal((await manager.load({ cookie: live })).get('who'), 'real');
      store.reset();
      for (const cookie of [
        `webpy_session_id="${value}"`,
        `webpy_session_id=${encoded}`,
        `webpy_session_id="${value}"; webpy_session_id=${encoded}`,
      ]) {
        const s = await manager.load({ cookie });
        assert.equal(s.isNew, true, cookie);
      }
      assert.equal(store.count('get'), 0, 'never looked up');
    }
  });

  it('planted well-formed values before the real one never push it out of the lookups', async () => {
    // Without a secret anyone can plant well-formed ids (a parent-domain or longer-path cookie
    // comes first in the header); the real one, issued by this process, is looked up first.
    const { manager, store } = setup();
    const live = await seed(manager, { who: 'real' });
    const planted = Array.from({ length: 5 }, () => `webpy_session_id=${generateSessionId()}`);
    store.reset();
    const s = await manager.load({ cookie: [...planted, live].join('; ') });
    assert.equal(s.get('who'), 'real');
    assert.ok(store.count('get') <= 3);
  });

  it('16 KB of forged signed values cost at most a few signature checks, and the real one still wins', async () => {
    const secret = 'k'.repeat(40);
    const { manager, store } = setup({ secret_key: secret });
    const live = await seed(manager, { who: 'real' });
    const forged: string[] = [];
    while (forged.join('; ').length < 16_000)
      forged.push(`webpy_session_id=${signId(generateSessionId(), ['x'.repeat(40)])}`);
    forged.pop();
    const cookie = [...forged, live].join('; ');
    assert.ok(cookie.length <= 16_384 && forged.length > 100, String(forged.length));
    let hmacs = 0;
    const original = crypto.createHmac;
    mock.method(crypto, 'createHmac', (...args: Parameters<typeof crypto.createHmac>) => {
      hmacs++;
      return original(...args);
    });
    syncBuiltinESMExports();
    try {
      store.reset();
      const s = await manager.load({ cookie });
      assert.equal(s.get('who'), 'real');
      assert.ok(hmacs <= 9, `${hmacs} HMACs for ${forged.length} forged values`);
      assert.equal(store.count('get'), 1, 'forged values are never looked up');
    } finally {
      mock.restoreAll();
      syncBuiltinESMExports();
    }
  });
});
