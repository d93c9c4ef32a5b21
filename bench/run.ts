// websession against bare servers, the limit and the peers, in one run; rewrites its section of
// BENCHMARKS.md.
//
//   npm run bench -- --help       # the options (see USAGE in options.ts)
//
// Every row's server runs in its own child process (servers/, one file per framework or peer),
// all started up front (each loaded for a few seconds as it starts) and stopped at the end; each
// round measures every row once (interleaved), and each cell is the median over the rounds; then
// each target's servers are measured back to back (paired.ts), and the targets are judged on
// those rounds. The server is pinned to CPU 0 and the load generator (wrk where installed, else
// autocannon in its own process) to CPU 1 with `taskset`, where it exists. The parts: options.ts
// (the command line), rows.ts (what is measured), children.ts and loadgen.ts (servers and load),
// rounds.ts (the measurement), targets.ts, report.ts and benchmarks-md.ts (what is printed and
// written), scale.ts (the scale part).
import os from 'node:os';
import { finish } from './benchmarks-md.js';
import { opts, QUICK } from './options.js';
import { type Group, measurePaired } from './paired.js';
import { report } from './report.js';
import { finishServers, measure, startAll } from './rounds.js';
import { rows } from './rows.js';
import { missingServices } from './services.js';
import type { Target } from './targets.js';

async function main(): Promise<void> {
  const started = Date.now();
  const loadBefore = os.loadavg();
  const skip = await missingServices();
  for (const reason of skip.values()) console.error(`# SKIP ${reason}`);
  if (opts.syscalls) {
    const { syscalls } = await import('./syscalls.js');
    finish(await syscalls(skip), started, loadBefore);
    return;
  }
  if (opts.scale) {
    const { scale } = await import('./scale.js');
    const text = await scale({
      quick: QUICK,
      skip,
      size: opts['scale-size'],
      only: opts.only?.split(','),
    });
    finish(text, started, loadBefore);
    return;
  }
  const measured = await startAll(rows(), skip);
  console.error(
    `${measured.length} servers started in ${Math.round((Date.now() - started) / 1000)} s`,
  );
  let paired: Map<Target, Group>;
  try {
    await measure(measured);
    paired = await measurePaired(measured);
  } finally {
    await finishServers(measured);
  }
  finish(report(measured, paired, skip), started, loadBefore);
}

await main();
