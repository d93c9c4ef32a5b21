// CPU cost of the session core per request, without HTTP: SessionManager.load + commit of an
// existing session on MemoryStore: read-only, with one key assigned, and with one key changed
// through session.update(); then a new session saved into a full MemoryStore (100,000 held: each
// one evicts the least recently used), and a session sealed in the cookie (CookieStore), whose
// browser sends back the cookie it was given last. Runs against dist/ (npm run build first), as
// an application would.
//   node --import tsx bench/core.ts [--n 100000] [--secret]   (--secret: signed cookies, as in npm run bench)
import { parseArgs } from 'node:util';
import { SECRET } from './servers/common.js';

const { values } = parseArgs({
  options: { n: { type: 'string' }, dist: { type: 'string' }, secret: { type: 'boolean' } },
});
const n = Number(values.n ?? 100_000);
const dist = values.dist ?? new URL('../dist/index.js', import.meta.url).href;
const { CookieStore, MemoryStore, SessionManager } = (await import(
  dist
)) as typeof import('websession');

type Data = { count: number; user: string };
const manager = new SessionManager<Data>(new MemoryStore(), {
  ...(values.secret ? { secret_key: SECRET } : {}),
  cleanup_interval: 0,
});
const first = await manager.load({ ip: '127.0.0.1' });
first.count = 0;
first.user = 'ann';
const cookie = (await manager.commit(first))?.split(';')[0];

const FULL = 100_000;
const full = new SessionManager<Data>(new MemoryStore({ maxSessions: FULL }), {
  ...(values.secret ? { secret_key: SECRET } : {}),
  cleanup_interval: 0,
});
for (let i = 0; i < FULL; i++) {
  const s = await full.load({ ip: '127.0.0.1' });
  s.count = i;
  await full.commit(s);
}

const sealed = new SessionManager<Data>(new CookieStore(), {
  secret_key: SECRET,
  cleanup_interval: 0,
});
const made = await sealed.load({ ip: '127.0.0.1' });
made.count = 0;
let sealedCookie = (await sealed.commit(made))?.split(';')[0];

type Mode = 'read-only' | 'count += 1' | 'update()' | 'new, store full' | 'cookie +1';
const increment = (d: { count?: number }) => {
  d.count = (d.count ?? 0) + 1;
};

async function round(mode: Mode): Promise<number> {
  const start = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    if (mode === 'new, store full') {
      const s = await full.load({ ip: '127.0.0.1' });
      s.count = i;
      await full.commit(s);
      continue;
    }
    if (mode === 'cookie +1') {
      const s = await sealed.load({ cookie: sealedCookie, ip: '127.0.0.1' });
      s.count = (s.count ?? 0) + 1;
      sealedCookie = (await sealed.commit(s))?.split(';')[0];
      continue;
    }
    const s = await manager.load({ cookie, ip: '127.0.0.1' });
    if (mode === 'count += 1') s.count = (s.count ?? 0) + 1;
    else if (mode === 'update()') await s.update(increment);
    await manager.commit(s);
  }
  const used = process.cpuUsage(start);
  return (used.user + used.system) / n;
}

const results: Record<Mode, number[]> = {
  'read-only': [],
  'count += 1': [],
  'update()': [],
  'new, store full': [],
  'cookie +1': [],
};
for (let r = 0; r < 4; r++) {
  for (const mode of Object.keys(results) as Mode[]) results[mode].push(await round(mode));
}
for (const [label, list] of Object.entries(results)) {
  const best = Math.min(...list.slice(1));
  console.log(
    `${label.padEnd(15)} ${best.toFixed(2)} µs CPU per load+commit (best of 3 after warm-up, n=${n})`,
  );
}
