// CPU cost of the session core per request, without HTTP: SessionManager.load + commit of an
// existing session on MemoryStore, read-only and with one key changed. Runs against dist/
// (npm run build first), as an application would.
//   node --import tsx bench/core.ts [--n 100000] [--secret]   (--secret: signed cookies, as in npm run bench)
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { n: { type: 'string' }, dist: { type: 'string' }, secret: { type: 'boolean' } },
});
const n = Number(values.n ?? 100_000);
const dist = values.dist ?? new URL('../dist/index.js', import.meta.url).href;
const { MemoryStore, SessionManager } = (await import(dist)) as typeof import('websession');

const manager = new SessionManager<{ count: number; user: string }>(new MemoryStore(), {
  ...(values.secret ? { secret_key: 'a bench secret of more than thirty-two characters' } : {}),
  cleanup_interval: 0,
});
const first = await manager.load({ ip: '127.0.0.1' });
first.count = 0;
first.user = 'ann';
const cookie = (await manager.commit(first))?.split(';')[0];

async function round(mutate: boolean): Promise<number> {
  const start = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const s = await manager.load({ cookie, ip: '127.0.0.1' });
    if (mutate) s.count = (s.count ?? 0) + 1;
    await manager.commit(s);
  }
  const used = process.cpuUsage(start);
  return (used.user + used.system) / n;
}

const results: Record<string, number[]> = { 'read-only': [], 'count += 1': [] };
for (let r = 0; r < 4; r++) {
  results['read-only']!.push(await round(false));
  results['count += 1']!.push(await round(true));
}
for (const [label, list] of Object.entries(results)) {
  const best = Math.min(...list.slice(1));
  console.log(
    `${label.padEnd(11)} ${best.toFixed(2)} µs CPU per load+commit (best of 3 after warm-up, n=${n})`,
  );
}
