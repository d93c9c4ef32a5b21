// CPU profile of one bench server under load, summarised: where the server's time goes.
//
//   npm run build && node --import tsx bench/profile.ts <server id> [seconds]
//   (servers load websession from dist/, as an application does; add --conditions=websession-src
//   to profile the sources through tsx instead)
//   e.g. bench/profile.ts node-memory 5     (server ids: see SERVERS in bench/servers/index.ts)
//   bench/profile.ts web-disk 5 --rotation 1000   (each request carries the cookie of the next of
//   1,000 sessions made first, as the bench's rotation rows do; wrk only)
//   bench/profile.ts example-web-disk 5 --rotation 1000 --path /count   (another path than the
//   session row's)
//
// Drives the server with wrk (or autocannon) on an existing session while the V8 profiler runs
// in it (started after the warm-up, so start-up is not in it), then prints self time per
// function and per source file (top 25 each; PROFILE_TOP=N for more) and the server's CPU µs per
// request.
import { execFileSync, fork, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { SERVERS } from './servers/index.js';
import { sessionCookie, writeRotationScript, writeSessionCookies } from './session-cookies.js';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

const { positionals, values } = (() => {
  try {
    return parseArgs({
      allowPositionals: true,
      options: { rotation: { type: 'string' }, path: { type: 'string' } },
    });
  } catch (err) {
    console.error(
      `${(err as Error).message}\nusage: bench/profile.ts <server id> [seconds] [--rotation <sessions>] [--path <path>]`,
    );
    process.exit(2);
  }
})();
const [id = 'node-memory', seconds = '5'] = positionals;
const rotation = values.rotation === undefined ? 0 : Number(values.rotation);
if (!Number.isInteger(rotation) || rotation < 0) {
  console.error(`--rotation takes a number of sessions, not ${values.rotation}`);
  process.exit(2);
}
const dir = mkdtempSync(join(os.tmpdir(), 'websession-prof-'));
const here = new URL('.', import.meta.url).pathname;
const child = fork(join(here, 'servers', 'child.ts'), [id, join(dir, 'data')], {
  execArgv: process.execArgv,
  stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
});
const ask = (m: object) =>
  new Promise<Record<string, unknown>>((resolve) => {
    child.once('message', (r) => resolve(r as Record<string, unknown>));
    child.send(m);
  });
const hello = await new Promise<{ port: number }>((resolve) =>
  child.once('message', (m) => resolve(m as { port: number })),
);
// The path the bench's session row requests (the examples answer their counter at /count).
const path = values.path ?? SERVERS[id]?.path ?? '/';
const base = `http://127.0.0.1:${hello.port}`;
const url = `${base}${path}`;
const cookie = await sessionCookie(base, path);
const wrk = spawnSync('wrk', ['-v']).error === undefined;
if (rotation > 0 && !wrk) {
  console.error('--rotation needs wrk');
  child.kill();
  process.exit(2);
}
/** With --rotation: wrk's rotation script and the cookies of that many sessions, made now. */
const rotate: string[] = [];
if (rotation > 0) {
  const file = await writeSessionCookies(base, path, id, rotation, join(dir, 'cookies'));
  rotate.push('-s', writeRotationScript(dir), url, '--', file);
}
const drive = async (s: string): Promise<number> => {
  if (wrk) {
    const sent = rotate.length > 0 ? rotate : [...(cookie ? ['-H', `Cookie: ${cookie}`] : []), url];
    const args = ['-t1', '-c10', `-d${s}s`, ...sent];
    const out = execFileSync('wrk', args, { encoding: 'utf8' });
    console.log(out.match(/Requests\/sec:.*/)?.[0]);
    return Number(/(\d+) requests in/.exec(out)?.[1]);
  }
  const autocannon = (await import('autocannon')).default;
  const r = await autocannon({ url, connections: 10, duration: Number(s), headers: { cookie } });
  console.log(`Requests/sec: ${r.requests.average}`);
  return r.requests.total;
};
await drive('1'); // warm-up
const stat = () => {
  const f = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
  const x = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(x[11]) + Number(x[12])) / 100;
};
await ask({ op: 'profile' });
const before = stat();
const requests = await drive(seconds);
const cpu = stat() - before;
const file = join(dir, 'server.cpuprofile');
await ask({ op: 'profile', file });
child.send({ op: 'close' });
await new Promise((r) => child.once('exit', r));
console.log(
  `server CPU ${((cpu * 1e6) / requests).toFixed(0)} µs per request (with the profiler on)`,
);

const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map<number, number>();
for (const [i, s] of profile.samples.entries())
  self.set(s, (self.get(s) ?? 0) + (profile.timeDeltas[i] ?? 0));
const total = [...self.values()].reduce((a, b) => a + b, 0);
const idle = [...self].filter(([n]) => byId.get(n)?.callFrame.functionName === '(idle)');
const idleTime = idle.reduce((a, [, t]) => a + t, 0);
const busy = total - idleTime;
const root = process.cwd();
const where = (u: string) =>
  u.startsWith('file://') ? relative(root, new URL(u).pathname) : u || '(native)';
const sum = (key: (n: Node) => string) => {
  const m = new Map<string, number>();
  for (const [nid, t] of self) {
    const n = byId.get(nid)!;
    if (n.callFrame.functionName === '(idle)') continue;
    m.set(key(n), (m.get(key(n)) ?? 0) + t);
  }
  return [...m].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.PROFILE_TOP ?? 25));
};
const pct = (t: number) => `${((100 * t) / busy).toFixed(1)} %`.padStart(7);
console.log(`busy ${(busy / 1e6).toFixed(2)} s of ${(total / 1e6).toFixed(2)} s profiled`);
console.log('\nself time by function (share of busy time):');
for (const [k, t] of sum(
  (n) =>
    `${n.callFrame.functionName || '(anonymous)'} ${where(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`,
))
  console.log(`${pct(t)}  ${k}`);
console.log('\nself time by file:');
for (const [k, t] of sum((n) => where(n.callFrame.url))) console.log(`${pct(t)}  ${k}`);

// Inclusive time: a function's own time plus everything it called (each function counted once
// per sampled stack), to see what a request's layers cost as a whole.
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const inclusive = new Map<string, number>();
for (const [nid, t] of self) {
  if (byId.get(nid)?.callFrame.functionName === '(idle)') continue;
  const seen = new Set<string>();
  for (let id: number | undefined = nid; id !== undefined; id = parent.get(id)) {
    const n = byId.get(id)!;
    if (!n.callFrame.url.startsWith('file://')) continue;
    const k = `${n.callFrame.functionName || '(anonymous)'} ${where(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
    if (seen.has(k)) continue;
    seen.add(k);
    inclusive.set(k, (inclusive.get(k) ?? 0) + t);
  }
}
console.log('\ninclusive time of project functions (share of busy time):');
for (const [k, t] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, 30))
  console.log(`${pct(t)}  ${k}`);
