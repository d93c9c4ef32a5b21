// Debug-mode reloader: time from saving a changed handler to the new code answering, over HTTP,
// for the web.py example with MemoryStore and DiskStore; and, for comparison, the time a cold
// start of the same program takes (what a restart without the warm spare child would cost).
// Run: node --import tsx --conditions=websession-src bench/reload.ts [edits]
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import {
  edit,
  LOGGED_IN,
  login,
  pollUntil,
  sleep,
  startExample,
} from '../test/helpers/reload-process.js';

const EDITS = Number(process.argv[2] ?? 10);
const COLD_STARTS = 5;

function stats(ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
  return `median ${at(0.5).toFixed(0)} ms, p90 ${at(0.9).toFixed(0)} ms, min ${s[0]?.toFixed(0)} ms, max ${s[s.length - 1]?.toFixed(0)} ms (n=${s.length})`;
}

async function reloads(store: 'memory' | 'disk'): Promise<number[]> {
  const run = await startExample(store);
  try {
    const cookie = await login(run.port);
    await sleep(1000); // let the warm spare start, as between two saves by hand
    const times: number[] = [];
    for (let i = 1; i <= EDITS; i++) {
      const marker = `<p>edit ${i}</p>`;
      const t0 = performance.now();
      await writeFile(run.file, edit(run.source, LOGGED_IN, LOGGED_IN + marker));
      await pollUntil(run, cookie, marker);
      times.push(performance.now() - t0);
      await sleep(1000);
    }
    return times;
  } finally {
    await run.stop();
  }
}

async function coldStarts(): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < COLD_STARTS; i++) {
    const t0 = performance.now();
    const run = await startExample('memory', false);
    await login(run.port);
    times.push(performance.now() - t0);
    await run.stop();
  }
  return times;
}

console.log(`node ${process.version}, ${os.cpus().length} CPUs, ${EDITS} edits per store`);
for (const store of ['memory', 'disk'] as const) {
  console.log(`save → new code serving, ${store} store: ${stats(await reloads(store))}`);
}
console.log(`cold start to first answer (no reloader): ${stats(await coldStarts())}`);
