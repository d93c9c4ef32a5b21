// Where a session's CPU goes inside a node:http server: the same counter answered by handlers
// that add one piece of the session cycle at a time, each in its own process pinned to CPU 0,
// driven by wrk pinned to CPU 1 (taskset and wrk required), against dist/ (build first).
// Prints the server's CPU µs per request (user + system, after a 1.5 s warm-up) and req/s; for
// `load+commit`, also the µs per request spent in the manager's load and in its commit.
// `--store cookie` runs the session handlers on CookieStore (the session sealed in the cookie)
// instead of MemoryStore (`--store memory`, the default).
//   npm run build && node --import tsx bench/inside.ts [--seconds 6] [--rounds 2] [--store cookie]
//   (one server: node --import tsx bench/inside.ts --serve <mode> <port> [--store cookie])
import { execFileSync, fork } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';
import { SESSION_CONFIG } from './servers/common.js';

const MODES = {
  bare: 'res.end at once, no session',
  await: 'one `await null` before res.end',
  patch: 'res.writeHead/write/end/flushHeaders patched per request (as hold.ts)',
  load: 'manager.load only',
  'load+commit': 'load, count += 1, commit, res.end',
  'load+hold+commit': 'the same through holdResponse',
  withSession: 'the node adapter (withSession)',
} as const;
type Mode = keyof typeof MODES;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    seconds: { type: 'string' },
    rounds: { type: 'string' },
    serve: { type: 'string' },
    store: { type: 'string' },
  },
});

if (values.store !== undefined && values.store !== 'memory' && values.store !== 'cookie') {
  console.error(`--store: memory or cookie, not ${values.store}`);
  process.exit(2);
}

async function serve(mode: Mode, port: number): Promise<void> {
  const dist = new URL('../dist/', import.meta.url).href;
  const { CookieStore, MemoryStore, SessionManager } = (await import(
    `${dist}index.js`
  )) as typeof import('websession');
  const { withSession } = (await import(
    `${dist}adapters/node.js`
  )) as typeof import('websession/node');
  const { holdResponse } = (await import(
    `${dist}adapters/hold.js`
  )) as typeof import('../src/adapters/hold.js');
  const store = values.store === 'cookie' ? new CookieStore() : new MemoryStore();
  const m = new SessionManager<{ count: number }>(store, SESSION_CONFIG);
  const first = await m.load({ ip: '127.0.0.1' });
  first.count = 0;
  const cookie = (await m.commit(first, {}))!.split(';')[0]!;
  let n = 0;
  /** ns spent in the manager's load and commit (mode load+commit). */
  let inLoad = 0n;
  let inCommit = 0n;
  const info = (req: IncomingMessage) => ({
    cookie: req.headers.cookie,
    ip: req.socket.remoteAddress,
  });
  const handlers: Record<Mode, (req: IncomingMessage, res: ServerResponse) => unknown> = {
    bare: (_req, res) => res.end(String(++n)),
    await: async (_req, res) => {
      await null;
      res.end(String(++n));
    },
    patch: (_req, res) => {
      const target = res as unknown as Record<string, (...a: unknown[]) => unknown>;
      for (const k of ['writeHead', 'write', 'end', 'flushHeaders']) {
        const original = target[k]!;
        target[k] = (...a: unknown[]) => original.apply(res, a);
      }
      res.end(String(++n));
    },
    load: async (req, res) => {
      const s = await m.load(info(req));
      res.end(String(s.count));
    },
    'load+commit': async (req, res) => {
      const t0 = process.hrtime.bigint();
      const s = await m.load(info(req));
      const t1 = process.hrtime.bigint();
      s.count = (s.count ?? 0) + 1;
      const t2 = process.hrtime.bigint();
      const setCookie = await m.commit(s, {});
      inLoad += t1 - t0;
      inCommit += process.hrtime.bigint() - t2;
      if (setCookie) res.setHeader('Set-Cookie', setCookie);
      res.end(String(s.count));
    },
    'load+hold+commit': async (req, res) => {
      const s = await m.load(info(req));
      const settle = holdResponse(res, async () => ({ setCookie: await m.commit(s, {}) }));
      s.count = (s.count ?? 0) + 1;
      res.end(String(s.count));
      await settle();
    },
    withSession: withSession(m, (_req, res, s) => {
      s.count = (s.count ?? 0) + 1;
      res.end(String(s.count));
    }),
  };
  const handler = handlers[mode];
  let requests = 0;
  let base = 0;
  setTimeout(() => {
    const u = process.cpuUsage();
    base = u.user + u.system;
    requests = 0;
    inLoad = 0n;
    inCommit = 0n;
  }, 1500);
  createServer((req, res) => {
    requests++;
    return handler(req, res);
  }).listen(port, '127.0.0.1', () => process.send?.({ cookie }));
  process.on('message', () => {
    const u = process.cpuUsage();
    const phases =
      inLoad > 0n
        ? { load: Number(inLoad) / 1000 / requests, commit: Number(inCommit) / 1000 / requests }
        : undefined;
    process.send?.({ cpu: (u.user + u.system - base) / requests, phases });
  });
}

async function drive(): Promise<void> {
  const seconds = Number(values.seconds ?? 6);
  const rounds = Number(values.rounds ?? 2);
  const port = 9302;
  console.log(
    `| handler | ${Array.from({ length: rounds }, (_, i) => `round ${i + 1}: CPU µs/req, req/s`).join(' | ')} |`,
  );
  console.log(`| --- |${' ---: |'.repeat(rounds)}`);
  const rows = new Map<Mode, string[]>();
  for (let r = 0; r < rounds; r++) {
    for (const mode of Object.keys(MODES) as Mode[]) {
      const store = values.store ? ['--store', values.store] : [];
      const child = fork(
        new URL(import.meta.url).pathname,
        ['--serve', mode, String(port), ...store],
        {
          execArgv: process.execArgv,
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        },
      );
      const hello = await new Promise<{ cookie: string }>((resolve) =>
        child.once('message', (m) => resolve(m as { cookie: string })),
      );
      execFileSync('taskset', ['-a', '-p', '-c', '0', String(child.pid)], { stdio: 'ignore' });
      const out = execFileSync('taskset', [
        '-c',
        '1',
        'wrk',
        '-t1',
        '-c10',
        `-d${seconds}s`,
        '-H',
        `Cookie: ${hello.cookie}`,
        `http://127.0.0.1:${port}/`,
      ]).toString();
      const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
      type Report = { cpu: number; phases?: { load: number; commit: number } };
      const { cpu, phases } = await new Promise<Report>((resolve) => {
        child.once('message', (m) => resolve(m as Report));
        child.send('report');
      });
      child.kill();
      await new Promise((resolve) => child.once('exit', resolve));
      const cells = rows.get(mode) ?? [];
      const inside = phases
        ? ` (load ${phases.load.toFixed(1)}, commit ${phases.commit.toFixed(1)})`
        : '';
      cells.push(`${cpu.toFixed(1)}${inside}, ${Math.round(rps).toLocaleString('en-US')}`);
      rows.set(mode, cells);
    }
  }
  for (const [mode, cells] of rows)
    console.log(`| ${mode}: ${MODES[mode]} | ${cells.join(' | ')} |`);
}

if (values.serve) await serve(values.serve as Mode, Number(positionals[0]));
else await drive();
