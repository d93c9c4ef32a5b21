// The checkpoint worker of a SQLite file asks the serving connection to finish its copy of a long
// WAL, and a held connection (a cleanup pass deleting through it) does not answer until released.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Sqlite from 'better-sqlite3';
import { checkpointOffThread, holdCheckpoints } from '../../src/stores/db/sqlite-checkpoints.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const tempDir = tempDirs('sqlite-checkpoints');

describe('checkpoints asked of a SQLite serving connection', () => {
  it('are run, except while the connection is held', async () => {
    const file = join(await tempDir(), 'held.db');
    const db = new Sqlite(file);
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE t (v BLOB)');
    const insert = db.prepare('INSERT INTO t VALUES (?)');
    const row = Buffer.alloc(3000, 1);
    /** The checkpoints the serving connection ran for the worker (seen through its pragma calls). */
    let asked = 0;
    const serving = {
      pragma(sql: string) {
        if (sql.startsWith('wal_checkpoint')) asked++;
        return db.pragma(sql);
      },
    };
    const worker = checkpointOffThread(serving, file);
    /** Writes without a pause (20 rows per event-loop turn) until `done()` or `limit` rows. */
    const write = async (done: () => boolean, limit = Number.POSITIVE_INFINITY) => {
      let rows = 0;
      while (!done() && rows < limit) {
        for (let i = 0; i < 20; i++, rows++) insert.run(row);
        await new Promise((resolve) => setImmediate(resolve));
      }
      return rows;
    };
    try {
      // Not held: a long WAL makes the worker ask.
      const rowsToAsk = await write(() => asked > 0);
      assert.ok(asked > 0);
      // Held: three times as many rows, and the worker's asks go unanswered.
      const release = holdCheckpoints(serving);
      asked = 0;
      await write(() => asked > 0, 3 * rowsToAsk);
      assert.equal(asked, 0, 'no checkpoint while held');
      // Released (twice: the second call is a no-op): the next ask is answered.
      release();
      release();
      await write(() => asked > 0);
      assert.ok(asked > 0);
    } finally {
      await worker.stop();
      db.close();
    }
  });
});
