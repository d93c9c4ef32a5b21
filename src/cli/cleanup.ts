/**
 * `websession cleanup`: deletes the sessions idle longer than `--timeout`, or counts them
 * (`--dry-run`); one pass at a time with the servers sharing the store.
 * @module
 */
import { underCleanupLease } from '../core/cleanup-schedule.js';
import type { Io } from './io.js';
import { openStore } from './open-store.js';
import { seconds, type Values } from './options.js';
import { Progress } from './progress.js';

/** A `cleanup --timeout` below this many seconds is said out loud before it runs. */
const TINY_TIMEOUT = 60;

/** How often `cleanup` looks again while another process holds the store's cleanup lease. */
const LEASE_POLL_MS = 1000;

/** Runs `cleanup`. */
export async function cleanup(values: Values, io: Io): Promise<void> {
  const timeout = seconds(values.timeout as string | undefined, 'timeout');
  const store = await openStore(values.store as string | undefined, '--store');
  try {
    if (store.capabilities.nativeTtl) {
      io.out.write(`${store.kind} expires sessions by itself (TTL): nothing to clean\n`);
      return;
    }
    if (values['dry-run']) {
      const cutoff = Date.now() - timeout * 1000;
      let total = 0;
      let idle = 0;
      for await (const key of store.keys()) {
        const record = await store.get(key);
        if (!record) continue;
        total++;
        if (record.atime < cutoff) idle++;
      }
      io.out.write(
        `would remove ${idle} of ${total} session(s) (idle more than ${timeout} s); nothing was deleted\n`,
      );
      return;
    }
    if (timeout < TINY_TIMEOUT)
      io.err.write(
        `websession: --timeout ${timeout} removes every session idle more than ${timeout} s, also ones in use right now (--dry-run counts them first)\n`,
      );
    const progress = new Progress(io, 'cleanup');
    let tempRemoved = 0;
    const pass = () =>
      store.cleanup(timeout, (p) => {
        tempRemoved = p.tempRemoved ?? 0;
        progress.update(p.scanned, p.total, `removed ${p.removed}`);
      });
    // One pass at a time per store: while a server sharing the store runs one, wait for it.
    let done = await underCleanupLease(store, pass);
    if (!done)
      io.err.write('another process is running a cleanup pass on this store: waiting for it…\n');
    while (!done) {
      await new Promise((resolve) => setTimeout(resolve, LEASE_POLL_MS));
      done = await underCleanupLease(store, pass);
    }
    progress.done();
    io.out.write(
      `removed ${done.event.removed} expired session(s)${tempRemoved ? ` and ${tempRemoved} temp file(s) left by interrupted writes` : ''} in ${(done.event.ms / 1000).toFixed(1)} s\n`,
    );
  } finally {
    await store.close();
  }
}
