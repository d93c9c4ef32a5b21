/**
 * WAL checkpoints of a SQLite file, off the event loop. SQLite's automatic checkpoint runs inside
 * the statement that crosses 1,000 pages of WAL, copying them into the database and flushing it
 * (tens of ms on a slow disk, on this thread: the worst pause of a cleanup pass). The serving
 * connection turns it off, and a worker thread with a connection of its own runs a PASSIVE
 * checkpoint every few hundred ms, which never blocks the serving connection's reads or writes.
 * @module
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** How often the worker checkpoints (ms): the WAL stays within what a few hundred ms write. */
const EVERY_MS = 200;

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
const checkpoint = () => { try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {} };
const timer = setInterval(checkpoint, workerData.everyMs);
parentPort.once('message', () => { clearInterval(timer); checkpoint(); db.close(); parentPort.close(); });
`;

/** A serving connection's checkpoints, run by a worker thread until `stop()`. */
export function checkpointOffThread(
  db: { pragma(sql: string): unknown },
  file: string,
): { stop(): Promise<void> } {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER, {
    eval: true,
    workerData: { driver, file, everyMs: EVERY_MS },
  });
  worker.unref(); // never holds the process open
  worker.on('error', () => {}); // checkpoints are an optimisation: SQLite still works without
  db.pragma('wal_autocheckpoint = 0');
  const exited = new Promise((resolve) => worker.once('exit', resolve));
  return {
    async stop() {
      worker.ref(); // held open until the worker has closed its connection
      worker.postMessage('stop');
      await exited;
    },
  };
}
