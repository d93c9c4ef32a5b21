// The command line of `npm run bench` (see ./run.ts) and the settings derived from it.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

/** What `npm run bench -- --help` prints. */
const USAGE = `usage: npm run bench [-- options]
  (none)            the full table: each server loaded for 5 s as it starts, one at a time,
                    then 3 interleaved rounds of 5 s per row, then each target's
                    servers back to back (A B B A after a warm-up), 4 rounds of 1 s runs
                    (5 s for targets judged on p99); rewrites BENCHMARKS.md
  --quick           1 round of 1 s per row and per target, no warm-up (for development)
  --scale           1,000 vs 1,000,000 stored sessions, and a cleanup pass
  --syscalls        file-system calls per save of the file stores (strace -c)
  --only A,B        only the rows whose id contains A or B (the bare rows and the limit always run)
  --rounds N  --duration S  --paired-rounds N  --connections C  --loadgen wrk|autocannon  --scale-size N
  --no-write        print the tables, leave BENCHMARKS.md as it is
  --help            this text
e.g. npm run bench -- --quick --only limit,node-memory --no-write`;

function parseCommandLine() {
  try {
    return parseArgs({
      options: {
        quick: { type: 'boolean', default: false },
        scale: { type: 'boolean', default: false },
        syscalls: { type: 'boolean', default: false },
        rounds: { type: 'string' },
        'paired-rounds': { type: 'string' },
        duration: { type: 'string' },
        connections: { type: 'string', default: '32' },
        only: { type: 'string' },
        loadgen: { type: 'string' },
        'scale-size': { type: 'string' },
        'no-write': { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
      args: process.argv.slice(2),
    });
  } catch (err) {
    console.error(`npm run bench: ${(err as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
}

export const { values: opts } = parseCommandLine();
if (opts.help) {
  console.log(USAGE);
  process.exit(0);
}

export const QUICK = opts.quick === true;
export const ROUNDS = Number(opts.rounds ?? (QUICK ? 1 : 3));
/** Seconds per measurement (whole seconds: wrk's unit). */
export const DURATION = Math.max(1, Math.round(Number(opts.duration ?? (QUICK ? 1 : 5))));
/** Seconds of load before a row's first measurement (0: only a short burst of requests). */
export const WARMUP = QUICK ? 0 : 2;
/**
 * Seconds of load on each server as soon as it has started (0: none). A V8 process that idles
 * for a minute or more before its first load settles slower for good (its memory reducer runs on
 * a heap that has not grown yet); 1 s of load is not enough to prevent it, 5 s is. Users' servers
 * take load from the start, and every row's server has to wait for its turn here.
 */
export const START_LOAD = QUICK ? 0 : 5;
export const CONNECTIONS = Number(opts.connections);
/** Rounds, and seconds per run, of the targets measured back to back (see ./paired.ts). */
export const PAIRED_ROUNDS = Number(opts['paired-rounds'] ?? (QUICK ? 1 : 4));
export const PAIRED_DURATION = 1;
/** The run's scratch folder (servers' stores, cookie files), removed at the end. */
export const TMP = mkdtempSync(join(os.tmpdir(), 'websession-bench-'));

/** The command as given, for the report. */
export function command(): string {
  const extra = process.argv.slice(2);
  return `npm run bench${extra.length ? ` -- ${extra.join(' ')}` : ''}`;
}
