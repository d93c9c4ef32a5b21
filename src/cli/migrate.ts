/**
 * `websession migrate --from <url> --to <url>`: copies every live session from one store to
 * another, several at once; resumable (a rerun skips what is there) and verified at the end.
 * `--from-express-session` hands over to migrate-express-session.ts.
 * @module
 */
import { storeKey } from '../core/id.js';
import type { Store } from '../core/store.js';
import { decode } from './decode.js';
import { UsageError } from './errors.js';
import type { Io } from './io.js';
import { migrateFromExpressSession } from './migrate-express-session.js';
import { openStore } from './open-store.js';
import { seconds, type Values } from './options.js';
import { pool } from './pool.js';
import { Progress } from './progress.js';

/** Sessions `migrate` copies at once. */
const MIGRATE_IN_FLIGHT = 64;

/** The number of keys in `store` (the progress bar's total). */
async function count(store: Store): Promise<number> {
  let n = 0;
  for await (const _ of store.keys()) n++;
  return n;
}

/** Runs `migrate`. */
export async function migrate(values: Values, io: Io): Promise<void> {
  const timeout = seconds(values.timeout as string | undefined, 'timeout', 86400);
  const jobs = values.jobs === undefined ? MIGRATE_IN_FLIGHT : Number(values.jobs);
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 1024) {
    throw new UsageError('--jobs must be an integer from 1 to 1024 (sessions copied at once)');
  }
  const fromExpressSession = values['from-express-session'];
  if (typeof fromExpressSession === 'string')
    return migrateFromExpressSession(fromExpressSession, values.to as string | undefined, jobs, io);
  const from = await openStore(values.from as string | undefined, '--from');
  let to: Store | undefined;
  try {
    to = await openStore(values.to as string | undefined, '--to', true);
    // Reach the destination (its driver, its server) before reading anything from the source.
    await to.get(storeKey('websession migrate probe'));
  } catch (err) {
    await from.close();
    await to?.close();
    throw err;
  }
  try {
    const started = Date.now();
    const cutoff = started - timeout * 1000;
    const total = await count(from);
    const progress = new Progress(io, 'migrate');
    let done = 0;
    let copied = 0;
    let skipped = 0;
    let expired = 0;
    const live: string[] = [];
    // Ctrl-C: say how far it got; every session copied is in the destination, and a rerun skips it.
    const interrupted = () => {
      progress.done();
      io.err.write(
        `websession: migrate interrupted after ${done} of ${total} session(s) (${copied} copied); run the same command again to resume: what is copied stays and is skipped\n`,
      );
      process.exit(130);
    };
    process.once('SIGINT', interrupted);
    process.once('SIGTERM', interrupted);
    // Each key is read from the source and written to the destination by one of 64 workers, so
    // reads of some overlap writes of others (the source's and destination's latencies add up
    // per key, not per run).
    await pool(from.keys(), jobs, async (key) => {
      const record = await from.get(key);
      done++;
      if (!record || record.atime < cutoff) {
        if (record) expired++;
        progress.update(done, total);
        return;
      }
      live.push(key);
      const user = decode(record)?.meta.user;
      // Resumable: a session already copied (same data, same access give or take the
      // destination's time precision: MySQL DATETIME keeps seconds) or newer in the destination
      // (an app already writing there) is left as it is, decided under the destination's lock.
      let wrote = false;
      await to.update(key, (current) => {
        wrote = !(
          current &&
          (current.atime > record.atime ||
            (current.data === record.data && current.atime > record.atime - 1000))
        );
        return wrote ? { data: record.data, atime: record.atime, user } : undefined;
      });
      if (wrote) copied++;
      else skipped++;
      progress.update(done, total);
    });
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    progress.done();
    // Verify: every live source session is in the destination, by one pass over the
    // destination's keys (not one read per session). On a terminal the bar says so.
    const verifying = new Progress(io, 'verify');
    const wanted = new Set(live);
    let found = 0;
    verifying.update(0, live.length);
    for await (const key of to.keys()) {
      if (wanted.delete(key)) verifying.update(++found, live.length);
    }
    verifying.done();
    const missing = wanted.size;
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    io.out.write(
      `migrated ${live.length} live session(s) of ${total} (${copied} copied, ${skipped} already there, ${expired} expired skipped) in ${secs} s\n`,
    );
    if (missing > 0)
      throw new Error(`verification failed: ${missing} live session(s) missing in the destination`);
    io.out.write(`verified: all ${live.length} live session(s) are in the destination\n`);
  } finally {
    await from.close();
    await to.close();
  }
}
