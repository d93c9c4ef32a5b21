// The scale part of the bench (`npm run bench -- --scale`): for each store under the web
// layer, req/s and p99 with 1,000 and with 1,000,000 stored sessions (fewer where noted); then, in
// a fresh server, one cleanup pass over 200,000 sessions of which 90 % are expired: wall time and
// the server's longest event-loop stall (perf_hooks.monitorEventLoopDelay, 1 ms resolution).
// Records are seeded in the server process through the store's own set(), as copies of one real
// session.
import os from 'node:os';
import { startServer } from './children.js';
import { cpuSeconds, type Load, load } from './loadgen.js';
import type { Service } from './servers/index.js';
import { sessionCookie } from './session-cookies.js';

export interface ScaleOptions {
  quick: boolean;
  skip: Map<Service, string>;
  size: string | undefined;
  /** Only these stores (names as in the table), for a focused re-run. */
  only?: string[] | undefined;
}

const MILLION = 1_000_000;
/** Sessions in the store at the cleanup pass, and the share of them expired. */
const CLEANUP_TOTAL = 200_000;
const CLEANUP_EXPIRED = 0.9;

/**
 * Large size per store, and why when it is under a million. One million where seeding through
 * set() takes about 3 minutes at most on a 2-core machine; DiskStore and the database servers get
 * 100,000: their set() runs at 2–3k/s here (a file, or one committed upsert, per record), so a
 * million would take 6–8 minutes each to seed, and DiskStore's million files ~4 GB of the temp
 * folder. `--scale-size 1000000` seeds a million everywhere.
 */
const LARGE: Record<string, [number, string?]> = {
  memory: [MILLION],
  shelf: [MILLION],
  sqlite: [MILLION],
  redis: [MILLION],
  disk: [
    100_000,
    'one file per session, seeded at ~3k/s here: a million would take ~6 min and ~4 GB',
  ],
  postgres: [
    100_000,
    'one committed upsert per set(), ~2.3k/s here: a million would take ~7 min to seed',
  ],
  mysql: [
    100_000,
    'one committed upsert per set(), ~3k/s here: a million would take ~6 min to seed',
  ],
};

const NEEDS: Record<string, Service | undefined> = {
  postgres: 'postgres',
  mysql: 'mysql',
  redis: 'redis',
};

/** What the scale part reports: its targets first, then its table. */
export interface ScaleReport {
  summary: string;
  tables: string;
}

export async function scale(options: ScaleOptions): Promise<ScaleReport> {
  const seconds = options.quick ? 1 : 5;
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  const lines = [
    `Each store under the web layer (\`web.session.Session\`), the same counter handler. Small = 1,000 stored sessions, large = as given; ${seconds} s of load per cell (median of 3 rounds at each size${options.quick ? ', 1 round in --quick' : ''}). Seeded records are copies of the measured session's record (same size), ${options.quick ? '' : ''}10 % of them idle past the timeout. The cleanup pass runs in a fresh server over ${options.quick ? '20,000' : '200,000'} sessions of which 90 % are expired, with no load; the stall is the server's longest event-loop delay while it ran.`,
    '',
    '| store | small: req/s | p99 ms | CPU µs/req | large | large: req/s | p99 ms | CPU µs/req | large ÷ small (req/s) | (by CPU) | seeding | cleanup: sessions | pass | removed | longest loop stall |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  const notes: string[] = [];
  const targets = ['| target | measured | required | |', '| --- | ---: | ---: | --- |'];
  const target = (name: string, value: number, text: string, need: string, ok: boolean) =>
    targets.push(
      `| ${name} | ${Number.isFinite(value) ? text : '–'} | ${need} | ${ok ? 'met' : '**missed**'} |`,
    );
  const freeGb = os.freemem() / 2 ** 30;
  for (const store of ['memory', 'disk', 'sqlite', 'postgres', 'mysql', 'shelf', 'redis']) {
    if (options.only && !options.only.includes(store)) continue;
    const need = NEEDS[store];
    if (need && options.skip.has(need)) {
      notes.push(`${store}: skipped (${options.skip.get(need)})`);
      continue;
    }
    let [large, why] = LARGE[store]!;
    if (options.size) [large, why] = [Number(options.size), 'size given by --scale-size'];
    else if (options.quick) [large, why] = [Math.min(large, 20_000), '--quick'];
    if (large >= MILLION && freeGb < 4) {
      large = 100_000;
      why = `only ${freeGb.toFixed(1)} GB of free memory`;
    }
    const child = await startServer(`web-${store}`, 'scale');
    try {
      const cookie = await sessionCookie(child.url);
      const rounds = options.quick ? 1 : 3;
      const measure = async () => {
        await load(`${child.url}/`, 1, cookie);
        const r: (Load & { cpu: number })[] = [];
        for (let i = 0; i < rounds; i++) {
          const cpu0 = cpuSeconds(child.pid);
          const result = await load(`${child.url}/`, seconds, cookie);
          const cpu = ((cpuSeconds(child.pid) - cpu0) * 1e6) / result.requests;
          r.push({ ...result, cpu });
        }
        const med = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1]!;
        return {
          rps: med(r.map((x) => x.rps)),
          p99: med(r.map((x) => x.p99)),
          cpu: med(r.map((x) => x.cpu)),
        };
      };
      await child.request({ op: 'seed', total: 1000, expiredShare: 0.1 });
      const small = await measure();
      console.error(`scale ${store}: 1,000 → ${fmt(small.rps)} req/s; seeding ${fmt(large)}…`);
      const seeded = (await child.request({ op: 'seed', total: large, expiredShare: 0.1 })) as {
        ms: number;
        seeded: number;
      };
      const big = await measure();
      await child.stop();
      const total = options.quick ? CLEANUP_TOTAL / 10 : CLEANUP_TOTAL;
      const clean = await cleanupPass(store, total);
      console.error(
        `scale ${store}: ${fmt(large)} → ${fmt(big.rps)} req/s; cleanup ${fmt(clean.ms)} ms, stall ${clean.maxStallMs.toFixed(1)} ms`,
      );
      lines.push(
        `| ${store} | ${fmt(small.rps)} | ${small.p99.toFixed(1)} | ${fmt(small.cpu)} | ${fmt(large)}${why ? ' ¹' : ''} | ${fmt(big.rps)} | ${big.p99.toFixed(1)} | ${fmt(big.cpu)} | ${(big.rps / small.rps).toFixed(2)} | ${(small.cpu / big.cpu).toFixed(2)} | ${fmt(seeded.ms / 1000)} s (${fmt(seeded.seeded / (seeded.ms / 1000))}/s) | ${fmt(total)} | ${fmt(clean.ms)} ms | ${fmt(clean.removed)} | ${clean.maxStallMs.toFixed(1)} ms |`,
      );
      if (why) notes.push(`${store}: ${fmt(large)} sessions, not a million: ${why}`);
      if (store === 'memory') {
        const r = big.rps / small.rps;
        target(
          `MemoryStore at ${fmt(large)} sessions vs at 1,000 (req/s)`,
          r,
          `${r.toFixed(2)}×`,
          '≥ 0.9×',
          r >= 0.9,
        );
      }
      target(
        `${store}: longest event-loop stall during a cleanup pass over ${fmt(total)} sessions, 90 % expired (pass: ${fmt(clean.ms)} ms)`,
        clean.maxStallMs,
        `${clean.maxStallMs.toFixed(1)} ms`,
        '≤ 50 ms',
        clean.maxStallMs <= 50,
      );
    } finally {
      await child.stop();
    }
  }
  if (notes.length > 0) lines.push('', ...notes.map((n) => `¹ ${n}.`));
  return { summary: targets.join('\n'), tables: lines.join('\n') };
}

/** One cleanup pass in a fresh server over `total` sessions, 90 % of them expired. */
async function cleanupPass(store: string, total: number) {
  const child = await startServer(`web-${store}`, 'cleanup');
  try {
    await sessionCookie(child.url);
    await child.request({ op: 'seed', total, expiredShare: CLEANUP_EXPIRED });
    return (await child.request({ op: 'cleanup' })) as {
      removed: number;
      ms: number;
      maxStallMs: number;
    };
  } finally {
    await child.stop();
  }
}
