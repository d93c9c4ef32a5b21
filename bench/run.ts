// websession against bare servers and the peers, in one run; appends its tables to BENCHMARKS.md.
//
//   npm run bench                 # full table (3 interleaved rounds of 5 s per row)
//   npm run bench -- --quick      # short version for development (< 2 minutes)
//   npm run bench -- --scale      # scale part: 1,000 vs 1,000,000 stored sessions, cleanup pass
//   options: --rounds N --duration S --connections C --only <substrings of row ids, comma-separated>
//            --loadgen wrk|autocannon --no-write (print only)
//
// Every row's server runs in its own child process (bench/servers.ts), all started up front and
// stopped at the end; each round measures every row once (interleaved), and each cell is the
// median over the rounds. The server is pinned to CPU 0 and the load generator (wrk where
// installed, else autocannon in its own process) to CPU 1 with `taskset`, where it exists.
import { type ChildProcess, execFileSync, fork, spawn, spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  MYSQL_URL,
  POSTGRES_URL,
  PYTHON,
  REDIS_URL,
  SERVERS,
  type ServerSpec,
  type Service,
} from './servers.js';

const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    scale: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    duration: { type: 'string' },
    connections: { type: 'string', default: '10' },
    only: { type: 'string' },
    loadgen: { type: 'string' },
    'scale-size': { type: 'string' },
    'no-write': { type: 'boolean', default: false },
  },
  args: process.argv.slice(2),
});

const QUICK = opts.quick === true;
const ROUNDS = Number(opts.rounds ?? (QUICK ? 1 : 3));
/** Seconds per measurement (whole seconds: wrk's unit). */
const DURATION = Math.max(1, Math.round(Number(opts.duration ?? (QUICK ? 1 : 5))));
/** Seconds of load before a row's first measurement (0: only a short burst of requests). */
const WARMUP = QUICK ? 0 : 2;
const CONNECTIONS = Number(opts.connections);
const HERE = new URL('.', import.meta.url).pathname;
const TMP = mkdtempSync(join(os.tmpdir(), 'websession-bench-'));

const has = (cmd: string, args: string[]) => {
  try {
    return spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
  } catch {
    return false;
  }
};
const TASKSET = os.cpus().length > 1 && has('taskset', ['-c', '0', 'true']);
const WRK = opts.loadgen !== 'autocannon' && spawnSync('wrk', ['-v']).error === undefined;
const LOADGEN = WRK
  ? (spawnSync('wrk', ['-v'], { encoding: 'utf8' }).stdout.match(/wrk [\d.]+/)?.[0] ?? 'wrk')
  : 'autocannon';

// ---- services ----

function reachable(url: string, port: number): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: u.hostname || '127.0.0.1', port: Number(u.port || port) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1500, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function missingServices(): Promise<Map<Service, string>> {
  const missing = new Map<Service, string>();
  if (!(await reachable(POSTGRES_URL, 5432)))
    missing.set('postgres', `PostgreSQL not reachable at ${POSTGRES_URL} (set POSTGRES_URL)`);
  if (!(await reachable(MYSQL_URL, 3306)))
    missing.set('mysql', `MySQL/MariaDB not reachable at ${MYSQL_URL} (set MYSQL_URL)`);
  if (!(await reachable(REDIS_URL, 6379)))
    missing.set('redis', `Redis not reachable at ${REDIS_URL} (set REDIS_URL)`);
  if (!has(PYTHON, ['-c', 'import web']))
    missing.set(
      'webpy',
      `web.py not importable by ${PYTHON} (apt-get install python3-webpy, or set WEBPY_PYTHON)`,
    );
  return missing;
}

// ---- server children ----

interface Child {
  id: string;
  /** The process that serves (web.py's Python, else the child itself). */
  pid: number;
  spec: ServerSpec;
  proc: ChildProcess;
  url: string;
  request(message: object): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

function pin(pid: number, cpu: number): void {
  if (TASKSET)
    execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
}

async function startServer(id: string, tag: string): Promise<Child> {
  const spec = SERVERS[id]!;
  const proc = fork(join(HERE, 'servers.ts'), [id, join(TMP, `${id}-${tag}`)], {
    execArgv: process.execArgv,
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const queue: ((m: Record<string, unknown>) => void)[] = [];
  const first = new Promise<Record<string, unknown>>((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`${id}: server exited with ${code}`)));
    queue.push(resolve);
  });
  proc.on('message', (m) => queue.shift()?.(m as Record<string, unknown>));
  const hello = await first;
  if (hello.error) throw new Error(`${id}: ${hello.error}`);
  pin(proc.pid!, 0);
  if (hello.pid !== proc.pid) pin(hello.pid as number, 0);
  const request = (message: object) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      queue.push((m) => (m.error ? reject(new Error(`${id}: ${m.error}`)) : resolve(m)));
      proc.send(message);
    });
  return {
    id,
    spec,
    proc,
    pid: hello.pid as number,
    url: `http://127.0.0.1:${hello.port}`,
    request,
    async stop() {
      if (proc.exitCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.send({ op: 'close' });
      // Closing empties what a shared server keeps (a million Redis keys after --scale takes
      // a while): wait for it rather than leave them behind.
      await Promise.race([exited, new Promise((r) => setTimeout(r, 300_000))]);
      if (proc.exitCode === null) proc.kill('SIGKILL');
    },
  };
}

/** A first request that creates the session every measured request then uses. */
async function sessionCookie(url: string): Promise<string> {
  const res = await fetch(`${url}/`);
  await res.text();
  return res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
}

// ---- load generator ----

interface Load {
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
function cpuSeconds(pid: number): number {
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

async function load(url: string, seconds: number, cookie: string): Promise<Load> {
  if (WRK) {
    const args = ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency'];
    if (cookie) args.push('-H', `Cookie: ${cookie}`);
    const out = await runProcess('wrk', [...args, url]);
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
async function burst(url: string, cookie: string): Promise<void> {
  const headers: Record<string, string> = cookie ? { cookie } : {};
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      for (let i = 0; i < Math.ceil(100 / CONNECTIONS); i++)
        await (await fetch(url, { headers })).arrayBuffer();
    }),
  );
}

// ---- rows ----

interface Row {
  id: string;
  server: string;
  /** New visitor: no cookie on any request, `/visit` (reads the session, stores nothing). */
  visitor: boolean;
}

const median = (xs: number[]): number => {
  const s = [...xs].filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const fmt = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–');
const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '–');
const p = (n: number) => (Number.isFinite(n) ? (n < 10 ? n.toFixed(1) : Math.round(n)) : '–');

function rows(): Row[] {
  const list: Row[] = Object.keys(SERVERS).map((server) => ({
    id: server,
    server,
    visitor: false,
  }));
  for (const server of [
    'node-memory',
    'web-disk',
    'peer-express-session',
    'peer-session-file-store',
    'peer-web.py',
  ])
    list.push({ id: `${server} (new visitor)`, server, visitor: true });
  return list;
}

interface Measured {
  row: Row;
  child: Child;
  cookie: string;
  rounds: Load[];
  records?: number;
  kept?: number;
}

function environment(): string {
  const cpu = os.cpus();
  return `Node ${process.version}, ${cpu.length} CPUs (${cpu[0]?.model.trim() ?? '?'}), load average ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' / ')} (1 / 5 / 15 min)`;
}

function command(): string {
  const extra = process.argv.slice(2);
  return `npm run bench${extra.length ? ` -- ${extra.join(' ')}` : ''}`;
}

async function startAll(list: Row[], skip: Map<Service, string>): Promise<Measured[]> {
  const out: Measured[] = [];
  const pending = [...list];
  const workers = Array.from({ length: 3 }, async () => {
    for (let row = pending.shift(); row; row = pending.shift()) {
      const spec = SERVERS[row.server]!;
      if (spec.needs && skip.has(spec.needs)) continue;
      const child = await startServer(row.server, row.visitor ? 'visitor' : 'session');
      const cookie = row.visitor || spec.kind === 'ceiling' ? '' : await sessionCookie(child.url);
      if (!row.visitor && spec.kind !== 'ceiling' && !cookie)
        throw new Error(`${row.id}: the first request set no session cookie`);
      out.push({ row, child, cookie, rounds: [] });
      console.error(`started ${row.id}`);
    }
  });
  await Promise.all(workers);
  return list.flatMap((row) => out.filter((m) => m.row === row));
}

async function main(): Promise<void> {
  const started = Date.now();
  const loadBefore = os.loadavg();
  const skip = await missingServices();
  for (const reason of skip.values()) console.error(`# SKIP ${reason}`);
  if (opts.scale) {
    const { scale } = await import('./scale.js');
    const text = await scale({
      quick: QUICK,
      skip,
      startServer,
      sessionCookie,
      load,
      cpuSeconds,
      size: opts['scale-size'],
      only: opts.only?.split(','),
    });
    finish(text, started, loadBefore);
    return;
  }
  let list = rows();
  if (opts.only) {
    const parts = opts.only.split(',');
    list = list.filter((r) => parts.some((p) => r.id.includes(p)) || r.id.startsWith('bare-'));
  }
  const measured = await startAll(list, skip);
  console.error(
    `${measured.length} servers started in ${Math.round((Date.now() - started) / 1000)} s`,
  );
  try {
    for (let round = 0; round < ROUNDS; round++) {
      // Rotate the order each round, so no row always runs right after the same neighbour.
      const shift = Math.round((round * measured.length) / ROUNDS);
      const order = [...measured.slice(shift), ...measured.slice(0, shift)];
      for (const m of order) {
        const path = m.row.visitor ? '/visit' : '/';
        if (round === 0 && WARMUP > 0) await load(`${m.child.url}${path}`, WARMUP, m.cookie);
        else await burst(`${m.child.url}${path}`, m.cookie);
        const cpu0 = cpuSeconds(m.child.pid);
        const result = await load(`${m.child.url}${path}`, DURATION, m.cookie);
        result.cpu = ((cpuSeconds(m.child.pid) - cpu0) * 1e6) / result.requests;
        m.rounds[round] = result;
        console.error(
          `round ${round + 1}/${ROUNDS} ${m.row.id.padEnd(44)} ${fmt(result.rps).padStart(7)} req/s  p99 ${p(result.p99)} ms  ${fmt(result.cpu)} µs CPU/req`,
        );
      }
    }
    for (const m of measured) {
      if (m.row.visitor) m.records = (await m.child.request({ op: 'records' })).records as number;
      else if (m.child.spec.kind !== 'ceiling') {
        const res = await fetch(`${m.child.url}/`, { headers: { cookie: m.cookie } });
        m.kept = Number(await res.text());
      }
    }
  } finally {
    await Promise.all(measured.map((m) => m.child.stop()));
  }
  finish(report(measured, skip), started, loadBefore);
}

function finish(text: string, started: number, loadBefore: number[]): void {
  const header = [
    '',
    `## ${opts.scale ? 'Scale' : 'Side by side'} (bench/run.ts${QUICK ? ', quick' : ''}): ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `Command: \`${command()}\`. ${environment()} at the end; ${loadBefore.map((l) => l.toFixed(1)).join(' / ')} at the start. Run time ${Math.round((Date.now() - started) / 1000)} s.`,
    `Load generator: ${LOADGEN}, ${CONNECTIONS} connections, ${TASKSET ? 'server pinned to CPU 0 and load generator to CPU 1 (taskset)' : 'no taskset: server and load generator not pinned'}.`,
    '',
  ].join('\n');
  const all = `${header}${text}\n`;
  console.log(all);
  if (!opts['no-write'] && !opts.only)
    appendFileSync(new URL('../BENCHMARKS.md', import.meta.url), all);
  rmSync(TMP, { recursive: true, force: true });
}

const TARGETS: [string, string, string, number][] = [
  ['websession/node + MemoryStore vs bare node:http', 'node-memory', 'bare-node', 0.85],
  ['websession/express + MemoryStore vs bare express', 'express-memory', 'bare-express', 0.85],
  ['websession/fastify + MemoryStore vs bare fastify', 'fastify-memory', 'bare-fastify', 0.85],
  [
    'express + MemoryStore vs express-session + MemoryStore',
    'express-memory',
    'peer-express-session',
    1.3,
  ],
  ['express + RedisStore vs connect-redis', 'express-redis', 'peer-connect-redis', 1.3],
  [
    'express + DBStore(PostgreSQL) vs connect-pg-simple',
    'express-postgres',
    'peer-connect-pg-simple',
    3,
  ],
  [
    'express + DBStore(MariaDB) vs express-mysql-session',
    'express-mysql',
    'peer-express-mysql-session',
    3,
  ],
  [
    'express + DBStore(SQLite) vs better-sqlite3-session-store',
    'express-sqlite',
    'peer-better-sqlite3-session-store',
    3,
  ],
  ['express + DiskStore vs session-file-store', 'express-disk', 'peer-session-file-store', 10],
  ['fastify + MemoryStore vs @fastify/session', 'fastify-memory', 'peer-@fastify/session', 1.3],
  ["web layer + DiskStore vs web.py's DiskStore", 'web-disk', 'peer-web.py', 5],
];

const cpu = (m: Measured) => median(m.rounds.map((r) => r.cpu ?? Number.NaN));

function report(measured: Measured[], skip: Map<Service, string>): string {
  const bareNode = measured.find((m) => m.row.id === 'bare-node');
  const ratio = (a: Measured, b: Measured | undefined) =>
    b ? median(a.rounds.map((r, i) => r.rps / (b.rounds[i]?.rps ?? Number.NaN))) : Number.NaN;
  const bareOf = (m: Measured) =>
    measured.find((x) => x.row.id === `bare-${m.child.spec.framework}`);
  const lines = [
    `${ROUNDS} interleaved rounds of ${DURATION} s per row (warm-up: ${WARMUP > 0 ? `${WARMUP} s of load before the first round, ` : ''}100 requests before each later measurement); req/s is the median of the rounds, p99 the median of the rounds' p99, ratios the median of the per-round ratios.`,
    '',
    'CPU µs/req is the server process\'s own CPU time (user + system, /proc) over the requests it served: it does not count the database or Redis server\'s CPU, and it is much less sensitive than req/s to other jobs on the machine. "×" columns are req/s ratios.',
    '',
    '| | server | req/s | p99 ms | CPU µs/req | × node:http | × same framework, no session | req/s per round |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const m of measured.filter((x) => !x.row.visitor)) {
    const bare = bareOf(m);
    lines.push(
      `| ${m.child.spec.kind} | ${m.child.spec.label} | ${fmt(median(m.rounds.map((r) => r.rps)))} | ${p(median(m.rounds.map((r) => r.p99)))} | ${fmt(cpu(m))} | ${f2(ratio(m, bareNode))} | ${m.child.spec.kind === 'ceiling' || !bare ? '' : f2(ratio(m, bare))} | ${m.rounds.map((r) => fmt(r.rps)).join(' / ')} |`,
    );
  }
  const visitors = measured.filter((x) => x.row.visitor);
  if (visitors.length > 0) {
    lines.push(
      '',
      `New visitor: no cookie on any request (\`GET /visit\` reads \`count\` and stores nothing); records left is what the store holds after ${ROUNDS} rounds.`,
      '',
      '| server | req/s | p99 ms | CPU µs/req | × node:http | records left |',
      '| --- | ---: | ---: | ---: | ---: | ---: |',
    );
    for (const m of visitors)
      lines.push(
        `| ${m.child.spec.label} | ${fmt(median(m.rounds.map((r) => r.rps)))} | ${p(median(m.rounds.map((r) => r.p99)))} | ${fmt(cpu(m))} | ${f2(ratio(m, bareNode))} | ${fmt(m.records ?? Number.NaN)} |`,
      );
  }
  lines.push(
    '',
    'Targets: "measured" is the req/s ratio (median of the per-round ratios); "by CPU" is the same ratio computed from the server processes\' CPU µs/req (what the ratio would be if both were CPU-bound on one core, the database servers\' own work left out).',
    '',
    '| target | measured | by CPU | required | |',
    '| --- | ---: | ---: | ---: | --- |',
  );
  let missed = 0;
  for (const [name, a, b, need] of TARGETS) {
    const ma = measured.find((m) => m.row.id === a);
    const mb = measured.find((m) => m.row.id === b);
    if (!ma || !mb) {
      lines.push(`| ${name} | – | – | ${need}× | not measured (skipped) |`);
      continue;
    }
    const r = ratio(ma, mb);
    const ok = r >= need;
    if (!ok) missed++;
    lines.push(
      `| ${name} | ${f2(r)}× | ${f2(cpu(mb) / cpu(ma))}× | ${need}× | ${ok ? 'met' : `**missed by ${Math.round((1 - r / need) * 100)} %**`} |`,
    );
  }
  const problems: string[] = [];
  for (const m of measured) {
    const errors = m.rounds.reduce((a, r) => a + r.errors, 0);
    if (errors > 0) problems.push(`${m.row.id}: ${errors} failed or non-2xx responses`);
    if (m.kept !== undefined && !(m.kept > 10))
      problems.push(`${m.row.id}: the session counter is ${m.kept}: the session was not kept`);
    if (m.row.visitor && m.child.spec.kind === 'ours' && m.records !== 0)
      problems.push(`${m.row.id}: ${m.records} records left behind (expected none)`);
  }
  if (skip.size > 0) lines.push('', ...[...skip.values()].map((s) => `Skipped: ${s}.`));
  if (problems.length > 0) {
    lines.push('', ...problems.map((s) => `Problem: ${s}.`));
    process.exitCode = 1;
  }
  console.error(`${missed} target(s) missed`);
  return lines.join('\n');
}

await main();
