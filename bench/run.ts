// websession against bare servers and the peers, in one run; rewrites its section of BENCHMARKS.md.
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
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
    connections: { type: 'string', default: '32' },
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
    // The scale part collects garbage after seeding (see `seed` in servers.ts), so that a
    // measurement is of the store at that size, not of the seeding's garbage.
    execArgv: opts.scale ? [...process.execArgv, '--expose-gc'] : process.execArgv,
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

/** {@link ROTATION} sessions made over HTTP, their cookies written one per line to a file. */
async function sessionCookies(url: string, id: string): Promise<string> {
  const cookies: string[] = [];
  for (let i = 0; i < ROTATION; i += 10) {
    const batch = await Promise.all(Array.from({ length: 10 }, () => sessionCookie(url)));
    for (const c of batch) {
      if (!c) throw new Error(`${id}: a first request set no session cookie`);
      cookies.push(c);
    }
  }
  const file = join(TMP, `cookies-${id.replace(/[^a-z0-9.-]+/gi, '_')}.txt`);
  writeFileSync(file, `${cookies.join('\n')}\n`);
  return file;
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

/** A wrk script that sends each request with the next cookie of a file (one per line), in turn. */
const ROTATE_LUA = `
local cookies = {}
local i = 0
function init(args)
  for line in io.lines(args[1]) do cookies[#cookies + 1] = line end
end
function request()
  i = i % #cookies + 1
  return wrk.format(nil, nil, { Cookie = cookies[i] })
end
`;

/**
 * Load on `url` for `seconds`: every request with `cookie` (none when empty), or, when `cookie`
 * is `@<file>`, with the cookies of that file in turn (wrk only).
 */
async function load(url: string, seconds: number, cookie: string): Promise<Load> {
  if (WRK) {
    const args = ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency'];
    const rotate = cookie.startsWith('@') ? cookie.slice(1) : undefined;
    if (rotate) {
      const script = join(TMP, 'rotate.lua');
      if (!existsSync(script)) writeFileSync(script, ROTATE_LUA);
      args.push('-s', script);
    } else if (cookie) args.push('-H', `Cookie: ${cookie}`);
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

/** How a row's load generator sends its requests. */
type Mode =
  /** Every request with the cookie of one session made before the run. */
  | 'session'
  /** No cookie on any request (a new visitor each time). */
  | 'visitor'
  /** The cookies of {@link ROTATION} sessions made before the run, in turn. */
  | 'rotation';

/** Sessions the rotation rows cycle through. */
const ROTATION = 1000;

interface Row {
  id: string;
  server: string;
  mode: Mode;
  /** The path requested. */
  path: string;
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
  const list: Row[] = Object.keys(SERVERS)
    .filter((server) => server !== 'web-example')
    .map((server) => ({ id: server, server, mode: 'session', path: '/' }));
  // New visitors: `/visit` reads `count` and stores nothing; the example's `/` reads `logged_in`.
  for (const server of [
    'node-memory',
    'web-disk',
    'peer-express-session',
    'peer-session-file-store',
    'peer-web.py',
  ])
    list.push({ id: `${server} (new visitor)`, server, mode: 'visitor', path: '/visit' });
  list.push({ id: 'web-example (new visitor)', server: 'web-example', mode: 'visitor', path: '/' });
  for (const server of [
    'web-disk',
    'peer-web.py',
    'express-disk',
    'peer-session-file-store',
    'express-sqlite',
    'peer-better-sqlite3-session-store',
  ])
    list.push({ id: `${server} (1,000 sessions)`, server, mode: 'rotation', path: '/' });
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
      if (row.mode === 'rotation' && !WRK) {
        console.error(`# SKIP ${row.id}: the rotation rows need wrk`);
        continue;
      }
      const child = await startServer(row.server, row.mode);
      let cookie = '';
      if (row.mode === 'rotation') cookie = `@${await sessionCookies(child.url, row.id)}`;
      else if (row.mode === 'session' && spec.kind !== 'ceiling') {
        cookie = await sessionCookie(child.url);
        if (!cookie) throw new Error(`${row.id}: the first request set no session cookie`);
      }
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
        const path = m.row.path;
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
      if (m.row.mode === 'visitor')
        m.records = (await m.child.request({ op: 'records' })).records as number;
      // The session in the cookie: the load sends one cookie over and over, each answer counts
      // from it (last response wins), so there is no server-side counter to check.
      else if (
        m.row.mode === 'session' &&
        m.child.spec.kind !== 'ceiling' &&
        m.child.spec.store !== 'cookie'
      ) {
        const res = await fetch(`${m.child.url}/`, { headers: { cookie: m.cookie } });
        m.kept = Number(await res.text());
      }
    }
  } finally {
    await Promise.all(measured.map((m) => m.child.stop()));
  }
  finish(report(measured, skip), started, loadBefore);
}

const BENCHMARKS = new URL('../BENCHMARKS.md', import.meta.url);

/** The top of BENCHMARKS.md: what the file is. The sections below it are each bench's latest run. */
const PREAMBLE = `# Benchmarks

The latest full run of each benchmark, as \`npm run bench\` (and \`npm run bench -- --scale\`) wrote
it: each run replaces its own section. Older runs are in git history. Each section starts with its
targets (met or missed), then the tables, the machine and the command, and how to read them.
`;

/** Writes `text` as the section `name` of BENCHMARKS.md, keeping the other sections. */
function writeSection(name: string, text: string): void {
  const begin = `<!-- bench:${name} -->`;
  const end = `<!-- /bench:${name} -->`;
  const block = `${begin}\n${text.trim()}\n${end}`;
  const old = existsSync(BENCHMARKS) ? readFileSync(BENCHMARKS, 'utf8') : '';
  const sections = [...old.matchAll(/<!-- bench:([\w-]+) -->[\s\S]*?<!-- \/bench:\1 -->/g)]
    .filter((m) => m[1] !== name)
    .map((m) => m[0]);
  const order = ['side-by-side', 'scale'];
  const all = [...sections, block].sort(
    (x, y) =>
      order.indexOf(/bench:([\w-]+)/.exec(x)![1]!) - order.indexOf(/bench:([\w-]+)/.exec(y)![1]!),
  );
  writeFileSync(BENCHMARKS, `${PREAMBLE}\n${all.join('\n\n')}\n`);
}

function finish(report: Report, started: number, loadBefore: number[]): void {
  const title = opts.scale ? 'Scale: 1,000 vs many stored sessions, and cleanup' : 'Side by side';
  const text = [
    `## ${title}`,
    '',
    report.summary,
    '',
    `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC${QUICK ? ' (quick)' : ''} with \`${command()}\`: ${environment()} at the end; ${loadBefore.map((l) => l.toFixed(1)).join(' / ')} at the start. Run time ${Math.round((Date.now() - started) / 1000)} s. Load generator: ${LOADGEN}, ${CONNECTIONS} connections, ${TASKSET ? 'server pinned to CPU 0 and load generator to CPU 1 (taskset)' : 'no taskset: server and load generator not pinned'}.`,
    '',
    report.tables,
  ].join('\n');
  console.log(text);
  // A side-by-side run of a few rows (--only) is for development; a scale run of some stores is
  // the section as it stands.
  if (!opts['no-write'] && (opts.scale || !opts.only))
    writeSection(opts.scale ? 'scale' : 'side-by-side', text);
  rmSync(TMP, { recursive: true, force: true });
}

/** What a run prints and writes: its targets first, then its tables. */
export interface Report {
  summary: string;
  tables: string;
}

/** A target: `a` runs at least `need` times as fast as `b` (and, with `p99`, no slower at p99). */
interface Target {
  name: string;
  a: string;
  b: string;
  need: number;
  p99?: boolean;
}

const TARGETS: Target[] = [
  {
    name: 'node adapter + MemoryStore vs bare node:http',
    a: 'node-memory',
    b: 'bare-node',
    need: 0.85,
  },
  {
    name: 'node adapter + CookieStore vs bare node:http',
    a: 'node-cookie',
    b: 'bare-node',
    need: 0.8,
  },
  {
    name: 'node adapter + CookieStore vs iron-session on node:http',
    a: 'node-cookie',
    b: 'peer-iron-session',
    need: 1.3,
  },
  {
    name: "web layer, the example's `/` with no cookie, vs bare node:http",
    a: 'web-example (new visitor)',
    b: 'bare-node',
    need: 0.7,
  },
  {
    name: 'Express + MemoryStore vs bare Express',
    a: 'express-memory',
    b: 'bare-express',
    need: 0.85,
  },
  {
    name: 'Fastify + MemoryStore vs bare Fastify',
    a: 'fastify-memory',
    b: 'bare-fastify',
    need: 0.85,
  },
  {
    name: 'Express + MemoryStore vs express-session + MemoryStore',
    a: 'express-memory',
    b: 'peer-express-session',
    need: 1.3,
  },
  {
    name: 'Fastify + MemoryStore vs @fastify/session',
    a: 'fastify-memory',
    b: 'peer-@fastify/session',
    need: 1.3,
  },
  {
    name: "web layer + DiskStore vs web.py's DiskStore, one session",
    a: 'web-disk',
    b: 'peer-web.py',
    need: 5,
    p99: true,
  },
  {
    name: "web layer + DiskStore vs web.py's DiskStore, 1,000 sessions in rotation",
    a: 'web-disk (1,000 sessions)',
    b: 'peer-web.py (1,000 sessions)',
    need: 2,
  },
  {
    name: 'Express + DiskStore vs express-session + session-file-store, 1,000 sessions',
    a: 'express-disk (1,000 sessions)',
    b: 'peer-session-file-store (1,000 sessions)',
    need: 1.5,
  },
  {
    name: 'Express + RedisStore vs connect-redis',
    a: 'express-redis',
    b: 'peer-connect-redis',
    need: 1.3,
  },
  {
    name: 'Express + DBStore(PostgreSQL) vs connect-pg-simple',
    a: 'express-postgres',
    b: 'peer-connect-pg-simple',
    need: 3,
  },
  {
    name: 'Express + DBStore(MariaDB) vs express-mysql-session',
    a: 'express-mysql',
    b: 'peer-express-mysql-session',
    need: 3,
  },
  {
    name: 'Express + DBStore(SQLite) vs better-sqlite3-session-store',
    a: 'express-sqlite',
    b: 'peer-better-sqlite3-session-store',
    need: 3,
  },
];

const cpu = (m: Measured) => median(m.rounds.map((r) => r.cpu ?? Number.NaN));
const rps = (m: Measured) => median(m.rounds.map((r) => r.rps));
const p99 = (m: Measured) => median(m.rounds.map((r) => r.p99));

function report(measured: Measured[], skip: Map<Service, string>): Report {
  const byId = (id: string) => measured.find((m) => m.row.id === id);
  const bareNode = byId('bare-node');
  const ratio = (a: Measured, b: Measured | undefined) =>
    b ? median(a.rounds.map((r, i) => r.rps / (b.rounds[i]?.rps ?? Number.NaN))) : Number.NaN;
  const bareOf = (m: Measured) => byId(`bare-${m.child.spec.framework}`);

  const summary = [
    '| target | ours req/s | p99 ms | theirs req/s | p99 ms | ratio | by CPU | required | |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  let missed = 0;
  for (const t of TARGETS) {
    const ma = byId(t.a);
    const mb = byId(t.b);
    if (!ma || !mb) {
      summary.push(`| ${t.name} | – | – | – | – | – | – | ${t.need}× | not measured (skipped) |`);
      continue;
    }
    const r = ratio(ma, mb);
    const p99ok = !t.p99 || p99(ma) <= p99(mb);
    const ok = r >= t.need && p99ok;
    if (!ok) missed++;
    const verdict = ok
      ? 'met'
      : r < t.need
        ? `**missed by ${Math.round((1 - r / t.need) * 100)} %**`
        : '**missed: p99 above theirs**';
    summary.push(
      `| ${t.name} | ${fmt(rps(ma))} | ${p(p99(ma))} | ${fmt(rps(mb))} | ${p(p99(mb))} | ${f2(r)}× | ${f2(cpu(mb) / cpu(ma))}× | ${t.need}×${t.p99 ? ', p99 ≤ theirs' : ''} | ${verdict} |`,
    );
  }
  console.error(`${missed} target(s) missed`);

  const lines = [
    `${ROUNDS} interleaved rounds of ${DURATION} s per row (warm-up: ${WARMUP > 0 ? `${WARMUP} s of load before the first round, ` : ''}100 requests before each later measurement); req/s is the median of the rounds, p99 the median of the rounds' p99, ratios the median of the per-round ratios. Every server answers the same handler: read \`count\` from the session, add one, store it, answer the number.`,
    '',
    '| | server | req/s | p99 ms | CPU µs/req | × node:http | × same framework, no session | req/s per round |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const m of measured.filter((x) => x.row.mode === 'session')) {
    const bare = bareOf(m);
    lines.push(
      `| ${m.child.spec.kind} | ${m.child.spec.label} | ${fmt(rps(m))} | ${p(p99(m))} | ${fmt(cpu(m))} | ${f2(ratio(m, bareNode))} | ${m.child.spec.kind === 'ceiling' || !bare ? '' : f2(ratio(m, bare))} | ${m.rounds.map((r) => fmt(r.rps)).join(' / ')} |`,
    );
  }
  const visitors = measured.filter((x) => x.row.mode === 'visitor');
  if (visitors.length > 0) {
    lines.push(
      '',
      `New visitor: no cookie on any request (\`GET /visit\` reads \`count\` and stores nothing; the web.py example's \`GET /\` reads \`logged_in\`); records left is what the store holds after ${ROUNDS} rounds.`,
      '',
      '| server | path | req/s | p99 ms | CPU µs/req | × node:http | records left |',
      '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
    );
    for (const m of visitors)
      lines.push(
        `| ${m.child.spec.label} | \`${m.row.path}\` | ${fmt(rps(m))} | ${p(p99(m))} | ${fmt(cpu(m))} | ${f2(ratio(m, bareNode))} | ${fmt(m.records ?? Number.NaN)} |`,
      );
  }
  const rotation = measured.filter((x) => x.row.mode === 'rotation');
  if (rotation.length > 0) {
    lines.push(
      '',
      `${ROTATION.toLocaleString('en-US')} sessions in rotation: each request carries the cookie of the next of ${ROTATION.toLocaleString('en-US')} sessions made before the run (a wrk script), so no two requests in flight share a session.`,
      '',
      '| server | req/s | p99 ms | CPU µs/req | × node:http |',
      '| --- | ---: | ---: | ---: | ---: |',
    );
    for (const m of rotation)
      lines.push(
        `| ${m.child.spec.label} | ${fmt(rps(m))} | ${p(p99(m))} | ${fmt(cpu(m))} | ${f2(ratio(m, bareNode))} |`,
      );
  }
  lines.push(
    '',
    '### How to read it',
    '',
    '- "ratio" is the req/s ratio (median of the per-round ratios: both sides measured in the same round, so a busy machine moves both); "by CPU" is the same ratio computed from the server processes\' own CPU µs per request (what the ratio would be if both were CPU-bound on one core; the database servers\' work is left out).',
    "- CPU µs/req is the server process's user + system time over the requests it served (/proc): much less sensitive than req/s to other jobs on the machine.",
    '- A busy machine pushes every ratio toward 1: trust the quietest run.',
    '- "node:http + one AES-256-GCM seal and the same headers" is the least any session sealed in the cookie costs on `/count`, with no session library: one seal with node:crypto and the response headers a sealed session sends (Set-Cookie, Cache-Control, Vary). Its × node:http is the ceiling of the CookieStore row.',
  );
  const problems: string[] = [];
  for (const m of measured) {
    const errors = m.rounds.reduce((a, r) => a + r.errors, 0);
    if (errors > 0) problems.push(`${m.row.id}: ${errors} failed or non-2xx responses`);
    if (m.kept !== undefined && !(m.kept > 10))
      problems.push(`${m.row.id}: the session counter is ${m.kept}: the session was not kept`);
    if (m.row.mode === 'visitor' && m.child.spec.kind === 'ours' && m.records !== 0)
      problems.push(`${m.row.id}: ${m.records} records left behind (expected none)`);
  }
  if (skip.size > 0) lines.push('', ...[...skip.values()].map((s) => `Skipped: ${s}.`));
  if (problems.length > 0) {
    lines.push('', ...problems.map((s) => `Problem: ${s}.`));
    process.exitCode = 1;
  }
  return { summary: summary.join('\n'), tables: lines.join('\n') };
}

await main();
