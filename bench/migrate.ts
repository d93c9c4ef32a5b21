// `websession migrate` from a DiskStore of N sessions (default 100,000) to SQLite and to Redis,
// SIGKILLed halfway and resumed, then verified (same ids and data, a sample through
// SessionManager, the user index).
//   node --import tsx --conditions=websession-src bench/migrate.ts [--count 100000] [--to sqlite,redis]
// Redis: REDIS_URL (default redis://127.0.0.1:6379/0), keys under a unique prefix, removed after.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import { migrateAndKill, runCli, seedDisk, verifyMigrated } from '../test/helpers/migrate.js';
import { dropPrefix } from '../test/helpers/redis.js';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '100000' },
    to: { type: 'string', default: 'sqlite,redis' },
  },
});
const N = Number(values.count);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const dir = mkdtempSync(join(tmpdir(), 'websession-bench-migrate-'));
const from = `disk:${join(dir, 'disk')}`;
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

console.log(`node ${process.version}, ${cpus().length} CPU(s), ${N} sessions`);
try {
  let t = performance.now();
  const ids = await seedDisk(join(dir, 'disk'), N);
  console.log(`seeded the DiskStore in ${secs(performance.now() - t)}`);
  const sample = Array.from({ length: 200 }, (_, i) => Math.floor((i * (N - 1)) / 199));

  for (const target of values.to!.split(',')) {
    let to: string;
    let progress: () => Promise<number>;
    let cleanup = async () => {};
    if (target === 'sqlite') {
      const file = join(dir, 'sessions.db');
      to = `sqlite:${file}`;
      let db: Database.Database | undefined;
      progress = async () => {
        try {
          db ??= new Database(file, { readonly: true, fileMustExist: true });
          return Number(
            (db.prepare('SELECT COUNT(*) AS n FROM sessions').get() as { n: number }).n,
          );
        } catch {
          return 0;
        }
      };
      cleanup = async () => void db?.close();
    } else if (target === 'redis') {
      const prefix = `ws_bench_migrate_${randomBytes(4).toString('hex')}:`;
      to = `${REDIS_URL}${REDIS_URL.includes('?') ? '&' : '?'}prefix=${prefix}`;
      const redis = new Redis(REDIS_URL);
      const base = await redis.dbsize();
      progress = async () => (await redis.dbsize()) - base;
      cleanup = async () => {
        redis.disconnect();
        await dropPrefix(prefix, REDIS_URL);
      };
    } else {
      throw new Error(`unknown target ${target}: expected sqlite or redis`);
    }
    try {
      const first = await migrateAndKill(from, to, N / 2, progress);
      const partial = await progress();
      t = performance.now();
      const resumed = await runCli(['migrate', '--from', from, '--to', to]);
      const resume = performance.now() - t;
      if (resumed.code !== 0) throw new Error(`migrate failed: ${resumed.stderr}`);
      t = performance.now();
      await verifyMigrated(from, to, ids, sample);
      const verify = performance.now() - t;
      console.log(
        `disk → ${target}: first run killed after ${secs(first)} (~${partial} in), resumed run ${secs(resume)}, verified in ${secs(verify)}`,
      );
      console.log(`  ${resumed.stdout.trim().replace(/\n/g, '\n  ')}`);
    } finally {
      await cleanup();
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
