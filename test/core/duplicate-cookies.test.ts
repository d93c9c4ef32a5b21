// Several cookies of the session's name in one header (one planted for a parent domain or a
// longer path shadows the real one in naive parsers): the answer must not depend on their order.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  generateSessionId,
  MemoryStore,
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
  it('readCookies gives every value in order, unquoted, at most max', () => {
    const h = 'a=1; webpy_session_id=x; b=2; webpy_session_id="y"; webpy_session_id=z%41';
    assert.deepEqual(readCookies(h, 'webpy_session_id'), ['x', 'y', 'zA']);
    assert.deepEqual(readCookies(h, 'webpy_session_id', 2), ['x', 'y']);
    assert.deepEqual(readCookies('xwebpy_session_id=1', 'webpy_session_id'), []);
    assert.deepEqual(readCookies(undefined, 'webpy_session_id'), []);
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
});
