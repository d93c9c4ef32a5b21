// Requests per second of each adapter against the same framework with no session, and against
// express-session (Express) and @fastify/session (Fastify), all with in-memory stores.
//
//   node --import tsx --conditions=websession-src bench/adapters.ts [--duration 5] [--connections 10] [--only express]
//
// Each server runs in its own child process (this process only drives autocannon), and every
// request reads and updates one key of one existing session (created by a first request).
import { fork } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';

const SECRET = 'a bench secret of more than thirty-two characters';

type Variant = 'bare' | 'websession' | 'peer';
type Starter = () => Promise<Server>;

/** Loads a module by a name TypeScript does not resolve (the peers' own type augmentations of
 * `Express.Request` and `FastifyRequest` would clash with websession's). */
const load = (name: string): Promise<{ default: unknown }> => import(name);

type HonoServe = typeof import('@hono/node-server').serve;

/** Serves a Hono app on a loopback port; resolves once it listens. */
function honoServe(
  serve: HonoServe,
  fetch: (request: Request) => Response | Promise<Response>,
): Promise<Server> {
  return new Promise((resolve) => {
    const server = serve({ fetch, port: 0, hostname: '127.0.0.1' }, () =>
      resolve(server as Server),
    );
  });
}

function listen(server: Server): Promise<Server> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function manager() {
  const { MemoryStore, SessionManager } = await import('websession');
  return new SessionManager(new MemoryStore(), { secret_key: SECRET, cleanup_interval: 0 });
}

/** The handler's work on a session: read one key, write it back incremented. */
function bump(read: () => unknown, write: (n: number) => void): string {
  const n = ((read() as number | undefined) ?? 0) + 1;
  write(n);
  return String(n);
}

const SERVERS: Record<string, Partial<Record<Variant, Starter>>> = {
  node: {
    bare: () => {
      let n = 0;
      return listen(createServer((_req, res) => res.end(String(++n))));
    },
    websession: async () => {
      const { withSession } = await import('websession/node');
      const m = await manager();
      return listen(
        createServer(
          withSession(m, (_req, res, s) => {
            res.end(
              bump(
                () => s.get('n'),
                (n) => s.set('n', n),
              ),
            );
          }),
        ),
      );
    },
  },
  express: {
    bare: async () => {
      const express = (await import('express')).default;
      const app = express();
      let n = 0;
      app.get('/', (_req, res) => {
        res.send(String(++n));
      });
      return listen(app.listen(0, '127.0.0.1'));
    },
    websession: async () => {
      const express = (await import('express')).default;
      const { session } = await import('websession/express');
      const app = express();
      app.use(session(await manager()));
      app.get('/', (req, res) => {
        res.send(
          bump(
            () => req.session.get('n'),
            (n) => req.session.set('n', n),
          ),
        );
      });
      return listen(app.listen(0, '127.0.0.1'));
    },
    peer: async () => {
      const express = (await import('express')).default;
      const expressSession = (await load('express-session')).default as (
        options: object,
      ) => import('express').RequestHandler;
      const app = express();
      app.use(expressSession({ secret: SECRET, resave: false, saveUninitialized: false }));
      app.get('/', (req, res) => {
        const s = (req as unknown as { session: Record<string, number> }).session;
        res.send(
          bump(
            () => s.n,
            (n) => {
              s.n = n;
            },
          ),
        );
      });
      return listen(app.listen(0, '127.0.0.1'));
    },
  },
  fastify: {
    bare: async () => {
      const Fastify = (await import('fastify')).default;
      const app = Fastify();
      let n = 0;
      app.get('/', async () => String(++n));
      await app.listen({ port: 0, host: '127.0.0.1' });
      return app.server;
    },
    websession: async () => {
      const Fastify = (await import('fastify')).default;
      const { fastifySession } = await import('websession/fastify');
      const app = Fastify();
      await app.register(fastifySession, { manager: await manager() });
      app.get('/', async (request) =>
        bump(
          () => request.session.get('n'),
          (n) => request.session.set('n', n),
        ),
      );
      await app.listen({ port: 0, host: '127.0.0.1' });
      return app.server;
    },
    peer: async () => {
      const Fastify = (await import('fastify')).default;
      const cookie = (await load('@fastify/cookie'))
        .default as import('fastify').FastifyPluginAsync;
      const session = (await load('@fastify/session'))
        .default as import('fastify').FastifyPluginAsync<Record<string, unknown>>;
      const app = Fastify();
      await app.register(cookie);
      await app.register(session, {
        secret: SECRET,
        saveUninitialized: false,
        cookie: { secure: false },
      });
      app.get('/', async (request) => {
        const s = (
          request as unknown as {
            session: { get(k: string): unknown; set(k: string, v: unknown): void };
          }
        ).session;
        return bump(
          () => s.get('n'),
          (n) => s.set('n', n),
        );
      });
      await app.listen({ port: 0, host: '127.0.0.1' });
      return app.server;
    },
  },
  hono: {
    bare: async () => {
      const { Hono } = await import('hono');
      const { serve } = await import('@hono/node-server');
      const app = new Hono();
      let n = 0;
      app.get('/', (c) => c.text(String(++n)));
      return honoServe(serve, app.fetch);
    },
    websession: async () => {
      const { Hono } = await import('hono');
      const { serve } = await import('@hono/node-server');
      const { session } = await import('websession/hono');
      const app = new Hono<import('websession/hono').SessionEnv>();
      app.use(session(await manager()));
      app.get('/', (c) =>
        c.text(
          bump(
            () => c.var.session.get('n'),
            (n) => c.var.session.set('n', n),
          ),
        ),
      );
      return honoServe(serve, app.fetch);
    },
  },
  koa: {
    bare: async () => {
      const Koa = (await import('koa')).default;
      const app = new Koa();
      let n = 0;
      app.use((ctx) => {
        ctx.body = String(++n);
      });
      return listen(app.listen(0, '127.0.0.1'));
    },
    websession: async () => {
      const Koa = (await import('koa')).default;
      const { session } = await import('websession/koa');
      const app = new Koa();
      app.use(session(await manager()));
      app.use((ctx) => {
        ctx.body = bump(
          () => ctx.session.get('n'),
          (n) => ctx.session.set('n', n),
        );
      });
      return listen(app.listen(0, '127.0.0.1'));
    },
  },
};

// ---- child: serve one variant, report its port ----

async function serveVariant(framework: string, variant: Variant): Promise<void> {
  const start = SERVERS[framework]?.[variant];
  if (!start) throw new Error(`no ${variant} server for ${framework}`);
  const server = await start();
  if (!server.listening) await new Promise((resolve) => server.once('listening', resolve));
  process.send?.({ port: (server.address() as AddressInfo).port });
}

// ---- parent: run every variant in turn ----

interface Row {
  framework: string;
  variant: Variant;
  rps: number;
  p99: number;
  errors: number;
}

async function measure(
  framework: string,
  variant: Variant,
  duration: number,
  connections: number,
): Promise<Row> {
  const child = fork(new URL(import.meta.url).pathname, ['--serve', framework, variant], {
    execArgv: process.execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.once('message', (m) => resolve((m as { port: number }).port));
      child.once('exit', (code) =>
        reject(new Error(`${framework}/${variant} server exited with ${code}`)),
      );
    });
    const url = `http://127.0.0.1:${port}/`;
    // The session every request then reads and updates.
    const first = await fetch(url);
    await first.text();
    const cookie = first.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
    if (variant !== 'bare' && !cookie)
      throw new Error(`${framework}/${variant}: no session cookie`);
    const headers: Record<string, string> = cookie ? { cookie } : {};
    await autocannon({ url, connections, duration: 1, headers }); // warm-up
    const result = await autocannon({ url, connections, duration, headers });
    // The session really was read and written: its counter moved past the warm-up and the run
    // (parallel requests of one session may overwrite each other's get/set: no exact count).
    const check = await fetch(url, { headers });
    const last = Number(await check.text());
    if (variant !== 'bare' && !(last > 100)) {
      throw new Error(
        `${framework}/${variant}: the session counter is ${last}: the session was not kept`,
      );
    }
    return {
      framework,
      variant,
      rps: result.requests.average,
      p99: result.latency.p99,
      errors: result.errors + result.non2xx,
    };
  } finally {
    child.kill();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      serve: { type: 'boolean' },
      duration: { type: 'string', default: '5' },
      connections: { type: 'string', default: '10' },
      only: { type: 'string' },
    },
    allowPositionals: true,
    args: process.argv.slice(2),
  });
  if (values.serve) {
    const [framework, variant] = process.argv.slice(3);
    await serveVariant(framework!, variant as Variant);
    return;
  }
  const duration = Number(values.duration);
  const connections = Number(values.connections);
  const rows: Row[] = [];
  for (const [framework, variants] of Object.entries(SERVERS)) {
    if (values.only && values.only !== framework) continue;
    for (const variant of Object.keys(variants) as Variant[]) {
      const row = await measure(framework, variant, duration, connections);
      console.error(`${framework.padEnd(8)} ${variant.padEnd(10)} ${Math.round(row.rps)} req/s`);
      rows.push(row);
    }
  }
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  const lines = [
    '| framework | no session (req/s) | websession (req/s) | × no session | peer (req/s) | websession × peer | p99 ms (bare / ours / peer) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const framework of new Set(rows.map((r) => r.framework))) {
    const by = (v: Variant) => rows.find((r) => r.framework === framework && r.variant === v);
    const bare = by('bare');
    const ours = by('websession');
    const peer = by('peer');
    const peerName =
      framework === 'express'
        ? 'express-session'
        : framework === 'fastify'
          ? '@fastify/session'
          : '';
    lines.push(
      `| ${framework} | ${fmt(bare?.rps ?? 0)} | ${fmt(ours?.rps ?? 0)} | ${bare && ours ? (ours.rps / bare.rps).toFixed(2) : '–'} | ${peer ? `${fmt(peer.rps)} (${peerName})` : '–'} | ${peer && ours ? (ours.rps / peer.rps).toFixed(2) : '–'} | ${[bare, ours, peer].map((r) => (r ? r.p99 : '–')).join(' / ')} |`,
    );
  }
  const errors = rows.filter((r) => r.errors > 0);
  console.log(lines.join('\n'));
  console.log(
    `\n${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), ${connections} connections, ${duration} s per row after 1 s warm-up`,
  );
  if (errors.length > 0) {
    console.log(
      `errors: ${errors.map((r) => `${r.framework}/${r.variant}: ${r.errors}`).join(', ')}`,
    );
    process.exitCode = 1;
  }
}

await main();
