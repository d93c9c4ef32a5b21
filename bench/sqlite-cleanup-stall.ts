// A SQLite DBStore's cleanup pass over N sessions (90 % expired) while a save per millisecond goes
// on beside it, in one process: the event loop's longest delay during the pass (every statement of
// the pass and every checkpoint that would hold the loop shows there; 1 ms resolution).
//   node --import tsx --conditions=websession-src bench/sqlite-cleanup-stall.ts [sessions, 200000]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Database, DBStore, generateSessionId, storeKey } from 'websession';

const N = Number(process.argv[2] ?? 200_000);
const dir = mkdtempSync(join(tmpdir(), 'stall-'));
const store = new DBStore(new Database({ dbn: 'sqlite', db: join(dir, 's.db') }), 'sessions', {
  createTable: true,
  closeDatabase: true,
});
const data = JSON.stringify({ count: 1, logged_in: true, pad: 'x'.repeat(80) });
const now = Date.now();
let t0 = performance.now();
for (let i = 0; i < N; i += 1000) {
  await Promise.all(
    Array.from({ length: 1000 }, (_, j) =>
      store.set(storeKey(generateSessionId()), {
        data,
        atime: (i + j) % 10 < 9 ? now - 7_200_000 : now,
      }),
    ),
  );
}
console.log(`seeded ${N} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
const live = Array.from({ length: 1000 }, () => storeKey(generateSessionId()));
let writes = 0;
let stop = false;
const writer = (async () => {
  while (!stop) {
    await store.set(live[writes % 1000]!, { data, atime: Date.now() });
    writes++;
    await new Promise((r) => setTimeout(r, 1));
  }
})();
await new Promise((r) => setTimeout(r, 1000));
const h = monitorEventLoopDelay({ resolution: 1 });
h.enable();
t0 = performance.now();
const removed = await store.cleanup(3600);
const ms = performance.now() - t0;
h.disable();
stop = true;
await writer;
console.log(
  `cleanup removed ${removed} in ${ms.toFixed(0)} ms with ${writes} writes beside it; event-loop delay p99 ${(h.percentile(99) / 1e6).toFixed(1)} ms, max ${(h.max / 1e6).toFixed(1)} ms`,
);
await store.close();
rmSync(dir, { recursive: true, force: true });
