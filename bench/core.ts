// CPU cost of the session core per request, without HTTP: SessionManager.load + commit of an
// existing session on MemoryStore: read-only, with one key assigned, and with one key changed
// through session.update(). Runs against dist/
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

type Mode = 'read-only' | 'count += 1' | 'update()';
const increment = (d: { count?: number }) => {
  d.count = (d.count ?? 0) + 1;
};

async function round(mode: Mode): Promise<number> {
  const start = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const s = await manager.load({ cookie, ip: '127.0.0.1' });
    if (mode === 'count += 1') s.count = (s.count ?? 0) + 1;
    else if (mode === 'update()') await s.update(increment);
    await manager.commit(s);
  }
  const used = process.cpuUsage(start);
  return (used.user + used.system) / n;
}

const results: Record<Mode, number[]> = { 'read-only': [], 'count += 1': [], 'update()': [] };
for (let r = 0; r < 4; r++) {
  for (const mode of Object.keys(results) as Mode[]) results[mode].push(await round(mode));
}
for (const [label, list] of Object.entries(results)) {
  const best = Math.min(...list.slice(1));
  console.log(
    `${label.padEnd(11)} ${best.toFixed(2)} µs CPU per load+commit (best of 3 after warm-up, n=${n})`,
  );
}
