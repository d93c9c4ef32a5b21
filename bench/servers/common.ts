// What the bench's servers share: settings, the service URLs, the spec every server is registered
// with, the counter handler, and the helpers that open a websession store and start a server.
import { createServer, type RequestListener, type Server } from 'node:http';
import { join } from 'node:path';
import type { Session, SessionManager, Store, StoreOrSealer } from 'websession';

export const SECRET = 'a bench secret of more than thirty-two characters';
export const POSTGRES_URL = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const MYSQL_URL = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0';
/** The Python with Debian's web.py (python3-webpy). */
export const PYTHON = process.env.WEBPY_PYTHON ?? '/usr/bin/python3';
/** Session idle timeout of every server (seconds); seeded "expired" records are older. */
export const TIMEOUT = 3600;
/** The session config of every websession server (the limit row signs and expires the same way). */
export const SESSION_CONFIG = { secret_key: SECRET, cleanup_interval: 0, timeout: TIMEOUT };

/** A server some rows need, skipped (with the reason printed) where it is absent. */
export type Service = 'postgres' | 'mysql' | 'redis' | 'webpy';

export type Framework = 'node' | 'express' | 'fastify' | 'hono' | 'koa' | 'web' | 'web.py';
export type StoreKind =
  | 'memory'
  | 'cookie'
  | 'disk'
  | 'sqlite'
  | 'postgres'
  | 'mysql'
  | 'shelf'
  | 'redis';

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
  framework: Framework;
  /** Store kind, for the same-store comparisons. */
  store?: StoreKind;
  /** ceiling: no session; limit: a session by hand, no library; ours; peer: another library. */
  kind: 'ceiling' | 'limit' | 'ours' | 'peer';
  needs?: Service;
  /** The path its session row requests (default `/`). */
  path?: string;
  /** False: no session row (the server only has the rows bench/rows.ts lists for it). */
  sessionRow?: boolean;
  start(tmp: string): Promise<Running>;
}

/** Loads a module by a name TypeScript does not resolve (the peers' own type augmentations of
 * `Express.Request` and `FastifyRequest` would clash with websession's). */
// biome-ignore lint/suspicious/noExplicitAny: untyped peers, used only here
export const loadUntyped = (name: string): Promise<any> => import(name);

export function listen(server: Server): Promise<Server> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** The one handler: `count + 1` stored (`write`), or only read for `/visit`. */
export function count(
  path: string | undefined,
  read: () => unknown,
  write: (n: number) => void,
): string {
  const n = (read() as number | undefined) ?? 0;
  if (path === '/visit') return String(n);
  write(n + 1);
  return String(n + 1);
}

/**
 * How a minimal websession server changes the count: `session.count = n` (plain assignment, what
 * `session.count += 1` does), or `await session.update(…)`; `metrics` is plain assignment with
 * the Prometheus metrics of websession/metrics listening to the manager.
 */
export type Use = 'assign' | 'update' | 'metrics';

/** The handler of the minimal websession servers: {@link count} through `session` as `use` says. */
export function countSession(
  session: Session,
  path: string | undefined,
  use: Use,
): string | Promise<string> {
  if (use !== 'update' || path === '/visit')
    return count(
      path,
      () => session.count,
      (n) => {
        session.count = n;
      },
    );
  return session
    .update((s) => {
      s.count = ((s.count as number | undefined) ?? 0) + 1;
    })
    .then((s) => String(s.count));
}

/** `send(body)` now, or once `body` resolves (then a promise of what `send` returns). */
export function answer<R>(
  body: string | Promise<string>,
  send: (text: string) => R,
): R | Promise<R> {
  return typeof body === 'string' ? send(body) : body.then(send);
}

export const withParams = (base: string, params: Record<string, string>) => {
  const u = new URL(base);
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  return u.href;
};

/** Set (by bench/children.ts) in the scale part's servers, which hold millions of sessions. */
export const SCALE_ENV = 'WEBSESSION_BENCH_SCALE';

/** Opens a websession store of a kind, emptied (server stores keep tables between runs). */
export async function openStore(
  kind: StoreKind,
  tmp: string,
  owner: string,
): Promise<StoreOrSealer> {
  const { storeFromUrl } = await import('websession');
  const urls: Record<StoreKind, string> = {
    // What users run (`memory:`, 100,000 sessions at most), but for the scale part's millions. A
    // larger bound is not free: its slots are allocated at once, and every full GC walks them.
    memory: process.env[SCALE_ENV] ? 'memory:?max=1200000' : 'memory:',
    cookie: 'cookie:',
    disk: `disk:${join(tmp, 'disk')}`,
    sqlite: `sqlite:${join(tmp, 'sessions.db')}`,
    // One table per server: each server empties its own at start.
    postgres: withParams(POSTGRES_URL, { table: `bench_websession_${owner}` }),
    mysql: withParams(MYSQL_URL, { table: `bench_websession_${owner}` }),
    shelf: `shelf:${join(tmp, 'sessions.shelf')}`,
    redis: withParams(REDIS_URL, { prefix: `bench-websession:${process.pid}:` }),
  };
  const store = await storeFromUrl(urls[kind]);
  if ((kind === 'postgres' || kind === 'mysql') && 'cleanup' in store) await store.cleanup(0);
  return store;
}

export async function countKeys(store: StoreOrSealer): Promise<number> {
  if (!('keys' in store)) return 0; // a sealer (CookieStore) keeps no records
  let n = 0;
  for await (const _ of store.keys()) n++;
  return n;
}

/** Deletes what a shared server (Redis) would otherwise keep after the run. */
export async function emptyStore(store: StoreOrSealer): Promise<void> {
  if (!('keys' in store)) return;
  if (store.kind === 'postgres' || store.kind === 'mysql') await store.cleanup(0);
  if (store.kind !== 'redis') return;
  const keys: string[] = [];
  for await (const key of store.keys()) keys.push(key);
  for (let i = 0; i < keys.length; i += 1000)
    await Promise.all(keys.slice(i, i + 1000).map((k) => store.delete(k)));
}

/** The manager of a minimal server; with `use` 'metrics', websession/metrics listens to it. */
export async function manager(store: StoreOrSealer, use: Use = 'assign'): Promise<SessionManager> {
  const { SessionManager } = await import('websession');
  const m = new SessionManager(store, SESSION_CONFIG);
  if (use === 'metrics') (await import('websession/metrics')).sessionMetrics(m);
  return m;
}

const USE_LABEL: Record<Use, string> = {
  assign: '',
  update: ', update()',
  metrics: ', metrics on',
};

/** A websession server on a store of `storeKind`, emptied when it stops. */
export function ours(
  framework: Framework,
  storeKind: StoreKind,
  serve: (store: StoreOrSealer) => Promise<Server>,
  use: Use = 'assign',
): ServerSpec {
  return {
    label: `websession/${framework} + ${storeKind}${USE_LABEL[use]}`,
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
        ...('keys' in store ? { store } : {}),
        records: () => countKeys(store),
        close: async () => {
          await emptyStore(store);
          await store.close();
        },
      };
    },
  };
}

/**
 * The servers of a framework the targets compare: bare (`bare-<framework>`), and the minimal
 * websession server on MemoryStore three ways (`<framework>-memory`, `-memory-update`,
 * `-memory-metrics`), `serve(use)` serving it as `use` says.
 */
export function minimalServers(
  framework: Framework,
  serveBare: () => Promise<Server>,
  serve: (use: Use) => (store: StoreOrSealer) => Promise<Server>,
): Record<string, ServerSpec> {
  return {
    [`bare-${framework}`]: bare(framework, serveBare),
    [`${framework}-memory`]: ours(framework, 'memory', serve('assign')),
    [`${framework}-memory-update`]: ours(framework, 'memory', serve('update'), 'update'),
    [`${framework}-memory-metrics`]: ours(framework, 'memory', serve('metrics'), 'metrics'),
  };
}

/** A server of `framework` with no session: the ceiling of its rows. */
export function bare(framework: Framework, serve: () => Promise<Server>): ServerSpec {
  return {
    label: framework === 'node' ? 'node:http' : framework === 'web' ? 'web layer' : framework,
    framework,
    kind: 'ceiling',
    start: async () => ({ server: await serve() }),
  };
}

/** The answer of the servers with no session: a counter of their own. */
let served = 0;
export const nextCount = (): string => String(++served);

/** A node:http server of `handler` (bare node, the floors, iron-session). */
export const nodeServer = (handler: RequestListener): Promise<Server> =>
  listen(createServer(handler));
