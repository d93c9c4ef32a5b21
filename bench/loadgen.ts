// Load generation: wrk (where installed) or autocannon in its own process, pinned to CPU 1 with
// taskset where it exists; and the server's CPU time from /proc.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { CONNECTIONS, opts, TMP } from './options.js';
import { writeRotationScript } from './session-cookies.js';

/** True when `cmd args` runs and exits 0. */
export const has = (cmd: string, args: string[]) => {
  try {
    return spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
  } catch {
    return false;
  }
};
export const TASKSET = os.cpus().length > 1 && has('taskset', ['-c', '0', 'true']);
export const WRK = opts.loadgen !== 'autocannon' && spawnSync('wrk', ['-v']).error === undefined;
export const LOADGEN = WRK
  ? (spawnSync('wrk', ['-v'], { encoding: 'utf8' }).stdout.match(/wrk [\d.]+/)?.[0] ?? 'wrk')
  : 'autocannon';

export interface Load {
  rps: number;
  p99: number;
  errors: number;
  requests: number;
  /** Server CPU time (user + system, all threads) per request, µs; NaN where unknown. */
  cpu?: number;
}

const CLK_TCK = (() => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  return Number(r.stdout) || 100;
})();

/** CPU seconds a process has used (Linux /proc), NaN elsewhere. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return Number.NaN;
  }
}

function runProcess(cmd: string, args: string[]): Promise<string> {
  const [bin, argv] = TASKSET ? ['taskset', ['-c', '1', cmd, ...args]] : [cmd, args];
  return new Promise((resolve, reject) => {
    const p = spawn(bin, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => {
      out += d;
    });
    p.stderr.on('data', (d) => {
      err += d;
    });
    p.on('error', reject);
    p.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${cmd} exited with ${code}: ${err}`)),
    );
  });
}

const ms = (text: string): number => {
  const m = /([\d.]+)(us|ms|s)/.exec(text);
  if (!m) return Number.NaN;
  const v = Number(m[1]);
  return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v;
};

const AUTOCANNON = `
const [url, connections, duration, cookie] = JSON.parse(process.argv[1]);
const autocannon = (await import('autocannon')).default;
const r = await autocannon({ url, connections, duration, headers: cookie ? { cookie } : {} });
console.log(JSON.stringify({ rps: r.requests.average, p99: r.latency.p99, errors: r.errors + r.non2xx + r.timeouts, requests: r.requests.total }));
`;

/**
 * Load on `url` for `seconds`: every request with `cookie` (none when empty), or, when `cookie`
 * is `@<file>`, with the cookies of that file in turn (wrk only).
 */
export async function load(url: string, seconds: number, cookie: string): Promise<Load> {
  if (WRK) {
    const args = ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency'];
    const rotate = cookie.startsWith('@') ? cookie.slice(1) : undefined;
    if (rotate) args.push('-s', writeRotationScript(TMP));
    else if (cookie) args.push('-H', `Cookie: ${cookie}`);
    const out = await runProcess('wrk', [...args, url, ...(rotate ? ['--', rotate] : [])]);
    const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
    const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
    const p99 = ms(/\s99%\s+(\S+)/.exec(out)?.[1] ?? '');
    const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
    const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
    const errors = non2xx + (socket ? socket.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
    if (!Number.isFinite(rps)) throw new Error(`wrk gave no rate:\n${out}`);
    return { rps, p99, errors, requests };
  }
  const out = await runProcess(process.execPath, [
    '--input-type=module',
    '-e',
    AUTOCANNON,
    JSON.stringify([url, CONNECTIONS, seconds, cookie]),
  ]);
  return JSON.parse(out) as Load;
}

/** A short warm-up: 100 requests, `CONNECTIONS` at a time, from this process. */
export async function burst(url: string, cookie: string): Promise<void> {
  const headers: Record<string, string> = cookie ? { cookie } : {};
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      for (let i = 0; i < Math.ceil(100 / CONNECTIONS); i++)
        await (await fetch(url, { headers })).arrayBuffer();
    }),
  );
}
