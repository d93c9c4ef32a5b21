// One bench server in its own process: started by ../run.ts (and ../profile.ts), not by hand:
//   node --import tsx bench/servers/child.ts <server id> <tmp dir>
// It reports `{ port, pid }` over IPC, then answers `{ op: 'records' | 'seed' | 'cleanup' |
// 'profile' | 'close' }`.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Store } from 'websession';
import { countKeys, TIMEOUT } from './common.js';
import { SERVERS } from './index.js';

type Message =
  | { op: 'records' }
  | { op: 'seed'; total: number; expiredShare: number }
  | { op: 'cleanup' }
  | { op: 'profile'; file?: string }
  | { op: 'close' };

async function child(id: string, tmp: string): Promise<void> {
  const spec = SERVERS[id];
  if (!spec) throw new Error(`no server ${id}`);
  mkdirSync(tmp, { recursive: true });
  const running = await spec.start(tmp);
  const port = running.port ?? (running.server?.address() as AddressInfo | null)?.port;
  const reply = (m: object) => process.send?.(m);
  process.on('message', (m: Message) => {
    void (async () => {
      try {
        if (m.op === 'records') reply({ records: (await running.records?.()) ?? -1 });
        else if (m.op === 'seed') reply(await seed(running.store!, m.total, m.expiredShare));
        else if (m.op === 'cleanup') reply(await cleanup(running.store!));
        else if (m.op === 'profile') reply(await profile(m.file));
        else if (m.op === 'close') {
          running.server?.closeAllConnections();
          running.server?.close();
          await running.close?.();
          reply({ closed: true });
          process.exit(0);
        }
      } catch (err) {
        reply({ error: String((err as Error)?.stack ?? err) });
      }
    })();
  });
  reply({ port, pid: running.pid ?? process.pid });
}

/**
 * Fills the store up to `total` records through its own `set()`, each a copy of the one session
 * the parent created over HTTP; `expiredShare` of them idle for longer than the timeout.
 */
async function seed(store: Store, total: number, expiredShare: number) {
  let sample: string | undefined;
  for await (const key of store.keys()) {
    sample = (await store.get(key))?.data;
    if (sample) break;
  }
  if (!sample) throw new Error('seed: no session to copy (make one over HTTP first)');
  const have = await countKeys(store);
  const now = Date.now();
  const started = performance.now();
  const todo = total - have;
  const expired = Math.round(todo * expiredShare);
  const batch = store.kind === 'memory' ? 10_000 : 64;
  for (let i = 0; i < todo; i += batch) {
    const calls: (void | Promise<void>)[] = [];
    for (let j = i; j < Math.min(todo, i + batch); j++) {
      const atime = j < expired ? now - (TIMEOUT + 60) * 1000 : now;
      calls.push(store.set(randomBytes(32).toString('hex'), { data: sample, atime }));
    }
    await Promise.all(calls);
  }
  // The seeding's garbage is collected now, not during the next measurement (scale runs start
  // servers with --expose-gc).
  (globalThis as { gc?: () => void }).gc?.();
  return { seeded: todo, ms: performance.now() - started, records: have + todo };
}

let inspector: import('node:inspector/promises').Session | undefined;

/** Starts a CPU profile (no `file`) or stops it and writes it to `file` (.cpuprofile JSON). */
async function profile(file: string | undefined) {
  const { Session } = await import('node:inspector/promises');
  if (!file) {
    inspector = new Session();
    inspector.connect();
    await inspector.post('Profiler.enable');
    await inspector.post('Profiler.setSamplingInterval', { interval: 100 });
    await inspector.post('Profiler.start');
    return { started: true };
  }
  const { profile } = await inspector!.post('Profiler.stop');
  writeFileSync(file, JSON.stringify(profile));
  inspector!.disconnect();
  return { written: file };
}

/** One cleanup pass, timed, with the longest event-loop stall while it ran. */
async function cleanup(store: Store) {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  const started = performance.now();
  const removed = await store.cleanup(TIMEOUT);
  const ms = performance.now() - started;
  // One more turn so that a stall at the very end is sampled.
  await new Promise((r) => setTimeout(r, 5));
  histogram.disable();
  return { removed, ms, maxStallMs: histogram.max / 1e6 };
}

const [id, tmp] = process.argv.slice(2);
await child(id!, tmp!);
