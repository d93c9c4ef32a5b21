// Store URLs are read in one place (src/stores/url.ts) by every entry point: storeFromUrl,
// new RedisStore(url), web.session.RedisStore(url), database({ url }); an unknown parameter is
// refused with one line naming it and the known ones.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import {
  ConfigError,
  database,
  generateSessionId,
  RedisStore,
  redisOptionsFromUrl,
  StoreNotFoundError,
  storeFromUrl,
  storeKey,
} from 'websession';
import * as web from 'websession/web';
// Not exported from the package's index yet (src/index.ts is not this change's).
import { parseStoreUrl } from '../../src/stores/url.js';
import { dropPrefix, redisUrlWith } from '../helpers/redis.js';
import { serverStoreFromUrl } from '../helpers/server-store.js';
import { REDIS_URL, serverSkip } from '../helpers/servers.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const redisSkip = await serverSkip('Redis', REDIS_URL, 6379);
const tempDir = tempDirs('url');

/** Asserts a ConfigError whose one-line message matches. */
const refused = (message: RegExp) => (err: unknown) => {
  assert.ok(err instanceof ConfigError, String(err));
  assert.match(err.message, message);
  assert.doesNotMatch(err.message, /\n/, 'one line');
  return true;
};

describe('store URLs', () => {
  it('an unknown parameter is refused on every scheme, naming it and the known ones', async () => {
    const cases: [string, RegExp][] = [
      ['memory:?maxx=3', /unknown parameter "maxx" .*memory: URLs take max$/],
      ['disk:./s?fsnc=1', /unknown parameter "fsnc" .*disk: URLs take fsync, blocking, lock$/],
      ['shelf:./s.shelf?nosnc=1', /unknown parameter "nosnc" .*shelf: URLs take nosync$/],
      [
        'redis://127.0.0.1:6379/0?prefx=x:',
        /unknown parameter "prefx" .*redis: URLs take prefix, ttl, cluster, commandTimeout, connectTimeout$/,
      ],
      ['rediss://h/0?ttl=5&tls=1', /unknown parameter "tls" .*rediss: URLs take prefix/],
      ['sqlite:./s.db?tabel=x', /unknown parameter "tabel" .*sqlite: URLs take table, fsync$/],
      [
        'postgres://u@h/db?tabel=x',
        /unknown parameter "tabel" .*postgres: URLs take table, connectTimeout, statementTimeout \(and the driver's: sslmode, /,
      ],
      [
        'mysql://u@h/db?tabel=x',
        /unknown parameter "tabel" .*mysql: URLs take table, connectTimeout, statementTimeout \(and the driver's: ssl, charset/,
      ],
    ];
    for (const [url, message] of cases) {
      assert.throws(() => parseStoreUrl(url), refused(message), url);
      await assert.rejects(storeFromUrl(url), refused(message), url);
    }
  });

  it('a refused URL creates nothing', async () => {
    const dir = join(await tempDir(), 'sessions');
    await assert.rejects(storeFromUrl(`disk:${dir}?fsnc=1`), ConfigError);
    await assert.rejects(storeFromUrl(`sqlite:${dir}.db?tabel=x`), ConfigError);
    assert.equal(existsSync(dir), false);
    assert.equal(existsSync(`${dir}.db`), false);
  });

  it('a password is not repeated in the message', () => {
    assert.throws(
      () => parseStoreUrl('postgres://app:s3cret@h/db?tabel=x'),
      (err: Error) => !err.message.includes('s3cret') && /app:\*\*\*@h/.test(err.message),
    );
  });

  it('bad values are refused with the parameter named', () => {
    assert.throws(() => parseStoreUrl('redis://h/0?ttl=-1'), refused(/bad ttl="-1"/));
    assert.throws(() => parseStoreUrl('redis://h/0?ttl=abc'), refused(/bad ttl="abc"/));
    assert.throws(() => parseStoreUrl('memory:?max=0'), refused(/bad max="0"/));
    assert.throws(() => parseStoreUrl('disk:./s?fsync=maybe'), refused(/bad fsync="maybe"/));
    assert.throws(
      () => parseStoreUrl('postgres://h/db?connectTimeout=x'),
      refused(/bad connectTimeout/),
    );
  });

  it("the drivers' own URL parameters pass through to them; the store's are taken out", () => {
    const pgSpec = parseStoreUrl(
      'postgres://u@h/db?table=t&connectTimeout=250&sslmode=disable&application_name=a',
    );
    assert.deepEqual(pgSpec, {
      kind: 'postgres',
      connection: 'postgres://u@h/db?sslmode=disable&application_name=a',
      table: 't',
      connectTimeout: 250,
      statementTimeout: 1000,
    });
    assert.equal(
      (parseStoreUrl('mysql://u@h/db?statementTimeout=1500') as { statementTimeout: number })
        .statementTimeout,
      1500,
    );
    const my = parseStoreUrl('mariadb://root@h/test?charset=utf8mb4');
    assert.equal(my.kind, 'mysql');
    assert.equal((my as { connection: string }).connection, 'mysql://root@h/test?charset=utf8mb4');
    assert.deepEqual(parseStoreUrl('redis://h:1/2?prefix=p:&ttl=120&cluster=1'), {
      kind: 'redis',
      connection: 'redis://h:1/2',
      options: { prefix: 'p:', ttlSeconds: 120, cluster: true },
    });
    assert.deepEqual(redisOptionsFromUrl('redis://h/0?prefix=p:'), { prefix: 'p:' });
  });

  it('database({ url }) takes the driver parameters and refuses others', () => {
    assert.throws(
      () => database({ dbn: 'postgres', url: 'postgres://u@h/db?sslmod=require' }),
      refused(/unknown parameter "sslmod" in database URL/),
    );
    assert.throws(
      () => database({ dbn: 'mysql', url: 'mysql://u@h/db?table=x' }),
      refused(/unknown parameter "table" in database URL/),
    );
    database({ dbn: 'postgres', url: 'postgres://u@h/db?sslmode=require' });
  });

  it('new RedisStore(url) and web.session.RedisStore(url) refuse an unknown parameter', () => {
    assert.throws(() => new RedisStore('redis://127.0.0.1:6379/0?prefx=x:'), refused(/"prefx"/));
    assert.throws(() => web.session.RedisStore('redis://127.0.0.1:6379/0?prefx=x:'), ConfigError);
  });

  it('with create: false, a missing folder, file or table is StoreNotFoundError and nothing is made', async () => {
    const dir = await tempDir();
    for (const url of [`disk:${dir}/none`, `shelf:${dir}/none.shelf`, `sqlite:${dir}/none.db`]) {
      await assert.rejects(storeFromUrl(url, { create: false }), StoreNotFoundError, url);
    }
    assert.equal(existsSync(`${dir}/none`), false);
    assert.equal(existsSync(`${dir}/none.shelf`), false);
    assert.equal(existsSync(`${dir}/none.db`), false);
    const db = await serverStoreFromUrl(`sqlite:${dir}/there.db?table=sessions`);
    await db.set(storeKey(generateSessionId()), { data: 'x', atime: Date.now() });
    await db.close();
    await assert.rejects(
      storeFromUrl(`sqlite:${dir}/there.db?table=other`, { create: false }),
      (err: Error) => err instanceof StoreNotFoundError && /no table "other"/.test(err.message),
    );
    const there = await storeFromUrl(`sqlite:${dir}/there.db`, { create: false });
    await there.close();
  });
});

describe('RedisStore from a URL honours ?prefix and ?ttl', { skip: redisSkip }, () => {
  const redis = new Redis(REDIS_URL);
  after(() => redis.disconnect());

  for (const [name, make] of [
    ['new RedisStore(url)', (url: string) => new RedisStore(url)],
    ['web.session.RedisStore(url)', (url: string) => web.session.RedisStore(url)],
    ['storeFromUrl(url)', null],
  ] as const) {
    it(name, async () => {
      const prefix = `ws_url_${process.pid}_${Date.now()}:`;
      const url = redisUrlWith(`prefix=${prefix}&ttl=120`);
      const store = make ? make(url) : await storeFromUrl(url);
      try {
        assert.ok(store instanceof RedisStore);
        assert.equal(store.prefix, prefix);
        assert.equal(store.ttlSeconds, 120);
        // The SessionManager's timeout does not replace a ttl the URL gave.
        store.configure({ timeout: 86400 });
        assert.equal(store.ttlSeconds, 120);
        const key = storeKey(generateSessionId());
        await store.set(key, { data: 'x', atime: Date.now() });
        assert.equal(await redis.exists(`${prefix}${key}`), 1, 'written under the URL prefix');
        assert.equal(await redis.exists(`websession:${key}`), 0);
        const ttl = await redis.pttl(`${prefix}${key}`);
        assert.ok(ttl > 110_000 && ttl <= 120_000, `PTTL ${ttl}`);
        // Options given in code win over the URL's.
        const other = new RedisStore(url, { prefix: `${prefix}code:` });
        assert.equal(other.prefix, `${prefix}code:`);
        assert.equal(other.ttlSeconds, 120);
        await other.close();
      } finally {
        await store.close();
        await dropPrefix(prefix);
      }
    });
  }
});
