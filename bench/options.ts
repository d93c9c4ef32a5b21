// The command line of `npm run bench` (see ./run.ts) and the settings derived from it.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

export const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    scale: { type: 'boolean', default: false },
    syscalls: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    duration: { type: 'string' },
    connections: { type: 'string', default: '32' },
    only: { type: 'string' },
    loadgen: { type: 'string' },
    'scale-size': { type: 'string' },
    'no-write': { type: 'boolean', default: false },
  },
  args: process.argv.slice(2),
});

export const QUICK = opts.quick === true;
export const ROUNDS = Number(opts.rounds ?? (QUICK ? 1 : 3));
/** Seconds per measurement (whole seconds: wrk's unit). */
export const DURATION = Math.max(1, Math.round(Number(opts.duration ?? (QUICK ? 1 : 5))));
/** Seconds of load before a row's first measurement (0: only a short burst of requests). */
export const WARMUP = QUICK ? 0 : 2;
export const CONNECTIONS = Number(opts.connections);
/** The run's scratch folder (servers' stores, cookie files), removed at the end. */
export const TMP = mkdtempSync(join(os.tmpdir(), 'websession-bench-'));

/** The command as given, for the report. */
export function command(): string {
  const extra = process.argv.slice(2);
  return `npm run bench${extra.length ? ` -- ${extra.join(' ')}` : ''}`;
}
