/**
 * `websession stats`: how many sessions a store holds, their oldest and newest access, their
 * bytes, and how many fail to decode.
 * @module
 */
import { decode } from './decode.js';
import type { Io } from './io.js';
import { writeJson } from './json-output.js';
import { openStore } from './open-store.js';
import type { Values } from './options.js';
import { Progress } from './progress.js';

/** Runs `stats`. */
export async function stats(values: Values, io: Io): Promise<void> {
  const store = await openStore(values.store as string | undefined, '--store');
  try {
    let n = 0;
    let bytes = 0;
    let oldest = Number.POSITIVE_INFINITY;
    let newest = 0;
    let corrupt = 0;
    const progress = new Progress(io, 'reading');
    for await (const key of store.keys()) {
      const record = await store.get(key);
      if (!record) continue;
      n++;
      bytes += Buffer.byteLength(record.data);
      oldest = Math.min(oldest, record.atime);
      newest = Math.max(newest, record.atime);
      if (!decode(record)) corrupt++;
      progress.update(n);
    }
    progress.done();
    if (values.json) {
      const iso = (t: number) => (n ? new Date(t).toISOString() : null);
      const summary = {
        sessions: n,
        oldestAccess: iso(oldest),
        newestAccess: iso(newest),
        bytes,
        corrupt,
      };
      writeJson(io, summary, true);
      return;
    }
    const when = (t: number) => (n ? new Date(t).toISOString() : '-');
    io.out.write(
      `sessions: ${n}\noldest access: ${when(oldest)}\nnewest access: ${when(newest)}\nbytes: ${bytes}\ncorrupt: ${corrupt}\n`,
    );
  } finally {
    await store.close();
  }
}
