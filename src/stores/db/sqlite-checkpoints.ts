/**
 * WAL checkpoints of a SQLite file, off the event loop. SQLite's automatic checkpoint runs inside
 * the statement that crosses 1,000 pages of WAL, copying them into the database and flushing it
 * (tens of ms on a slow disk, on this thread: the worst pause of a cleanup pass). The serving
 * connection turns it off, and a worker thread with a connection of its own runs a PASSIVE
 * checkpoint every few hundred ms, which never blocks the serving connection's reads or writes.
 *
 * A WAL only starts again from its beginning when a write finds every frame of it copied. Under
 * writes that never pause, the worker's checkpoint never catches up with the last frame, so the
 * WAL would grow for as long as the writes go on (hundreds of MB in minutes, and each read
 * searching more of it). So once the worker has copied a WAL of {@link RESTART_FRAMES} frames or
 * more, it asks the serving connection to checkpoint too: that copies only the frames written
 * since (no write can come in between on its own thread), and the next write restarts the WAL.
 * @module
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** How often the worker checkpoints (ms): the WAL stays within what a few hundred ms write. */
const EVERY_MS = 200;
/** WAL frames (pages) past which the serving connection finishes the worker's copy. */
const RESTART_FRAMES = 4096;
/**
 * Frames that may be left for the serving connection to copy (its checkpoint holds the event
 * loop), and how many more copies in a row the worker makes at most to get there.
 */
const [FEW_FRAMES, TRIES] = [256, 3];
/** The WAL file is cut back to this size when it restarts (SQLite keeps it whole otherwise). */
const WAL_SIZE_LIMIT = 64 * 1024 * 1024;

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
const passive = () => db.pragma('wal_checkpoint(PASSIVE)')[0];
const whole = (r) => r && r.busy === 0 && r.checkpointed === r.log;
let asked = -1;
const checkpoint = () => {
  try {
    let r = passive();
    // A long WAL, copied whole: copy again what came in meanwhile while much did (a few times at
    // most), so that the serving connection's own checkpoint has little left; then ask for it.
    for (let i = 0; i < workerData.tries && whole(r) && r.log >= workerData.restartFrames; i++) {
      const before = r.log;
      r = passive();
      if (r && r.log - before <= workerData.fewFrames) break;
    }
    // Once per WAL length: a WAL that stays as it is (no writes) restarts at the next write.
    if (whole(r) && r.log >= workerData.restartFrames && r.log !== asked) {
      asked = r.log;
      parentPort.postMessage('finish');
    }
  } catch {}
};
const timer = setInterval(checkpoint, workerData.everyMs);
parentPort.once('message', () => { clearInterval(timer); checkpoint(); db.close(); parentPort.close(); });
`;

/** Serving connections whose own checkpoint waits, with how many holds each. */
const held = new WeakMap<object, number>();

/**
 * Holds back the checkpoint the worker asks of serving connection `db` (while a cleanup pass
 * deletes many rows through it), until the returned function is called. Any handle may be held:
 * one with no worker is unaffected.
 */
export function holdCheckpoints(db: object): () => void {
  held.set(db, (held.get(db) ?? 0) + 1);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const left = (held.get(db) ?? 1) - 1;
    if (left > 0) held.set(db, left);
    else held.delete(db);
  };
}

/** A serving connection's checkpoints, run by a worker thread until `stop()`. */
export function checkpointOffThread(
  db: { pragma(sql: string): unknown },
  file: string,
): { stop(): Promise<void> } {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER, {
    eval: true,
    workerData: {
      driver,
      file,
      everyMs: EVERY_MS,
      restartFrames: RESTART_FRAMES,
      fewFrames: FEW_FRAMES,
      tries: TRIES,
    },
  });
  worker.on('error', () => {}); // checkpoints are an optimisation: SQLite still works without
  worker.on('message', () => {
    // A cleanup pass writes fast: the flushes of a checkpoint here would wait behind its writes
    // (tens of ms); the worker asks again after it.
    if (held.has(db)) return;
    try {
      db.pragma('wal_checkpoint(PASSIVE)');
    } catch {
      // closed, or busy with another process's checkpoint: the worker asks again
    }
  });
  worker.unref(); // never holds the process open (after the listener, which would hold it)
  db.pragma('wal_autocheckpoint = 0');
  db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT}`);
  const exited = new Promise((resolve) => worker.once('exit', resolve));
  return {
    async stop() {
      worker.ref(); // held open until the worker has closed its connection
      worker.postMessage('stop');
      await exited;
    },
  };
}
