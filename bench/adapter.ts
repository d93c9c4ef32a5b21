// CPU cost of the node adapter per request, without sockets or load generator: real node:http
// IncomingMessage and ServerResponse objects whose bytes go to a null socket, the bench's /count
// handler bare and under withSession (MemoryStore new visitor and existing session, CookieStore).
// What it leaves out (parsing, syscalls) is the same with or without a session, so the
// differences to `bare` are the session's own cost, steady enough to compare on a busy machine.
// Runs against dist/ (npm run build first), as an application would.
//   node --import tsx bench/adapter.ts [--n 20000] [--rounds 7] [--dist <dir>] [--show]
import { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { parseArgs } from 'node:util';
import { SESSION_CONFIG } from './servers/common.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string' },
    rounds: { type: 'string' },
    dist: { type: 'string' },
    show: { type: 'boolean' },
  },
});
const n = Number(values.n ?? 20_000);
const rounds = Number(values.rounds ?? 7);
const dist = values.dist ?? new URL('../dist', import.meta.url).pathname;
const { MemoryStore, CookieStore, SessionManager } = (await import(
  `${dist}/index.js`
)) as typeof import('websession');
const { withSession } = (await import(
  `${dist}/adapters/node.js`
)) as typeof import('websession/node');

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

/** A socket that takes every write at once and keeps nothing. */
const sink = new Duplex({
  read() {},
  write(_chunk, _encoding, done) {
    done();
  },
});
sink.write = () => true;
sink.cork = () => {};
sink.uncork = () => {};
const socket = sink as unknown as Socket;

/** One GET through `listener`, as node:http's server would give it (keep-alive, HTTP/1.1). */
function request(listener: Listener, url: string, cookie: string): ServerResponse {
  const req = new IncomingMessage(socket);
  req.method = 'GET';
  req.url = url;
  req.httpVersionMajor = 1;
  req.httpVersionMinor = 1;
  req.httpVersion = '1.1';
  req.headers = cookie ? { host: 'bench', cookie } : { host: 'bench' };
  req.complete = true;
  const res = new ServerResponse(req);
  res.shouldKeepAlive = true;
  res.assignSocket(socket);
  listener(req, res);
  res.detachSocket(socket);
  return res;
}

let counter = 0;
const bare: Listener = (_req, res) => res.end(String(++counter));
const session = (store: import('websession').StoreOrSealer): Listener =>
  withSession(new SessionManager(store, SESSION_CONFIG), (req, res, s) => {
    const count = (s.get('count') as number | undefined) ?? 0;
    if (req.url === '/visit') return res.end(String(count));
    s.set('count', count + 1);
    res.end(String(count + 1));
  });
const cookieOf = (listener: Listener): string => {
  const value = request(listener, '/', '').getHeader('set-cookie');
  return String(Array.isArray(value) ? value[0] : value).split(';')[0]!;
};
const memory = session(new MemoryStore());
const sealed = session(new CookieStore());
const cases: Record<string, [Listener, string, string]> = {
  bare: [bare, '/', ''],
  'memory, new visitor (/visit)': [memory, '/visit', ''],
  'memory (/count)': [memory, '/', cookieOf(memory)],
  'cookie (/count)': [sealed, '/', cookieOf(sealed)],
};

if (values.show)
  for (const [name, [listener, url, cookie]] of Object.entries(cases))
    console.log(
      name,
      JSON.stringify((request(listener, url, cookie) as { _header?: string })._header),
    );

const best = new Map<string, number>();
for (let round = 0; round < rounds; round++)
  for (const [name, [listener, url, cookie]] of Object.entries(cases)) {
    const start = process.cpuUsage();
    for (let i = 0; i < n; i++) request(listener, url, cookie);
    const used = process.cpuUsage(start);
    // The first round is the warm-up.
    if (round > 0)
      best.set(name, Math.min(best.get(name) ?? Infinity, (used.user + used.system) / n));
  }
const base = best.get('bare') ?? 0;
for (const [name, us] of best)
  console.log(
    `${name.padEnd(30)} ${us.toFixed(2).padStart(6)} µs CPU/request${name === 'bare' ? '' : `  (+${(us - base).toFixed(2)} over bare)`}`,
  );
console.log(`best of ${rounds - 1} rounds of ${n} requests after a warm-up round`);
