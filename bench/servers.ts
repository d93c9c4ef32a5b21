// The servers bench/run.ts measures, one per child process. Every server does the same work:
// `GET /` reads `count` from the session, adds one, stores it and answers the number;
// `GET /visit` only reads it (answers `count` or 0) and is what the "new visitor" rows hit.
// Servers with no session answer a counter of their own.
//
// Child entry (run by bench/run.ts, not by hand):
//   node --import tsx bench/servers.ts <server id> <tmp dir>
// It reports `{ port }` over IPC, then answers `{ op: 'records' | 'seed' | 'cleanup' | 'close' }`.
import { createCipheriv, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Store } from 'websession';

export const SECRET = 'a bench secret of more than thirty-two characters';
export const POSTGRES_URL = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const MYSQL_URL = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0';
/** Session idle timeout of every server (seconds); seeded "expired" records are older. */
export const TIMEOUT = 3600;

export type Service = 'postgres' | 'mysql' | 'redis' | 'webpy';

/** What a started server offers the parent beyond its port. */
export interface Running {
  server?: Server;
  /** Port and process id of a server not run by this process (web.py). */
  port?: number;
  pid?: number;
  /** Stored session records now (for the new-visitor rows). */
  records?: () => Promise<number>;
  /** The websession store, for seeding and cleanup (scale part). */
  store?: Store;
  close?: () => Promise<void>;
}

export interface ServerSpec {
  /** Shown in tables. */
  label: string;
  /** Framework whose bare server is this one's ceiling (same-framework ratios). */
  framework: 'node' | 'express' | 'fastify' | 'hono' | 'koa' | 'web' | 'web.py';
  /** Store kind, for the same-store comparisons. */
  store?: 'memory' | 'cookie' | 'disk' | 'sqlite' | 'postgres' | 'mysql' | 'shelf' | 'redis';
  kind: 'ceiling' | 'ours' | 'peer';
  needs?: Service;
  start(tmp: string): Promise<Running>;
}

/** Loads a module by a name TypeScript does not resolve (the peers' own type augmentations of
 * `Express.Request` and `FastifyRequest` would clash with websession's). */
// biome-ignore lint/suspicious/noExplicitAny: untyped peers, used only here
const load = (name: string): Promise<any> => import(name);

function listen(server: Server): Promise<Server> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** The one handler: `count + 1` stored (`write`), or only read for `/visit`. */
function count(path: string | undefined, read: () => unknown, write: (n: number) => void): string {
  const n = (read() as number | undefined) ?? 0;
  if (path === '/visit') return String(n);
  write(n + 1);
  return String(n + 1);
}

const url = (base: string, params: Record<string, string>) => {
  const u = new URL(base);
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  return u.href;
};

/** Opens a websession store of a kind, emptied (server stores keep tables between runs). */
async function openStore(
  kind: NonNullable<ServerSpec['store']>,
  tmp: string,
  framework: string,
): Promise<Store> {
  const { storeFromUrl } = await import('websession');
  const urls: Record<typeof kind, string> = {
    memory: 'memory:?max=1200000',
    cookie: 'cookie:',
    disk: `disk:${join(tmp, 'disk')}`,
    sqlite: `sqlite:${join(tmp, 'sessions.db')}`,
    // One table per server: each server empties its own at start.
    postgres: url(POSTGRES_URL, { table: `bench_websession_${framework}` }),
    mysql: url(MYSQL_URL, { table: `bench_websession_${framework}` }),
    shelf: `shelf:${join(tmp, 'sessions.shelf')}`,
    redis: url(REDIS_URL, { prefix: `bench-websession:${process.pid}:` }),
  };
  const store = await storeFromUrl(urls[kind]);
  if (kind === 'postgres' || kind === 'mysql') await store.cleanup(0);
  return store;
}

async function countKeys(store: Store): Promise<number> {
  let n = 0;
  for await (const _ of store.keys()) n++;
  return n;
}

/** Deletes what a shared server (Redis) would otherwise keep after the run. */
async function emptyStore(store: Store): Promise<void> {
  if (store.kind === 'postgres' || store.kind === 'mysql') await store.cleanup(0);
  if (store.kind !== 'redis') return;
  const keys: string[] = [];
  for await (const key of store.keys()) keys.push(key);
  for (let i = 0; i < keys.length; i += 1000)
    await Promise.all(keys.slice(i, i + 1000).map((k) => store.delete(k)));
}

async function manager(store: Store) {
  const { SessionManager } = await import('websession');
  return new SessionManager(store, { secret_key: SECRET, cleanup_interval: 0, timeout: TIMEOUT });
}

function ours(
  framework: ServerSpec['framework'],
  storeKind: NonNullable<ServerSpec['store']>,
  serve: (store: Store) => Promise<Server>,
): ServerSpec {
  return {
    label: `websession/${framework} + ${storeKind}`,
    framework,
    store: storeKind,
    kind: 'ours',
    ...(storeKind === 'postgres' || storeKind === 'mysql' || storeKind === 'redis'
      ? { needs: storeKind }
      : {}),
    async start(tmp) {
      const store = await openStore(storeKind, tmp, framework);
      const server = await serve(store);
      return {
        server,
        store,
        records: () => countKeys(store),
        close: async () => {
          await emptyStore(store);
          await store.close();
        },
      };
    },
  };
}

// ---- websession, per framework ----

const websession: Record<string, (store: Store) => Promise<Server>> = {
  node: async (store) => {
    const { withSession } = await import('websession/node');
    const m = await manager(store);
    return listen(
      createServer(
        withSession(m, (req, res, s) => {
          res.end(
            count(
              req.url,
              () => s.get('count'),
              (n) => s.set('count', n),
            ),
          );
        }),
      ),
    );
  },
  express: async (store) => {
    const express = (await import('express')).default;
    const { session, sessionOf } = await import('websession/express');
    const app = express();
    app.use(session(await manager(store)));
    app.get(['/', '/visit'], (req, res) => {
      res.send(
        count(
          req.path,
          () => sessionOf(req).get('count'),
          (n) => sessionOf(req).set('count', n),
        ),
      );
    });
    return listen(app.listen(0, '127.0.0.1'));
  },
  fastify: async (store) => {
    const Fastify = (await import('fastify')).default;
    const { fastifySession, sessionOf } = await import('websession/fastify');
    const app = Fastify();
    await app.register(fastifySession, { manager: await manager(store) });
    const handler = async (request: import('fastify').FastifyRequest) =>
      count(
        request.url,
        () => sessionOf(request).get('count'),
        (n) => sessionOf(request).set('count', n),
      );
    app.get('/', handler);
    app.get('/visit', handler);
    await app.listen({ port: 0, host: '127.0.0.1' });
    return app.server;
  },
  hono: async (store) => {
    const { Hono } = await import('hono');
    const { serve } = await import('@hono/node-server');
    const { session } = await import('websession/hono');
    const app = new Hono<import('websession/hono').SessionEnv>();
    app.use(session(await manager(store)));
    app.get('*', (c) =>
      c.text(
        count(
          c.req.path,
          () => c.var.session.get('count'),
          (n) => c.var.session.set('count', n),
        ),
      ),
    );
    return honoServe(serve, app.fetch);
  },
  koa: async (store) => {
    const Koa = (await import('koa')).default;
    const { session } = await import('websession/koa');
    const app = new Koa();
    app.use(session(await manager(store)));
    app.use((ctx) => {
      ctx.body = count(
        ctx.path,
        () => ctx.session.get('count'),
        (n) => ctx.session.set('count', n),
      );
    });
    return listen(app.listen(0, '127.0.0.1'));
  },
  web: async (store) => {
    const web = await import('websession/web');
    const app = web.application(['/', 'Count', '/visit', 'Count'], () => ({ Count }));
    const session = web.session.Session<{ count: number }>(app, store, null, {
      secret_key: SECRET,
      cleanup_interval: 0,
      timeout: TIMEOUT,
    });
    class Count {
      GET() {
        return count(
          web.ctx.path,
          () => session.get('count', 0),
          (n) => {
            session.count = n;
          },
        );
      }
    }
    return listen(createServer(app.listener()));
  },
};

type HonoServe = typeof import('@hono/node-server').serve;

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

// ---- the ceiling: no session ----

function bare(framework: ServerSpec['framework'], serve: () => Promise<Server>): ServerSpec {
  return {
    label: framework === 'node' ? 'node:http' : framework === 'web' ? 'web layer' : framework,
    framework,
    kind: 'ceiling',
    start: async () => ({ server: await serve() }),
  };
}

let n = 0;
const ceiling: Record<string, () => Promise<Server>> = {
  node: () => listen(createServer((_req, res) => res.end(String(++n)))),
  express: async () => {
    const express = (await import('express')).default;
    const app = express();
    app.get(['/', '/visit'], (_req, res) => {
      res.send(String(++n));
    });
    return listen(app.listen(0, '127.0.0.1'));
  },
  fastify: async () => {
    const Fastify = (await import('fastify')).default;
    const app = Fastify();
    app.get('/', async () => String(++n));
    await app.listen({ port: 0, host: '127.0.0.1' });
    return app.server;
  },
  hono: async () => {
    const { Hono } = await import('hono');
    const { serve } = await import('@hono/node-server');
    const app = new Hono();
    app.get('*', (c) => c.text(String(++n)));
    return honoServe(serve, app.fetch);
  },
  koa: async () => {
    const Koa = (await import('koa')).default;
    const app = new Koa();
    app.use((ctx) => {
      ctx.body = String(++n);
    });
    return listen(app.listen(0, '127.0.0.1'));
  },
  web: async () => {
    const web = await import('websession/web');
    class Count {
      GET() {
        return String(++n);
      }
    }
    const app = web.application(['/', 'Count'], () => ({ Count }));
    return listen(createServer(app.listener()));
  },
};

/**
 * The least a session sealed in the cookie can cost on `/count`, with no session library: one
 * AES-256-GCM seal (node:crypto) of a payload the size of ours, sent with the headers ours sends
 * (Set-Cookie, Cache-Control, Vary). The incoming cookie is not read: a browser sends back the
 * value it was given last, which a store can recognise without decrypting it.
 */
function sealedFloor(): Promise<Server> {
  const key = randomBytes(32);
  const aad = Buffer.from('1:webpy_session_id');
  const created = Date.now();
  // IVs drawn 1,024 at a time, as CookieStore draws them: one system call per 1,024 seals.
  let [ivs, at] = [Buffer.alloc(0), 0];
  return listen(
    createServer((_req, res) => {
      const body = String(++n);
      const text = `{"v":1,"meta":{"created":${created},"ip":"127.0.0.1"},"data":{"count":${body}}}`;
      if (at + 12 > ivs.length) [ivs, at] = [randomBytes(12 * 1024), 0];
      const iv = ivs.subarray(at, at + 12);
      at += 12;
      const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(aad);
      const sealed = [Buffer.of(1), iv, cipher.update(text), cipher.final(), cipher.getAuthTag()];
      const value = Buffer.concat(sealed).toString('base64url');
      res.setHeader('Set-Cookie', `webpy_session_id=${value}; Path=/; HttpOnly; SameSite=Lax`);
      res.setHeader('Cache-Control', 'private, no-store');
      res.setHeader('Vary', 'Cookie');
      res.end(body);
    }),
  );
}

// ---- the peers ----

/** express-session with `store` (undefined: its MemoryStore), the same handler. */
async function expressSession(
  makeStore: (session: unknown) => Promise<{ store?: unknown; close?: () => Promise<void> }>,
): Promise<Running> {
  const express = (await import('express')).default;
  const session = (await load('express-session')).default;
  const { store, close } = await makeStore(session);
  const memory = store ?? new session.MemoryStore();
  const app = express();
  app.use(session({ secret: SECRET, resave: false, saveUninitialized: false, store: memory }));
  app.get(['/', '/visit'], (req, res) => {
    const s = (req as unknown as { session: Record<string, number> }).session;
    res.send(
      count(
        req.path,
        () => s.count,
        (v) => {
          s.count = v;
        },
      ),
    );
  });
  const server = await listen(app.listen(0, '127.0.0.1'));
  return {
    server,
    records: () =>
      new Promise((resolve, reject) =>
        memory.length((err: unknown, length: number) => (err ? reject(err) : resolve(length))),
      ),
    ...(close ? { close } : {}),
  };
}

function peer(
  label: string,
  storeKind: NonNullable<ServerSpec['store']>,
  start: (tmp: string) => Promise<Running>,
  needs?: Service,
): ServerSpec {
  return {
    label,
    framework: label.startsWith('@fastify') ? 'fastify' : 'express',
    store: storeKind,
    kind: 'peer',
    ...(needs ? { needs } : {}),
    start,
  };
}

const peers: Record<string, ServerSpec> = {
  'express-session': peer('express-session + MemoryStore', 'memory', () =>
    expressSession(async () => ({})),
  ),
  'session-file-store': peer('express-session + session-file-store', 'disk', async (tmp) => {
    const dir = join(tmp, 'session-file-store');
    const running = await expressSession(async (session) => {
      const FileStore = (await load('session-file-store')).default(session);
      return { store: new FileStore({ path: dir, logFn: () => {}, reapInterval: -1 }) };
    });
    return {
      ...running,
      records: async () => readdirSync(dir).filter((f) => f.endsWith('.json')).length,
    };
  }),
  'connect-redis': peer(
    'express-session + connect-redis',
    'redis',
    () =>
      expressSession(async () => {
        const { RedisStore } = await load('connect-redis');
        const { createClient } = await load('redis');
        const client = createClient({ url: REDIS_URL });
        client.on('error', () => {});
        await client.connect();
        const prefix = `bench-connect-redis:${process.pid}:`;
        return {
          store: new RedisStore({ client, prefix }),
          close: async () => {
            const keys = await client.keys(`${prefix}*`);
            if (keys.length > 0) await client.del(keys);
            await client.quit();
          },
        };
      }),
    'redis',
  ),
  'connect-pg-simple': peer(
    'express-session + connect-pg-simple',
    'postgres',
    () =>
      expressSession(async (session) => {
        const PgStore = (await load('connect-pg-simple')).default(session);
        const pg = (await import('pg')).default;
        const pool = new pg.Pool({ connectionString: POSTGRES_URL });
        pool.on('error', () => {});
        await pool.query(
          'CREATE TABLE IF NOT EXISTS bench_connect_pg ("sid" varchar NOT NULL PRIMARY KEY, "sess" json NOT NULL, "expire" timestamp(6) NOT NULL)',
        );
        await pool.query('DELETE FROM bench_connect_pg');
        return {
          store: new PgStore({ pool, tableName: 'bench_connect_pg', pruneSessionInterval: false }),
          close: () => pool.end(),
        };
      }),
    'postgres',
  ),
  'better-sqlite3-session-store': peer(
    'express-session + better-sqlite3-session-store (WAL, synchronous NORMAL)',
    'sqlite',
    (tmp) =>
      expressSession(async (session) => {
        const SqliteStore = (await load('better-sqlite3-session-store')).default(session);
        const Database = (await import('better-sqlite3')).default;
        const db = new Database(join(tmp, 'peer-sessions.db'));
        // The settings DBStore gives a file it opens (the peer sets none itself): WAL, with
        // commits not flushed to the disk one by one.
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = NORMAL');
        return {
          store: new SqliteStore({ client: db, expired: { clear: false } }),
          close: async () => {
            db.close();
          },
        };
      }),
  ),
  'express-mysql-session': peer(
    'express-session + express-mysql-session',
    'mysql',
    () =>
      expressSession(async (session) => {
        const MySQLStore = (await load('express-mysql-session')).default(session);
        const u = new URL(MYSQL_URL);
        const store = new MySQLStore({
          host: u.hostname,
          port: Number(u.port || 3306),
          user: decodeURIComponent(u.username),
          password: decodeURIComponent(u.password),
          database: u.pathname.slice(1),
          clearExpired: false,
          createDatabaseTable: true,
          schema: { tableName: 'bench_express_mysql' },
        });
        await store.onReady();
        await store.clear();
        return { store, close: () => store.close() };
      }),
    'mysql',
  ),
  'iron-session': {
    label: 'iron-session (sealed cookie) on node:http',
    framework: 'node',
    store: 'cookie',
    kind: 'peer',
    async start() {
      const { getIronSession } = await load('iron-session');
      const options = { password: SECRET, cookieName: 'iron', cookieOptions: { secure: false } };
      const server = createServer(async (req, res) => {
        const s = await getIronSession(req, res, options);
        const n = (s.count as number | undefined) ?? 0;
        if (req.url === '/visit') return void res.end(String(n));
        s.count = n + 1;
        await s.save();
        res.end(String(n + 1));
      });
      return { server: await listen(server) };
    },
  },
  '@fastify/session': peer('@fastify/session + its MemoryStore', 'memory', async () => {
    const Fastify = (await import('fastify')).default;
    const cookie = (await load('@fastify/cookie')).default;
    const session = (await load('@fastify/session')).default;
    const app = Fastify();
    await app.register(cookie);
    await app.register(session, {
      secret: SECRET,
      saveUninitialized: false,
      cookie: { secure: false },
    });
    const handler = async (request: import('fastify').FastifyRequest) => {
      const s = (
        request as unknown as {
          session: { get(k: string): unknown; set(k: string, v: unknown): void };
        }
      ).session;
      return count(
        request.url,
        () => s.get('count'),
        (v) => s.set('count', v),
      );
    };
    app.get('/', handler);
    app.get('/visit', handler);
    await app.listen({ port: 0, host: '127.0.0.1' });
    return { server: app.server };
  }),
  'web.py': {
    label: "web.py 0.62's DiskStore (Python)",
    framework: 'web.py',
    store: 'disk',
    kind: 'peer',
    needs: 'webpy',
    async start(tmp) {
      const { spawn } = await import('node:child_process');
      const port = await freePort();
      const dir = join(tmp, 'webpy');
      mkdirSync(dir, { recursive: true });
      const child = spawn(
        PYTHON,
        [new URL('webpy_counter.py', import.meta.url).pathname, String(port), dir],
        { stdio: 'ignore' },
      );
      for (let i = 0; i < 100; i++) {
        const ok = await fetch(`http://127.0.0.1:${port}/visit`).then(
          (r) => r.ok,
          () => false,
        );
        if (ok) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      return {
        port,
        ...(child.pid ? { pid: child.pid } : {}),
        records: async () => readdirSync(dir).length,
        close: async () => {
          child.kill();
        },
      };
    },
  },
};

/** The Python with Debian's web.py (python3-webpy). */
export const PYTHON = process.env.WEBPY_PYTHON ?? '/usr/bin/python3';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

// ---- every server, by id ----

export const SERVERS: Record<string, ServerSpec> = {};
for (const [framework, serve] of Object.entries(ceiling))
  SERVERS[`bare-${framework}`] = bare(framework as ServerSpec['framework'], serve);
for (const framework of ['node', 'express', 'fastify', 'hono', 'koa'] as const)
  SERVERS[`${framework}-memory`] = ours(framework, 'memory', websession[framework]!);
// The session sealed in the cookie: no store call, one open and one seal per request.
SERVERS['node-cookie'] = ours('node', 'cookie', websession.node!);
SERVERS['floor-sealed-cookie'] = {
  label: 'node:http + one AES-256-GCM seal and the same headers, no session',
  framework: 'node',
  kind: 'ceiling',
  start: async () => ({ server: await sealedFloor() }),
};
for (const store of ['memory', 'disk', 'sqlite', 'postgres', 'mysql', 'shelf', 'redis'] as const)
  SERVERS[`web-${store}`] = ours('web', store, websession.web!);
// The example runner's web layer app (web.py's example routes: `/` reads `logged_in`) on a
// DiskStore, as `npm run example -- web --store disk:<folder>` serves it.
SERVERS['web-example'] = {
  label: "web.py's example (the example runner's web app) + disk",
  framework: 'web',
  store: 'disk',
  kind: 'ours',
  async start(tmp) {
    const { start } = await import('../examples/frameworks/web.js');
    const store = await openStore('disk', tmp, 'web-example');
    const server = await start(store, { host: '127.0.0.1', port: 0 });
    return { server, store, records: () => countKeys(store), close: () => store.close() };
  },
};
// Express with each store a peer has, for the same-framework same-store ratios.
for (const store of ['disk', 'sqlite', 'postgres', 'mysql', 'redis'] as const)
  SERVERS[`express-${store}`] = ours('express', store, websession.express!);
for (const [id, spec] of Object.entries(peers)) SERVERS[`peer-${id}`] = spec;

// ---- child process ----

type Message =
  | { op: 'records' }
  | { op: 'seed'; total: number; expiredShare: number }
  | { op: 'cleanup' }
  | { op: 'profile'; file?: string }
  | { op: 'close' };

async function child(id: string, tmp: string): Promise<void> {
  const spec = SERVERS[id];
  if (!spec) throw new Error(`no server ${id}`);
  mkdirSync(tmp, { recursive: true });
  const running = await spec.start(tmp);
  const port = running.port ?? (running.server?.address() as AddressInfo | null)?.port;
  const reply = (m: object) => process.send?.(m);
  process.on('message', (m: Message) => {
    void (async () => {
      try {
        if (m.op === 'records') reply({ records: (await running.records?.()) ?? -1 });
        else if (m.op === 'seed') reply(await seed(running.store!, m.total, m.expiredShare));
        else if (m.op === 'cleanup') reply(await cleanup(running.store!));
        else if (m.op === 'profile') reply(await profile(m.file));
        else if (m.op === 'close') {
          running.server?.closeAllConnections();
          running.server?.close();
          await running.close?.();
          reply({ closed: true });
          process.exit(0);
        }
      } catch (err) {
        reply({ error: String((err as Error)?.stack ?? err) });
      }
    })();
  });
  reply({ port, pid: running.pid ?? process.pid });
}

/**
 * Fills the store up to `total` records through its own `set()`, each a copy of the one session
 * the parent created over HTTP; `expiredShare` of them idle for longer than the timeout.
 */
async function seed(store: Store, total: number, expiredShare: number) {
  const { randomBytes } = await import('node:crypto');
  let sample: string | undefined;
  for await (const key of store.keys()) {
    sample = (await store.get(key))?.data;
    if (sample) break;
  }
  if (!sample) throw new Error('seed: no session to copy (make one over HTTP first)');
  const have = await countKeys(store);
  const now = Date.now();
  const started = performance.now();
  const todo = total - have;
  const expired = Math.round(todo * expiredShare);
  const batch = store.kind === 'memory' ? 10_000 : 64;
  for (let i = 0; i < todo; i += batch) {
    const calls: (void | Promise<void>)[] = [];
    for (let j = i; j < Math.min(todo, i + batch); j++) {
      const atime = j < expired ? now - (TIMEOUT + 60) * 1000 : now;
      calls.push(store.set(randomBytes(32).toString('hex'), { data: sample, atime }));
    }
    await Promise.all(calls);
  }
  // The seeding's garbage is collected now, not during the next measurement (scale runs start
  // servers with --expose-gc).
  (globalThis as { gc?: () => void }).gc?.();
  return { seeded: todo, ms: performance.now() - started, records: have + todo };
}

let inspector: import('node:inspector/promises').Session | undefined;

/** Starts a CPU profile (no `file`) or stops it and writes it to `file` (.cpuprofile JSON). */
async function profile(file: string | undefined) {
  const { Session } = await import('node:inspector/promises');
  if (!file) {
    inspector = new Session();
    inspector.connect();
    await inspector.post('Profiler.enable');
    await inspector.post('Profiler.setSamplingInterval', { interval: 100 });
    await inspector.post('Profiler.start');
    return { started: true };
  }
  const { profile } = await inspector!.post('Profiler.stop');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(file, JSON.stringify(profile));
  inspector!.disconnect();
  return { written: file };
}

/** One cleanup pass, timed, with the longest event-loop stall while it ran. */
async function cleanup(store: Store) {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  const started = performance.now();
  const removed = await store.cleanup(TIMEOUT);
  const ms = performance.now() - started;
  // One more turn so that a stall at the very end is sampled.
  await new Promise((r) => setTimeout(r, 5));
  histogram.disable();
  return { removed, ms, maxStallMs: histogram.max / 1e6 };
}

if (process.argv[1] && new URL(import.meta.url).pathname === process.argv[1]) {
  const [id, tmp] = process.argv.slice(2);
  await child(id!, tmp!);
}
