// DBStore loads (get) and saves (set: one upsert; update as loaded: one conditional UPDATE, the
// path of a request's save; update: locked read-modify-write) per second on
// SQLite, PostgreSQL and MySQL/MariaDB, next to the bare driver running the same statements.
//   node --import tsx --conditions=websession-src bench/db.ts [--ms 1000] [--engines sqlite,postgres,mysql]
// Servers: POSTGRES_URL (postgres://postgres@127.0.0.1:5432/test), MYSQL_URL (mysql://root@127.0.0.1:3306/test).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { DBStore, generateSessionId, storeKey } from 'websession';

const { values: args } = parseArgs({
  options: { ms: { type: 'string' }, engines: { type: 'string' } },
});
const MS = Number(args.ms ?? 1000);
const ENGINES = (args.engines ?? 'sqlite,postgres,mysql').split(',');
const POSTGRES_URL = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const MYSQL_URL = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
const KEYS = 1000;
const DATA = JSON.stringify({
  v: 1,
  meta: { created: Date.now() },
  data: { logged_in: true, user: 'alice', cart: [1, 2, 3] },
});

/** Calls `fn` for `MS` ms with `concurrency` calls in flight; returns calls per second. */
async function rate(fn: (i: number) => unknown, concurrency: number): Promise<number> {
  let n = 0;
  const end = performance.now() + MS;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) await fn(n++);
    }),
  );
  return n / ((performance.now() - start) / 1000);
}

interface Raw {
  get(key: string): Promise<unknown>;
  set(key: string, atime: number, data: string): Promise<unknown>;
  update(key: string, atime: number): Promise<unknown>;
  /** `UPDATE … WHERE session_id = ? AND data = ?`: the one statement of a save as loaded. */
  updateIf(key: string, atime: number, data: string): Promise<unknown>;
}

interface Engine {
  name: string;
  store: DBStore;
  raw: Raw;
  concurrency: number[];
  close(): Promise<void>;
}

const table = `ws_bench_${process.pid}_${randomBytes(3).toString('hex')}`;
const utc = (ms: number) => new Date(ms).toISOString().replace('T', ' ').slice(0, 23);

async function sqlite(): Promise<Engine> {
  const dir = mkdtempSync(join(os.tmpdir(), 'websession-bench-'));
  const db = new Database(join(dir, 'bench.db'));
  db.pragma('journal_mode = WAL');
  const store = new DBStore(db, table, { createTable: true });
  await store.createTable();
  const get = db.prepare(`SELECT data, atime FROM "${table}" WHERE session_id = ?`);
  const upsert = db.prepare(
    `INSERT INTO "${table}" (session_id, atime, data) VALUES (?, ?, ?) ON CONFLICT (session_id) DO UPDATE SET atime = excluded.atime, data = excluded.data`,
  );
  const update = db.transaction((key: string, atime: number) => {
    const row = get.get(key) as { data: string };
    upsert.run(key, utc(atime), row.data);
  });
  const updateIf = db.prepare(
    `UPDATE "${table}" SET atime = ?, data = ? WHERE session_id = ? AND data = ?`,
  );
  return {
    name: 'SQLite (better-sqlite3, WAL, file in tmpdir)',
    store,
    raw: {
      get: async (k) => get.get(k),
      set: async (k, a, d) => upsert.run(k, utc(a), d),
      update: async (k, a) => update.immediate(k, a),
      updateIf: async (k, a, d) => updateIf.run(utc(a), d, k, d),
    },
    concurrency: [1],
    close: async () => {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function postgres(): Promise<Engine> {
  const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 10 });
  const store = new DBStore(pool, table, { createTable: true });
  await store.createTable();
  const cols = 'data, (EXTRACT(EPOCH FROM atime) * 1000)::float8 AS atime';
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    name: 'PostgreSQL (pg Pool, max 10)',
    store,
    raw: {
      get: (k) =>
        pool.query({
          name: 'raw_get',
          text: `SELECT ${cols} FROM "${table}" WHERE session_id = $1`,
          values: [k],
        }),
      set: (k, a, d) =>
        pool.query({
          name: 'raw_upsert',
          text: `INSERT INTO "${table}" (session_id, atime, data) VALUES ($1, $2, $3) ON CONFLICT (session_id) DO UPDATE SET atime = EXCLUDED.atime, data = EXCLUDED.data`,
          values: [k, iso(a), d],
        }),
      updateIf: (k, a, d) =>
        pool.query({
          name: 'raw_update_if',
          text: `UPDATE "${table}" SET atime = $2, data = $3 WHERE session_id = $1 AND data = $4`,
          values: [k, iso(a), d, d],
        }),
      async update(k, a) {
        const c = await pool.connect();
        try {
          await c.query('BEGIN');
          const { rows } = await c.query({
            name: 'raw_lock',
            text: `SELECT ${cols} FROM "${table}" WHERE session_id = $1 FOR UPDATE`,
            values: [k],
          });
          await c.query({
            name: 'raw_update',
            text: `UPDATE "${table}" SET atime = $2, data = $3 WHERE session_id = $1`,
            values: [k, iso(a), rows[0].data],
          });
          await c.query('COMMIT');
        } finally {
          c.release();
        }
      },
    },
    concurrency: [1, 8],
    close: async () => {
      await pool.query(`DROP TABLE IF EXISTS "${table}", "${table}_lease"`);
      await pool.end();
    },
  };
}

async function mariadb(): Promise<Engine> {
  const pool = mysql.createPool({ uri: MYSQL_URL, connectionLimit: 10 });
  const store = new DBStore(pool, table, { createTable: true });
  await store.createTable();
  const cols = 'data, CAST(atime AS CHAR) AS atime';
  return {
    name: 'MySQL/MariaDB (mysql2 promise pool, 10 connections)',
    store,
    raw: {
      get: (k) => pool.execute(`SELECT ${cols} FROM \`${table}\` WHERE session_id = ?`, [k]),
      set: (k, a, d) =>
        pool.execute(
          `INSERT INTO \`${table}\` (session_id, atime, data) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE atime = VALUES(atime), data = VALUES(data)`,
          [k, utc(a), d],
        ),
      updateIf: (k, a, d) =>
        pool.execute(
          `UPDATE \`${table}\` SET atime = ?, data = ? WHERE session_id = ? AND CAST(data AS BINARY) = CAST(? AS BINARY)`,
          [utc(a), d, k, d],
        ),
      async update(k, a) {
        const c = await pool.getConnection();
        try {
          await c.query('START TRANSACTION');
          const [rows] = await c.execute(
            `SELECT ${cols} FROM \`${table}\` WHERE session_id = ? FOR UPDATE`,
            [k],
          );
          const data = (rows as { data: string }[])[0]!.data;
          await c.execute(`UPDATE \`${table}\` SET atime = ?, data = ? WHERE session_id = ?`, [
            utc(a),
            data,
            k,
          ]);
          await c.query('COMMIT');
        } finally {
          c.release();
        }
      },
    },
    concurrency: [1, 8],
    close: async () => {
      await pool.query(`DROP TABLE IF EXISTS \`${table}\`, \`${table}_lease\``);
      await pool.end();
    },
  };
}

const makers: Record<string, () => Promise<Engine>> = { sqlite, postgres, mysql: mariadb };
const keys = Array.from({ length: KEYS }, () => storeKey(generateSessionId()));
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

console.log(`| engine | operation | in flight | DBStore ops/s | driver ops/s | DBStore / driver |`);
console.log(`| --- | --- | --- | ---: | ---: | ---: |`);
for (const name of ENGINES) {
  const make = makers[name];
  if (!make) throw new Error(`unknown engine ${name}`);
  let engine: Engine;
  try {
    engine = await make();
  } catch (err) {
    console.log(`| ${name} | unavailable: ${(err as Error).message} | | | | |`);
    continue;
  }
  const { store, raw } = engine;
  for (const k of keys) await store.set(k, { data: DATA, atime: Date.now() });
  const ops: [string, (i: number) => unknown, (i: number) => unknown][] = [
    ['load (get)', (i) => store.get(keys[i % KEYS]!), (i) => raw.get(keys[i % KEYS]!)],
    [
      'save (set: upsert)',
      (i) => store.set(keys[i % KEYS]!, { data: DATA, atime: Date.now() }),
      (i) => raw.set(keys[i % KEYS]!, Date.now(), DATA),
    ],
    [
      'save as loaded (update with the record read: one conditional UPDATE)',
      (i) =>
        store.update(keys[i % KEYS]!, (cur) => ({ data: cur?.data ?? DATA, atime: Date.now() }), {
          data: DATA,
          atime: 0,
        }),
      (i) => raw.updateIf(keys[i % KEYS]!, Date.now(), DATA),
    ],
    [
      'save (update: locked read-modify-write)',
      (i) =>
        store.update(keys[i % KEYS]!, (cur) => ({ data: cur?.data ?? DATA, atime: Date.now() })),
      (i) => raw.update(keys[i % KEYS]!, Date.now()),
    ],
  ];
  for (const concurrency of engine.concurrency) {
    for (const [op, ours, theirs] of ops) {
      await rate(theirs, concurrency); // warm up both (prepared statements, pool)
      await rate(ours, concurrency);
      const a = await rate(ours, concurrency);
      const b = await rate(theirs, concurrency);
      console.log(
        `| ${engine.name} | ${op} | ${concurrency} | ${fmt(a)} | ${fmt(b)} | ${(a / b).toFixed(2)} |`,
      );
    }
  }
  await engine.close();
}
