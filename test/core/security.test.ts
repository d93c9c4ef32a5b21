// Hostile input, faults and races (issue 6): each test names the threat it covers in SECURITY.md.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  DiskStore,
  isValidSessionId,
  MemoryStore,
  readCookie,
  SessionManager,
  StoreError,
  storeKey,
  verifyCookieValue,
} from 'websession';
import * as web from 'websession/web';
import { cookieOf, SpyStore } from '../helpers/spy-store.js';
import { storeKinds, storesOf } from '../helpers/stores.js';

const kinds = await storeKinds('memory', 'disk');

const SECRET = 's'.repeat(40);

describe('security: hostile cookies (fuzz)', () => {
  it('no exception escapes and no store call happens with an invalid id (5,000 inputs)', async () => {
    const spy = new SpyStore(new MemoryStore());
    const plain = new SessionManager(spy, { cleanup_interval: 0 });
    const signed = new SessionManager(spy, { cleanup_interval: 0, secret_key: SECRET });
    const validKeys = new Set<string>();
    const cookieValue = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.string({ unit: 'binary', maxLength: 120 }),
      fc.stringMatching(/^[0-9a-fA-F.]{60,110}$/),
      fc.constantFrom('../../etc/passwd', '%00', '"', '', 'a'.repeat(5000)),
    );
    await fc.assert(
      fc.asyncProperty(cookieValue, fc.string({ maxLength: 200 }), async (value, prefix) => {
        const header = `${prefix}; webpy_session_id=${value}`;
        for (const manager of [plain, signed]) {
          const raw = readCookie(header, 'webpy_session_id');
          const verified = verifyCookieValue(raw, manager.config.secret_keys);
          if (verified) validKeys.add(storeKey(verified.id));
          const session = await manager.load({ cookie: header });
          assert.equal(typeof session.id, 'string');
          assert.ok(isValidSessionId(session.id));
        }
      }),
      { numRuns: 2500 },
    );
    for (const call of spy.calls)
      assert.ok(call.key && validKeys.has(call.key), 'store only sees keys of well-formed ids');
  });

  it('verifyCookieValue accepts exactly id or id.signature', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (value) => {
        const v = verifyCookieValue(value, []);
        return v === undefined || (isValidSessionId(v.id) && v.id === value);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('security: corrupt records are quarantined', () => {
  for (const [name, make] of [
    ['MemoryStore', async () => ({ store: new MemoryStore(), dir: '' })],
    [
      'DiskStore',
      async () => {
        const dir = await mkdtemp(join(tmpdir(), 'websession-q-'));
        return { store: new DiskStore(dir), dir };
      },
    ],
  ] as const) {
    it(`${name}: kept aside, logged, not served, not fatal`, async () => {
      const { store, dir } = await make();
      const warnings: string[] = [];
      const manager = new SessionManager(store, {
        cleanup_interval: 0,
        logger: { warn: (m) => warnings.push(m) },
      });
      const s = await manager.load({});
      s.user = 'ann';
      const cookie = cookieOf(await manager.commit(s));
      const key = storeKey(cookie.split('=')[1]!);
      await store.set(key, { data: 'garbage{', atime: Date.now() });
      assert.equal((await manager.load({ cookie })).isNew, true);
      assert.match(warnings.join('\n'), /corrupt session record .* quarantined/);
      assert.equal(await store.get(key), undefined, 'no longer served');
      if (store instanceof MemoryStore) assert.equal(await store.quarantined(key), 'garbage{');
      else {
        const kept = await readdir(join(dir, 'quarantine'));
        assert.equal(kept.length, 1);
        assert.ok(kept[0]!.startsWith(key));
        await rm(dir, { recursive: true, force: true });
      }
    });
  }
});

describe('security: races between requests of one session', () => {
  function makeApp(store: ConstructorParameters<typeof SessionManager>[0]) {
    let releaseSlow!: () => void;
    const slowGate = new Promise<void>((r) => {
      releaseSlow = r;
    });
    const urls = [
      '/login',
      'Login',
      '/logout',
      'Logout',
      '/slow',
      'Slow',
      '/set/(\\w+)',
      'SetKey',
      '/get',
      'Get',
    ];
    const app = web.application(urls, () => ({ Login, Logout, Slow, SetKey, Get }));
    const session = web.session.Session(app, store, null, { cleanup_interval: 0 });
    class Login {
      GET() {
        session.user = 'ann';
        session.regenerate();
        return 'ok';
      }
    }
    class Logout {
      GET() {
        session.kill();
        return 'bye';
      }
    }
    class Slow {
      async GET() {
        await slowGate;
        session.late = 'write';
        return 'slow done';
      }
    }
    class SetKey {
      GET(name: string) {
        session.set(name, true);
        return name;
      }
    }
    class Get {
      GET() {
        return JSON.stringify(session.data);
      }
    }
    return { app, releaseSlow };
  }

  for (const kind of kinds) {
    const name = kind.name;
    const make = storesOf(kind);
    it(`${name}: a slow request that started before logout cannot revive the session`, async () => {
      const store = await make();
      const { app, releaseSlow } = makeApp(store);
      const b = app.browser();
      await b.open('/login');
      const slow = b.open('/slow');
      await new Promise((r) => setTimeout(r, 20));
      await b.open('/logout');
      releaseSlow();
      assert.equal((await slow).data, 'slow done');
      const keys: string[] = [];
      for await (const k of store.keys()) keys.push(k);
      assert.deepEqual(keys, [], 'nothing stored after logout');
    });

    it(`${name}: 20 parallel requests each setting a different key leave all 20 keys`, async () => {
      const store = await make();
      const { app } = makeApp(store);
      const b = app.browser();
      await b.open('/login');
      await Promise.all(Array.from({ length: 20 }, (_, i) => b.open(`/set/k${i}`)));
      const data = JSON.parse((await b.open('/get')).data) as Record<string, unknown>;
      for (let i = 0; i < 20; i++) assert.equal(data[`k${i}`], true, `k${i}`);
    });
  }
});

describe('security: a full or read-only disk', () => {
  const canMount = (() => {
    if (process.platform !== 'linux' || process.getuid?.() !== 0) return false;
    return true;
  })();

  it('fails the save with a clear error and keeps the previous record', {
    skip: canMount ? false : 'needs root to mount a tiny tmpfs',
  }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'websession-full-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=700', 'tmpfs', dir]);
    try {
      const store = new DiskStore(dir);
      const manager = new SessionManager<{ user: string; blob: string }>(store, {
        cleanup_interval: 0,
        max_size: 1 << 20,
      });
      const s = await manager.load({});
      s.user = 'ann';
      const cookie = cookieOf(await manager.commit(s));
      const big = await manager.load({ cookie });
      big.blob = 'x'.repeat(200_000);
      await assert.rejects(
        async () => manager.commit(big),
        (err: unknown) => err instanceof StoreError && /ENOSPC|no space/i.test(err.message),
      );
      const again = await manager.load({ cookie });
      assert.equal(again.user, 'ann');
      assert.equal(again.blob, undefined);
      execFileSync('mount', ['-o', 'remount,ro', dir]);
      again.user = 'bob';
      await assert.rejects(
        async () => manager.commit(again),
        (err: unknown) => err instanceof StoreError && /EROFS|read-only/i.test(err.message),
      );
      assert.equal((await manager.load({ cookie })).user, 'ann');
    } finally {
      execFileSync('umount', [dir]);
      await rm(dir, { recursive: true, force: true });
    }
  });
});
