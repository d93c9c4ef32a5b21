// What every DBStore engine is tested for (test/stores/{sqlite,postgres,mysql}.test.ts): the
// store contract, concurrency, web.py's hand-made table, UTC times, batched cleanup, the web.py
// example with only its database line changed, and an unreachable database.
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  createSessionTable,
  type DatabaseHandle,
  type DatabaseParams,
  DBStore,
  generateSessionId,
  SessionManager,
  StoreUnavailableError,
  sessionTableDDL,
  storeKey,
  UnsupportedError,
} from 'websession';
import * as web from 'websession/web';
import { recordingLogger } from './console-capture.js';
import { describeStoreContract } from './store-contract.js';
import { storeKind } from './stores.js';
import { uniqueTable } from './unique-table.js';

/** One engine as the shared tests drive it. */
export interface DbEngine {
  /** `SQLite`, `PostgreSQL`, `MySQL`. */
  name: string;
  dbn: 'sqlite' | 'postgres' | 'mysql';
  /** `web.database` parameters reaching the test database. */
  params: DatabaseParams;
  /** `web.database` parameters reaching nothing (a closed port). */
  unreachable?: DatabaseParams;
  /** A handle as an application would hold it (pool or Database), and how to close it. */
  open(): Promise<{ db: DatabaseHandle; close(): Promise<void> }>;
  /** Raw SQL on the engine's own placeholders (`?` or `$1`). */
  sql(text: string, values?: unknown[]): Promise<Record<string, unknown>[]>;
  /** web.py's table, exactly its three columns, in this engine's closest types. */
  seedDDL(table: string): string;
  /** Names of the table's indexes. */
  indexNames(table: string): Promise<string[]>;
  /** The stored atime of a row as `YYYY-MM-DD HH:MM:SS` text, as the database shows it. */
  atimeText(table: string, key: string): Promise<string>;
  /** Where `?` placeholders are written `$1`, `$2`… */
  dollar?: boolean;
}

export { uniqueTable };

const key = () => storeKey(generateSessionId());
const ph = (engine: DbEngine, n: number) => (engine.dollar ? `$${n}` : '?');

type Data = { logged_in: boolean; count: number; [k: string]: unknown };

/**
 * The round trip of every "cut connection" test: log in through {@link exampleApp}, cut the
 * proxy (the page is a 503 and the store's calls fail as unavailable), restore it, and the
 * session saved before the outage is served again and still counts.
 */
export async function loginCutRestore(
  store: DBStore,
  proxy: { cut(): Promise<void>; restore(): Promise<void> },
): Promise<void> {
  const logger = recordingLogger();
  const { app } = exampleApp(store, logger);
  const browser = app.browser();
  await browser.open('/login');
  assert.equal((await browser.open('/')).data, 'in');
  await proxy.cut();
  const cut = await browser.open('/');
  assert.equal(cut.statusCode, 503);
  assert.equal(logger.lines.length, 1, 'the web layer reports the outage once');
  assert.match(logger.lines[0]!, /^\[websession\] \[\w+\] get failed: /);
  await assert.rejects(store.get(key()), StoreUnavailableError);
  await assert.rejects(
    store.update(key(), () => ({ data: 'x', atime: Date.now() })),
    StoreUnavailableError,
  );
  await proxy.restore();
  const back = await browser.open('/');
  assert.equal(back.statusCode, 200);
  assert.equal(back.data, 'in', 'the session saved before the outage is still there');
  assert.equal((await browser.open('/count')).data, '1');
}

/**
 * The round trip of a single connection given to DBStore (a pg Client, a mysql2 connection)
 * whose connection is cut: the store answers unavailable, and after the outage still does,
 * saying to give it a pool (it does not reopen a connection the application gave).
 */
export async function cutSingleConnection(
  store: DBStore,
  proxy: { cut(): Promise<void>; restore(): Promise<void> },
): Promise<void> {
  await store.set(key(), { data: 'x', atime: Date.now() });
  await proxy.cut();
  await assert.rejects(store.get(key()), StoreUnavailableError);
  await proxy.restore();
  await assert.rejects(store.get(key()), (err: Error) => {
    assert.ok(err instanceof StoreUnavailableError, String(err));
    assert.match(err.message, /lost its connection.*give it a pool or a URL instead/);
    return true;
  });
}

/** The example runner's routes on a store: /login, /count, /set?k=…, /. */
export function exampleApp(store: DBStore, logger = recordingLogger()) {
  const app = web.application(
    ['/', 'Index', '/login', 'Login', '/count', 'Count', '/set', 'SetKey'],
    () => ({ Index, Login, Count, SetKey }),
  );
  const session = web.session.Session<Data>(app, store, null, { cleanup_interval: 0, logger });
  class Index {
    GET() {
      return session.get('logged_in', false) ? 'in' : 'out';
    }
  }
  class Login {
    GET() {
      session.logged_in = true;
      throw web.seeother('/');
    }
  }
  class Count {
    async GET() {
      const data = await session.update((s) => {
        s.count = (s.count ?? 0) + 1;
      });
      return String(data.count);
    }
  }
  class SetKey {
    GET() {
      const k = web.input().k!;
      session[`k${k}`] = Number(k);
      return 'ok';
    }
  }
  return { app, session };
}

export function describeDBStore(engine: DbEngine, skip: string | false): void {
  const tables: string[] = [];
  const drop = async (table: string) => {
    for (const t of [table, `${table}_lease`])
      await engine.sql(`DROP TABLE IF EXISTS ${t}`).catch(() => {});
  };
  const table = () => {
    const t = uniqueTable();
    tables.push(t);
    return t;
  };

  // The contract runs on the shared registry's fresh store of this kind, as every store's does.
  const fresh = async () => (await storeKind(engine.dbn)).make();
  describeStoreContract(`DBStore on ${engine.name}`, fresh, skip);

  describe(`DBStore on ${engine.name}`, { skip }, () => {
    let db: DatabaseHandle;
    let closeDb: () => Promise<void>;
    before(async () => {
      ({ db, close: closeDb } = await engine.open());
    });
    after(async () => {
      for (const t of tables) await drop(t);
      await closeDb?.();
    });

    it('creates the table and its atime index, idempotently', async () => {
      const t = table();
      await createSessionTable(db, t);
      await createSessionTable(db, t);
      assert.ok((await engine.indexNames(t)).includes(`${t}_atime_idx`), 'atime index');
      assert.ok((await engine.indexNames(t)).includes(`${t}_user_idx`), 'user_id index');
      const store = new DBStore(db, t);
      const k = key();
      await store.set(k, { data: 'x', atime: Date.now(), user: 'ann' });
      assert.equal((await store.get(k))?.data, 'x');
      assert.equal(await store.hasUserIndex(), true);
      assert.deepEqual(await store.userSessions('ann'), [k]);
      const rows = await engine.sql(
        `SELECT user_id FROM ${t} WHERE session_id = ${ph(engine, 1)}`,
        [k],
      );
      assert.equal(rows[0]?.user_id, 'ann', 'the user is in the same row as the session');
      await store.set(k, { data: 'y', atime: Date.now() });
      assert.deepEqual(await store.userSessions('ann'), [], 'a session unbound from its user');
    });

    it("works on web.py's hand-made table (exactly the seed's columns), keeping data readable", async () => {
      const t = table();
      await engine.sql(engine.seedDDL(t));
      const store = new DBStore(db, t);
      const { app } = exampleApp(store);
      const browser = app.browser();
      await browser.open('/login');
      assert.equal((await browser.open('/')).data, 'in');
      assert.equal((await browser.open('/count')).data, '1');
      const rows = await engine.sql(`SELECT session_id, data FROM ${t}`);
      assert.equal(rows.length, 1);
      assert.match(String(rows[0]!.session_id).trim(), /^[0-9a-f]{64}$/);
      assert.match(String(rows[0]!.data), /logged_in/, 'data is readable codec text');
      assert.equal(await store.cleanup(3600), 0);
      const all: string[] = [];
      for await (const k of store.keys()) all.push(k);
      assert.deepEqual(all, [String(rows[0]!.session_id).trim()]);
      // Sessions bound to a user are stored all the same; only the index is unavailable.
      const bound = key();
      await store.set(bound, { data: 'x', atime: Date.now(), user: 'ann' });
      await store.update(bound, (cur) => cur && { ...cur, data: 'y', user: 'ann' });
      assert.equal((await store.get(bound))?.data, 'y');
      assert.equal(await store.hasUserIndex(), false);
      await assert.rejects(store.userSessions('ann'), (err: unknown) => {
        assert.ok(err instanceof UnsupportedError, String(err));
        assert.match(err.message, /has no user_id column.*ALTER TABLE/);
        return true;
      });
      const manager = new SessionManager(store, { cleanup_interval: 0 });
      await assert.rejects(manager.listUserSessions('ann'), UnsupportedError);
    });

    it('gains the user index once user_id and its index are added to a web.py table', async () => {
      const t = table();
      await engine.sql(engine.seedDDL(t));
      await engine.sql(`ALTER TABLE ${t} ADD COLUMN user_id VARCHAR(256)`);
      const userIndex = sessionTableDDL(engine.dbn, t).at(-1)!;
      assert.match(userIndex, /CREATE INDEX .*_user_idx/);
      await engine.sql(userIndex);
      const store = new DBStore(db, t);
      const k = key();
      await store.set(k, { data: 'x', atime: Date.now(), user: 'bo' });
      assert.deepEqual(await store.userSessions('bo'), [k]);
      assert.ok((await engine.indexNames(t)).includes(`${t}_user_idx`));
    });

    it('keeps atime in UTC', async () => {
      const t = table();
      const store = new DBStore(db, t, { createTable: true });
      const k = key();
      const when = Date.UTC(2030, 0, 2, 3, 4, 5, 0);
      await store.set(k, { data: 'x', atime: when });
      assert.equal(await engine.atimeText(t, k), '2030-01-02 03:04:05');
      assert.equal((await store.get(k))?.atime, when);
      await store.touch(k, when + 3600_000);
      assert.equal(await engine.atimeText(t, k), '2030-01-02 04:04:05');
    });

    it('50 concurrent first saves and 50 concurrent saves of one session: no unique-key error', async () => {
      const t = table();
      const store = new DBStore(db, t, { createTable: true });
      const { app } = exampleApp(store);
      const firsts = await Promise.all(Array.from({ length: 50 }, () => app.request('/login')));
      assert.deepEqual(new Set(firsts.map((r) => r.status)), new Set(['303 See Other']));
      assert.equal(new Set(firsts.map((r) => r.headers['Set-Cookie'])).size, 50);
      assert.equal(Number((await engine.sql(`SELECT COUNT(*) AS n FROM ${t}`))[0]!.n), 50);

      const browser = app.browser();
      await browser.open('/login');
      const cookie = [...browser.cookies].map(([n, v]) => `${n}=${v}`).join('; ');
      const counts = await Promise.all(
        Array.from({ length: 50 }, () => app.request('/count', { headers: { cookie } })),
      );
      assert.deepEqual(new Set(counts.map((r) => r.status)), new Set(['200 OK']));
      assert.deepEqual(
        counts.map((r) => Number(r.data)).sort((a, b) => a - b),
        Array.from({ length: 50 }, (_, i) => i + 1),
      );
      const sets = await Promise.all(
        Array.from({ length: 50 }, (_, i) => app.request(`/set?k=${i}`, { headers: { cookie } })),
      );
      assert.deepEqual(new Set(sets.map((r) => r.status)), new Set(['200 OK']));
      const manager = new SessionManager<Data>(store, { cleanup_interval: 0 });
      const s = await manager.load({ cookie });
      for (let i = 0; i < 50; i++) assert.equal(s[`k${i}`], i, `k${i} kept`);
      assert.equal(s.count, 50);
    });

    it('update is atomic across two pools racing to create one row', async () => {
      const t = table();
      const other = await engine.open();
      try {
        const a = new DBStore(db, t, { createTable: true });
        const b = new DBStore(other.db, t);
        await a.createTable();
        const k = key();
        const inc = (s: DBStore) =>
          s.update(k, (cur) => ({ data: String(Number(cur?.data ?? 0) + 1), atime: Date.now() }));
        await Promise.all(Array.from({ length: 25 }, () => [inc(a), inc(b)]).flat());
        assert.equal((await a.get(k))?.data, '50');
      } finally {
        await other.close();
      }
    });

    it('cleanup deletes expired rows in batches and keeps fresh ones', async () => {
      const t = table();
      const store = new DBStore(db, t, { createTable: true });
      await store.createTable();
      const old = Date.now() - 7200_000;
      const keys = Array.from({ length: 2100 }, key);
      const values = keys.map((k) => [
        k,
        new Date(old).toISOString().replace('T', ' ').slice(0, 19),
        'old',
      ]);
      for (let i = 0; i < values.length; i += 300) {
        const chunk = values.slice(i, i + 300);
        let n = 0;
        const rows = chunk
          .map(() => `(${ph(engine, ++n)}, ${ph(engine, ++n)}, ${ph(engine, ++n)})`)
          .join(', ');
        await engine.sql(`INSERT INTO ${t} (session_id, atime, data) VALUES ${rows}`, chunk.flat());
      }
      const fresh = key();
      await store.set(fresh, { data: 'fresh', atime: Date.now() });
      const progress: number[] = [];
      assert.equal(await store.cleanup(3600, (p) => progress.push(p.removed)), 2100);
      // Bounded statements: 1000 rows each; on SQLite (its driver runs on the event loop) 100 at
      // first, then as many as take about 5 ms, never more than 1000.
      if (store.kind === 'sqlite') {
        assert.equal(progress[0], 100, 'a small first statement');
        assert.equal(progress.at(-1), 2100);
        for (let i = 1; i < progress.length; i++) {
          const step = progress[i]! - progress[i - 1]!;
          // A statement that took the last rows exactly is followed by one that finds none.
          const last = i === progress.length - 1;
          assert.ok(
            (step > 0 || (last && step === 0)) && step <= 1000,
            `bounded statements: ${progress.join(', ')}`,
          );
        }
      } else
        assert.deepEqual(
          progress,
          Array.from({ length: 3 }, (_, i) => Math.min(2100, (i + 1) * 1000)),
          'bounded statements',
        );
      assert.equal(Number((await engine.sql(`SELECT COUNT(*) AS n FROM ${t}`))[0]!.n), 1);
      assert.equal((await store.get(fresh))?.data, 'fresh');
    });

    it('rejects a table name that is not an identifier, before any SQL', () => {
      for (const bad of ['sessions; DROP TABLE x', 'a-b', '"s"', '', '1abc', 's'.repeat(49)]) {
        assert.throws(() => new DBStore(db, bad), /bad session table name/);
      }
    });

    it('runs the web.py example with only its database line changed', async () => {
      const t = table();
      const source = await readFile(
        new URL('../../examples/webpy/sessions-db.ts', import.meta.url),
        'utf8',
      );
      const line = "web.database({ dbn: 'sqlite', db: 'sessions.db' })";
      assert.ok(
        source.includes(line) && source.includes("DBStore(db, 'sessions'"),
        'the example has the lines this test changes',
      );
      const changed = source
        .replace(line, `web.database(${JSON.stringify(engine.params)})`)
        .replace("DBStore(db, 'sessions'", `DBStore(db, '${t}'`);
      const file = fileURLToPath(
        new URL(`../../examples/webpy/.test-${engine.dbn}-${process.pid}.ts`, import.meta.url),
      );
      await writeFile(file, changed);
      try {
        const example = (await import(
          file
        )) as typeof import('../../examples/webpy/sessions-db.js');
        const browser = example.app.browser();
        assert.match((await browser.open('/')).data, /not logged in/);
        assert.equal((await browser.open('/login')).status, '303 See Other');
        assert.match((await browser.open('/')).data, /You are logged in/);
        assert.equal(Number((await engine.sql(`SELECT COUNT(*) AS n FROM ${t}`))[0]!.n), 1);
        await browser.open('/logout');
        assert.match((await browser.open('/')).data, /not logged in/);
        await example.session.manager.close();
        await example.db.close();
      } finally {
        await rm(file, { force: true });
      }
    });

    const unreachable = engine.unreachable;
    if (unreachable) {
      it('an unreachable database gives StoreUnavailableError and HTTP 503, and the process stays up', async () => {
        const down = web.database(unreachable);
        const store = new DBStore(down, table());
        await assert.rejects(store.get(key()), (err: unknown) => {
          assert.ok(err instanceof StoreUnavailableError, String(err));
          assert.match(
            err.message,
            new RegExp(
              `^\\[websession\\] \\[${engine.dbn}\\] get failed: cannot reach ${{ sqlite: 'SQLite', postgres: 'PostgreSQL', mysql: 'MySQL' }[engine.dbn]} at 127\\.0\\.0\\.1:${unreachable.port} \\(connect ECONNREFUSED`,
            ),
          );
          return true;
        });
        await assert.rejects(
          store.set(key(), { data: 'x', atime: Date.now() }),
          StoreUnavailableError,
        );
        const logger = recordingLogger();
        const { app } = exampleApp(store, logger);
        const r = await app.request('/', {
          headers: { cookie: `webpy_session_id=${generateSessionId()}` },
        });
        assert.equal(r.statusCode, 503);
        assert.equal(logger.lines.length, 1, 'the web layer reports the outage once');
        assert.match(logger.lines[0]!, /get failed: cannot reach/);
        await store.close();
        await down.close();
      });
    }
  });
}
