/**
 * `websession migrate --from-express-session <module> --to <store-url>`: moves every session of
 * an express-session store into a websession store at once, the same move a request makes (so a
 * user whose session this moved, coming back with the old cookie, finds it). Resumable: a run
 * stopped anywhere (Ctrl-C, a crash) is run again and moves what is left.
 *
 * The module (a path, loaded with import()) exports the old store as `store` (or default; or a
 * function, maybe async, returning it) and express-session's `secret` (a string or an array).
 * @module
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SessionEmitter } from '../core/events.js';
import type { MigrationHost } from '../core/migration.js';
import { StoreCalls } from '../core/store-calls.js';
import type { ConnectStoreLike } from '../stores/connect-calls.js';
import { ExpressSessionMigration, type MoveOutcome } from '../stores/express-session-migration.js';
import { UsageError } from './errors.js';
import type { Io } from './io.js';
import { openStore } from './open-store.js';
import { pool } from './pool.js';
import { Progress } from './progress.js';

/** ms one store call may take before the run fails. */
const CALL_TIMEOUT_MS = 30_000;

/** The old store and secret a module exports. */
async function loadModule(
  spec: string,
): Promise<{ store: ConnectStoreLike; secret: string | string[] }> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(resolve(spec)).href)) as Record<string, unknown>;
  } catch (err) {
    throw new UsageError(`cannot load --from-express-session ${spec}: ${(err as Error).message}`);
  }
  let store = mod.store ?? mod.default;
  if (typeof store === 'function') store = await (store as () => unknown)();
  const secret = mod.secret;
  if (store === null || typeof store !== 'object')
    throw new UsageError(`${spec} must export the express-session store as "store" (or default)`);
  if (
    !(
      typeof secret === 'string' ||
      (Array.isArray(secret) && secret.every((s) => typeof s === 'string'))
    )
  )
    throw new UsageError(
      `${spec} must export express-session's secret as "secret" (a string or an array)`,
    );
  return { store: store as ConnectStoreLike, secret };
}

/** Runs the command; `jobs` sessions are moved at once. */
export async function migrateFromExpressSession(
  spec: string,
  toUrl: string | undefined,
  jobs: number,
  io: Io,
): Promise<void> {
  const { store: old, secret } = await loadModule(spec);
  const to = await openStore(toUrl, '--to', true);
  const migration = new ExpressSessionMigration({ store: old, secret });
  let stopping = false;
  const stop = () => {
    stopping = true;
  };
  process.once('SIGINT', stop);
  try {
    // Every call gets a deadline, as in a request: a store that never calls back fails the run.
    const calls = new StoreCalls('express-session', CALL_TIMEOUT_MS, 0, new SessionEmitter());
    const host: MigrationHost = {
      store: to,
      call: (op, key, fn) => calls.run(op, key, fn),
      maxSize: 65536,
      warn: (message) => io.err.write(`${message}\n`),
    };
    const sids = await migration.oldIds();
    const total = sids.length;
    const counts: Record<MoveOutcome, number> = {
      moved: 0,
      'moved before': 0,
      expired: 0,
      missing: 0,
      unreadable: 0,
    };
    let done = 0;
    const bar = new Progress(io, 'migrate');
    const started = Date.now();
    async function* untilStopped() {
      for (const sid of sids) {
        if (stopping) return;
        yield sid;
      }
    }
    await pool(untilStopped(), jobs, async (sid) => {
      const { outcome } = await migration.move(sid, {}, host);
      counts[outcome]++;
      bar.update(++done, total);
    });
    bar.done();
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    io.out.write(
      `moved ${counts.moved} of ${total} express-session session(s) in ${secs} s (${counts['moved before']} moved before, ${counts.expired} expired removed, ${counts.missing} gone meanwhile, ${counts.unreadable} unreadable left in place)\n`,
    );
    if (stopping)
      throw new Error(
        `interrupted after ${done} of ${total}: run the same command again to move the ${total - done} left`,
      );
  } finally {
    process.removeListener('SIGINT', stop);
    migration.close();
    await to.close();
  }
}
