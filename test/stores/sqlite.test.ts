import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import {
  ConfigError,
  DBStore,
  database,
  generateSessionId,
  StoreUnavailableError,
  storeFromUrl,
  storeKey,
} from 'websession';
import { type DbEngine, describeDBStore, uniqueTable } from '../helpers/db-store.js';
import { serverStoreFromUrl } from '../helpers/server-store.js';
import { describeStoreContract } from '../helpers/store-contract.js';

const dir = await mkdtemp(join(tmpdir(), 'websession-sqlite-'));
const file = join(dir, 'sessions.db');
const raw = new Database(file);
raw.pragma('journal_mode = WAL');
after(async () => {
  raw.close();
  await rm(dir, { recursive: true, force: true });
});

const sql = async (text: string, values: unknown[] = []) => {
  const statement = raw.prepare(text);
  if (statement.reader) return statement.all(...values) as Record<string, unknown>[];
  statement.run(...values);
  return [];
};

const engine: DbEngine = {
  name: 'SQLite',
  dbn: 'sqlite',
  params: { dbn: 'sqlite', db: file },
  async open() {
    const db = new Database(file);
    return { db, close: async () => void db.close() };
  },
  sql,
  seedDDL: (t) =>
    `CREATE TABLE ${t} (session_id CHAR(128) UNIQUE NOT NULL, atime DATETIME NOT NULL default current_timestamp, data TEXT)`,
  indexNames: async (t) =>
    (await sql(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?`, [t])).map(
      (r) => String(r.name),
    ),
  atimeText: async (t, k) =>
    String(
      (await sql(`SELECT substr(atime, 1, 19) AS a FROM ${t} WHERE session_id = ?`, [k]))[0]?.a,
    ),
};

describeDBStore(engine, false);

describeStoreContract('DBStore from sqlite::memory:', async () => ({
  store: await serverStoreFromUrl('sqlite::memory:'),
}));

const key = () => storeKey(generateSessionId());

describe('DBStore on SQLite', () => {
  it('sqlite:<file>?table=… creates its table and closes its own database', async () => {
    const table = uniqueTable();
    const store = await serverStoreFromUrl(`sqlite:${file}?table=${table}`);
    assert.equal(store.kind, 'sqlite');
    const k = key();
    await store.set(k, { data: 'via url', atime: Date.now() });
    assert.equal(
      (await sql(`SELECT data FROM ${table} WHERE session_id = ?`, [k]))[0]?.data,
      'via url',
    );
    await store.close();
    await assert.rejects(async () => store.get(k), StoreUnavailableError);
  });

  it('a file it opens runs WAL with synchronous NORMAL, FULL with fsync; a given handle keeps its own', async () => {
    const pragmas = async (db: { handle(): Promise<unknown> }) => {
      const handle = (await db.handle()) as Database.Database;
      return [
        handle.pragma('journal_mode', { simple: true }),
        handle.pragma('synchronous', { simple: true }),
      ];
    };
    const opened = database({ dbn: 'sqlite', db: file });
    assert.deepEqual(await pragmas(opened), ['wal', 1]);
    await opened.close();
    const flushed = database({ dbn: 'sqlite', db: file, fsync: true });
    assert.deepEqual(await pragmas(flushed), ['wal', 2]);
    await flushed.close();
    for (const [query, expected] of [
      ['', 1],
      ['&fsync=1', 2],
      ['&fsync=0', 1],
    ] as const) {
      const store = (await storeFromUrl(
        `sqlite:${file}?table=${uniqueTable()}${query}`,
      )) as DBStore;
      assert.deepEqual(await pragmas(store.db as ReturnType<typeof database>), ['wal', expected]);
      await store.close();
    }
    // A better-sqlite3 handle of the application's: its settings are its own.
    const own = new Database(file);
    own.pragma('synchronous = OFF');
    const store = new DBStore(own, uniqueTable(), { createTable: true });
    await store.set(key(), { data: 'x', atime: Date.now() });
    assert.equal(own.pragma('synchronous', { simple: true }), 0);
    own.close();
  });

  it('fsync is refused unless it is a boolean for SQLite, and a bad fsync= in a URL is refused', async () => {
    assert.throws(() => database({ dbn: 'postgres', db: 'test', fsync: true }), ConfigError);
    assert.throws(
      () => database({ dbn: 'sqlite', db: file, fsync: 'yes' as unknown as boolean }),
      ConfigError,
    );
    await assert.rejects(storeFromUrl(`sqlite:${file}?fsync=maybe`), /bad fsync="maybe"/);
    await assert.rejects(
      storeFromUrl(`postgres://127.0.0.1/test?fsync=1`),
      /unknown parameter "fsync"/,
    );
  });

  it('without fsync, a save is kept when the process is killed right after it', async () => {
    const table = uniqueTable();
    const k = key();
    const code = `import { storeFromUrl } from 'websession';
const store = await storeFromUrl(${JSON.stringify(`sqlite:${file}?table=${table}`)});
await store.set(${JSON.stringify(k)}, { data: 'kept', atime: Date.now() });
process.kill(process.pid, 'SIGKILL');`;
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--conditions=websession-src', '--input-type=module', '-e', code],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    );
    const [exitCode, signal] = await new Promise<[number | null, string | null]>((resolve) =>
      child.on('exit', (c, s) => resolve([c, s])),
    );
    assert.equal(signal, 'SIGKILL', `the child ended with code ${exitCode}`);
    assert.equal(
      (await sql(`SELECT data FROM ${table} WHERE session_id = ?`, [k]))[0]?.data,
      'kept',
    );
  });

  it('a database locked by another connection gives StoreUnavailableError, then recovers', async () => {
    const table = uniqueTable();
    const db = new Database(file, { timeout: 50 });
    const store = new DBStore(db, table, { createTable: true });
    const saved = key();
    await store.set(saved, { data: 'before', atime: Date.now() });
    raw.exec('BEGIN EXCLUSIVE');
    try {
      await assert.rejects(store.set(key(), { data: 'x', atime: Date.now() }), (err: unknown) => {
        assert.ok(err instanceof StoreUnavailableError, String(err));
        assert.match(
          err.message,
          /\[sqlite\] set failed: the database is unavailable or refused the write \(database is locked\)/,
        );
        return true;
      });
      await assert.rejects(
        store.update(saved, () => ({ data: 'y', atime: Date.now() })),
        StoreUnavailableError,
      );
    } finally {
      raw.exec('COMMIT');
    }
    assert.equal(
      (await store.update(saved, (cur) => ({ data: `${cur?.data} after`, atime: Date.now() })))
        ?.data,
      'before after',
    );
    db.close();
  });

  it('update holds across processes: a second process and this one increment one row 2 × 100 times', async () => {
    const table = uniqueTable();
    const store = new DBStore(new Database(file), table, {
      createTable: true,
      closeDatabase: true,
    });
    await store.createTable();
    const k = key();
    const inc = () =>
      store.update(k, (cur) => ({ data: String(Number(cur?.data ?? 0) + 1), atime: Date.now() }));
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--conditions=websession-src',
        'test/helpers/sqlite-incrementer.ts',
        file,
        table,
        k,
        '100',
      ],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    // Start ours once the child is running its loop, so the two really overlap.
    while (!out.includes('ready')) await new Promise((resolve) => setTimeout(resolve, 20));
    for (let i = 0; i < 100; i++) {
      await inc();
      if (i % 10 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    assert.equal(await exited, 0);
    assert.equal((await store.get(k))?.data, '200');
    await store.close();
  });
});
