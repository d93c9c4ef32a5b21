// The files of a SQLite DBStore: created readable by their owner only (db, -wal, -shm), whatever
// the umask; a database on a read-only mount serves reads and refuses writes as unavailable; the
// WAL is checkpointed off the serving connection, yet restarts under writes that never pause, and
// the checkpoint worker never holds the process open.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Sqlite from 'better-sqlite3';
import { Database, DBStore, generateSessionId, StoreUnavailableError, storeKey } from 'websession';
import { serverStoreFromUrl } from '../helpers/server-store.js';
import { mountTmpfs, tmpfsSkip } from '../helpers/tmpfs.js';

const dir = await mkdtemp(join(tmpdir(), 'websession-sqlite-files-'));
after(() => rm(dir, { recursive: true, force: true }));
const modeOf = (file: string) => (statSync(file).mode & 0o777).toString(8);

describe('SQLite files the store creates', () => {
  for (const [how, open] of [
    [
      'web.database',
      (file: string) =>
        new DBStore(new Database({ dbn: 'sqlite', db: file }), 'sessions', {
          createTable: true,
          closeDatabase: true,
        }),
    ],
    ['a store URL', (file: string) => serverStoreFromUrl(`sqlite:${file}`)],
  ] as const) {
    it(`are 0600 under umask 022 (${how})`, async () => {
      const file = join(dir, `${how.replace(/\W/g, '-')}.db`);
      const old = process.umask(0o022);
      let store: Awaited<ReturnType<typeof open>> | undefined;
      try {
        store = await open(file);
        await store.set(storeKey(generateSessionId()), { data: 'x', atime: Date.now() });
      } finally {
        process.umask(old);
      }
      try {
        for (const f of [file, `${file}-wal`, `${file}-shm`]) assert.equal(modeOf(f), '600', f);
      } finally {
        await store.close();
      }
    });
  }

  it('an existing file keeps its mode', async () => {
    const file = join(dir, 'existing.db');
    new Sqlite(file, {}).close();
    const before = modeOf(file);
    const store = new DBStore(new Database({ dbn: 'sqlite', db: file }), 'sessions', {
      createTable: true,
      closeDatabase: true,
    });
    await store.get(storeKey(generateSessionId()));
    await store.close();
    assert.equal(modeOf(file), before);
  });
});

const skip = await tmpfsSkip();
describe('a SQLite database on a read-only mount', { skip }, () => {
  it('serves reads and answers writes as unavailable', async () => {
    const fs = await mountTmpfs('1m');
    after(() => fs.destroy());
    const file = join(fs.dir, 'sessions.db');
    const key = storeKey(generateSessionId());
    const writer = new DBStore(new Sqlite(file), 'sessions', { createTable: true });
    await writer.set(key, { data: 'kept', atime: Date.now() });
    await writer.close();
    (writer.db as Sqlite.Database).close();
    fs.remount('ro');
    const store = new DBStore(new Database({ dbn: 'sqlite', db: file }), 'sessions', {
      closeDatabase: true,
    });
    try {
      assert.equal((await store.get(key))?.data, 'kept', 'the record is served');
      await assert.rejects(
        Promise.resolve(store.set(key, { data: 'new', atime: Date.now() })),
        (err: Error) =>
          err instanceof StoreUnavailableError && /readonly|read-only/i.test(String(err.message)),
      );
    } finally {
      await store.close();
    }
  });
});

/** A store on a SQLite file `name` in the test folder that the store opens itself. */
function storeOnFile(name: string) {
  const file = join(dir, name);
  const db = new Database({ dbn: 'sqlite', db: file });
  return {
    file,
    db,
    store: new DBStore(db, 'sessions', { createTable: true, closeDatabase: true }),
  };
}

describe('WAL checkpoints of a SQLite file the store opens', () => {
  it('run off the serving connection: its auto-checkpoint is off, and the WAL still reaches the file', async () => {
    const { file, db, store } = storeOnFile('checkpoints.db');
    try {
      await store.get(storeKey(generateSessionId())); // opens it, makes the table
      const handle = (await db.handle()) as Sqlite.Database;
      assert.equal(handle.pragma('wal_autocheckpoint', { simple: true }), 0);
      const before = statSync(file).size;
      // About 100 pages of WAL: far below the 1,000 at which SQLite's own checkpoint would run.
      for (let i = 0; i < 100; i++)
        await store.set(storeKey(generateSessionId()), {
          data: 'x'.repeat(3000),
          atime: Date.now(),
        });
      // Nothing on this connection checkpoints: the file grows once the worker has run one.
      while (statSync(file).size <= before) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.ok(statSync(file).size > before);
    } finally {
      await store.close();
    }
  });
});

/** The WAL's checkpoint sequence number (its header's bytes 12-15): it changes when the WAL restarts. */
function walSequence(wal: string): number {
  const fd = openSync(wal, 'r');
  try {
    const header = Buffer.alloc(32);
    return readSync(fd, header, 0, 32, 0) === 32 ? header.readUInt32BE(12) : -1;
  } finally {
    closeSync(fd);
  }
}

describe('the WAL of a SQLite file the store writes without a pause', () => {
  it('restarts from its start: it does not grow for as long as the writes go on', async () => {
    const { file, store } = storeOnFile('restarts.db');
    try {
      const key = storeKey(generateSessionId());
      await store.set(key, { data: 'x', atime: Date.now() });
      const first = walSequence(`${file}-wal`);
      // One write per event-loop turn (the worker's checkpoints and messages come in between),
      // never pausing: a WAL that only restarts when the writer finds it fully copied never does.
      let writes = 0;
      while (walSequence(`${file}-wal`) === first && writes < 400_000) {
        for (let i = 0; i < 20; i++)
          await store.set(key, { data: `${'x'.repeat(3000)}${writes++}`, atime: Date.now() });
        await new Promise((resolve) => setImmediate(resolve));
      }
      assert.notEqual(walSequence(`${file}-wal`), first, `no restart in ${writes} writes`);
      // The first commit after a restart cuts the file back to its limit (64 MiB).
      await store.set(key, { data: 'y', atime: Date.now() });
      assert.ok(statSync(`${file}-wal`).size <= 64 * 1024 * 1024, 'the WAL file is cut back');
    } finally {
      await store.close();
    }
  });
});

describe('the checkpoint worker of a SQLite store', () => {
  it('never holds the process open: a script that writes and never closes its store exits', async () => {
    const file = join(dir, 'exits.db');
    const script = `
      import { Database, DBStore, generateSessionId, storeKey } from 'websession';
      const store = new DBStore(new Database({ dbn: 'sqlite', db: ${JSON.stringify(file)} }), 'sessions', { createTable: true });
      await store.set(storeKey(generateSessionId()), { data: 'x', atime: Date.now() });
      console.log('written');`;
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--conditions=websession-src', '--input-type=module', '-e', script],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    after(() => child.kill('SIGKILL'));
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d;
    });
    child.stderr!.on('data', (d: Buffer) => {
      out += d;
    });
    const [code] = await once(child, 'close');
    assert.equal(code, 0, out);
    assert.equal(out.trim(), 'written');
  });
});
