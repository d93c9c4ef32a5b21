// ShelfStore and RedisStore: loads and saves per second next to the raw client's own speed for
// the same value sizes.
//   node --import tsx --conditions=websession-src bench/kv.ts [--seconds 1] [--sizes 256,4096,32768]
// Redis: REDIS_URL (default redis://127.0.0.1:6379/0); keys under a unique prefix, removed after.
// Also runs `redis-benchmark -t get,set -d <size>` when it is installed.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { open } from 'lmdb';
import {
  encodePayload,
  generateSessionId,
  RedisStore,
  SessionManager,
  ShelfStore,
  type Store,
  storeKey,
} from 'websession';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '1' },
    sizes: { type: 'string', default: '256,4096,32768' },
  },
});
const SECONDS = Number(values.seconds);
const SIZES = values.sizes!.split(',').map(Number);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const KEYS = 1000;

/** Runs `op` for SECONDS with `concurrency` callers in flight; returns ops per second. */
async function rate(
  concurrency: number,
  op: (i: number) => Promise<unknown> | unknown,
): Promise<number> {
  const end = performance.now() + SECONDS * 1000;
  let done = 0;
  const worker = async (w: number) => {
    for (let i = w; performance.now() < end; i += concurrency) {
      await op(i);
      done++;
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  return done / ((performance.now() - start) / 1000);
}

const rows: string[][] = [];
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
function row(what: string, size: number, c1: number, c50: number): void {
  rows.push([what, String(size), fmt(c1), fmt(c50)]);
  console.error(
    `${what.padEnd(44)} ${String(size).padStart(6)} B  c=1 ${fmt(c1).padStart(9)}/s  c=50 ${fmt(c50).padStart(9)}/s`,
  );
}

/** A session record of about `size` bytes, as the manager would write it. */
function recordOf(size: number): string {
  return encodePayload({
    v: 1,
    meta: { created: Date.now(), ip: undefined },
    data: { blob: 'x'.repeat(size) },
  });
}

async function benchStore(name: string, store: Store, size: number): Promise<void> {
  const keys = Array.from({ length: KEYS }, () => storeKey(generateSessionId()));
  const data = recordOf(size);
  for (const k of keys) await store.set(k, { data, atime: Date.now() });
  const get = (i: number) => store.get(keys[i % KEYS]!);
  const set = (i: number) => store.set(keys[i % KEYS]!, { data, atime: Date.now() });
  const touch = (i: number) => store.touch(keys[i % KEYS]!, Date.now());
  const update = (i: number) =>
    store.update(keys[i % KEYS]!, (cur) => cur && { data: cur.data, atime: Date.now() });
  row(`${name} get (load)`, size, await rate(1, get), await rate(50, get));
  row(`${name} set (save)`, size, await rate(1, set), await rate(50, set));
  row(`${name} touch`, size, await rate(1, touch), await rate(50, touch));
  row(`${name} update`, size, await rate(1, update), await rate(50, update));
  // A request's save: the record as it was loaded is passed, so the store can write it in one
  // conditional step where it can (Redis: a compare-and-set script); ShelfStore ignores it (its
  // update is already one LMDB write transaction).
  const asLoaded = (i: number) =>
    store.update(keys[i % KEYS]!, (cur) => cur && { data: cur.data, atime: Date.now() }, {
      data,
      atime: 0,
    });
  row(`${name} update as loaded`, size, await rate(1, asLoaded), await rate(50, asLoaded));

  // A whole SessionManager.load (cookie → verified id → store.get → decode) per request.
  const manager = new SessionManager(store, { cleanup_interval: 0 });
  const cookies: string[] = [];
  for (let i = 0; i < 100; i++) {
    const s = await manager.load({});
    (s as Record<string, unknown>).blob = 'x'.repeat(size);
    const set = await manager.commit(s);
    cookies.push(set!.split(';')[0]!);
  }
  const load = (i: number) => manager.load({ cookie: cookies[i % cookies.length] });
  row(`${name} SessionManager.load`, size, await rate(1, load), await rate(50, load));
  await manager.close();
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'websession-bench-kv-'));
  const prefix = `wsbench:${randomBytes(4).toString('hex')}:`;
  const redis = new Redis(REDIS_URL);
  try {
    for (const size of SIZES) {
      // Raw lmdb: the same engine and file settings ShelfStore uses (sync commits).
      const env = open({ path: join(dir, `raw-${size}.lmdb`), noSubdir: true, maxDbs: 4 });
      const db = env.openDB<string, string>({ name: 'raw', encoding: 'string' });
      const value = recordOf(size);
      for (let i = 0; i < KEYS; i++) await db.put(`k${i}`, value);
      row(
        'lmdb raw get',
        size,
        await rate(1, (i) => db.get(`k${i % KEYS}`)),
        await rate(50, (i) => db.get(`k${i % KEYS}`)),
      );
      row(
        'lmdb raw put',
        size,
        await rate(1, (i) => db.put(`k${i % KEYS}`, value)),
        await rate(50, (i) => db.put(`k${i % KEYS}`, value)),
      );
      await env.close();

      const shelf = new ShelfStore(join(dir, `shelf-${size}.shelf`));
      await benchStore('ShelfStore', shelf, size);
      await shelf.close();

      // Raw ioredis GET/SET of a string of the same size.
      const rk = (i: number) => `${prefix}raw:${i % KEYS}`;
      for (let i = 0; i < KEYS; i++) await redis.set(rk(i), value);
      row(
        'ioredis raw GET',
        size,
        await rate(1, (i) => redis.get(rk(i))),
        await rate(50, (i) => redis.get(rk(i))),
      );
      row(
        'ioredis raw SET',
        size,
        await rate(1, (i) => redis.set(rk(i), value)),
        await rate(50, (i) => redis.set(rk(i), value)),
      );

      const store = new RedisStore(
        `${REDIS_URL}${REDIS_URL.includes('?') ? '&' : '?'}prefix=${prefix}`,
      );
      await benchStore('RedisStore', store, size);
      await store.close();
    }
  } finally {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  }

  const url = new URL(REDIS_URL);
  const rb: string[] = [];
  for (const size of SIZES) {
    const out = spawnSync(
      'redis-benchmark',
      [
        '-h',
        url.hostname,
        '-p',
        url.port || '6379',
        '-t',
        'get,set',
        '-d',
        String(size),
        '-n',
        '50000',
        '-q',
      ],
      { encoding: 'utf8' },
    );
    if (out.error) {
      rb.push('redis-benchmark not installed');
      break;
    }
    for (const line of out.stdout.split(/\r/).join('\n').split('\n')) {
      const m = /^(GET|SET): ([\d.]+) requests per second/.exec(line.trim());
      if (m) rb.push(`redis-benchmark ${m[1]} -d ${size} (50 clients): ${fmt(Number(m[2]))}/s`);
    }
  }

  console.log(
    `node ${process.version}, ${cpus().length} CPUs, ${SECONDS} s per cell, ${KEYS} keys, value = a session record holding a string of the size\n`,
  );
  console.log('| operation | value bytes | ops/s, 1 in flight | ops/s, 50 in flight |');
  console.log('| --- | ---: | ---: | ---: |');
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
  console.log('');
  for (const line of rb) console.log(`- ${line}`);
}

await main();
