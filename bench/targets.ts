// The targets of the side-by-side run, each met or missed in the table that opens its section.
// Every target is also shown against bare (ours × its bare framework) and against the limit (the
// CPU per request the session adds over its bare framework ÷ what the limit row adds over bare
// node:http), whatever it is stated against.
import { LIMIT } from './servers/index.js';

export type Target =
  /** Row `a` runs at least `need` × as fast as row `b` (with `p99`: and no slower at p99). */
  | { kind: 'ratio'; name: string; a: string; b: string; need: number; p99?: boolean }
  /**
   * The CPU per request row `a` adds over its bare framework is at most `most` × what the limit
   * row adds over bare node:http (same run).
   */
  | { kind: 'added'; name: string; a: string; most: number };

const ratio = (name: string, a: string, b: string, need: number, p99 = false): Target => ({
  kind: 'ratio',
  name,
  a,
  b,
  need,
  ...(p99 ? { p99 } : {}),
});

const FRAMEWORKS = [
  ['node', 'node:http'],
  ['express', 'Express'],
  ['fastify', 'Fastify'],
  ['hono', 'Hono'],
  ['koa', 'Koa'],
] as const;

/** What a session may add over its bare framework, as a multiple of what the limit adds. */
const ADDED_MOST = 1.25;

/** Per framework: the session's added CPU against the limit's, three ways of using it. */
const againstLimit: Target[] = FRAMEWORKS.flatMap(([id, name]) =>
  (
    [
      ['memory', 'plain assignment'],
      ['memory-update', '`update()`'],
      ['memory-metrics', 'plain assignment, metrics on'],
    ] as const
  ).map(
    ([suffix, use]): Target => ({
      kind: 'added',
      name: `${name} + MemoryStore, ${use}: CPU added over bare ${name} vs the limit's over bare node:http`,
      a: `${id}-${suffix}`,
      most: ADDED_MOST,
    }),
  ),
);

/** Per framework: the example runner's `/count` against the minimal server. */
const examples: Target[] = [...FRAMEWORKS, ['web', 'web layer'] as const].map(([id, name]) =>
  ratio(
    `${name}: the example's \`/count\` vs the minimal server (within 10 %)`,
    `example-${id}`,
    `${id}-memory`,
    0.9,
  ),
);

export const TARGETS: Target[] = [
  ratio('node adapter + MemoryStore vs bare node:http', 'node-memory', 'bare-node', 0.85),
  ratio("node: the example's `/count` vs the limit row", 'example-node', LIMIT, 0.85),
  ...againstLimit,
  ...examples,
  ratio('node adapter + CookieStore vs bare node:http', 'node-cookie', 'bare-node', 0.8),
  ratio(
    'node adapter + CookieStore vs its floor (one AES-256-GCM seal and the same headers)',
    'node-cookie',
    'floor-sealed-cookie',
    0.85,
  ),
  ratio(
    'node adapter + CookieStore, a read-only request (nothing re-sealed), vs bare node:http',
    'node-cookie (read-only)',
    'bare-node',
    0.9,
  ),
  ratio(
    'node adapter + CookieStore vs iron-session on node:http',
    'node-cookie',
    'peer-iron-session',
    1.3,
  ),
  ratio(
    "web layer, the example's `/` with no cookie, vs bare node:http",
    'example-web-disk (new visitor)',
    'bare-node',
    0.7,
  ),
  ratio('Express + MemoryStore vs bare Express', 'express-memory', 'bare-express', 0.85),
  ratio('Fastify + MemoryStore vs bare Fastify', 'fastify-memory', 'bare-fastify', 0.85),
  ratio(
    'Express + MemoryStore vs express-session + MemoryStore',
    'express-memory',
    'peer-express-session',
    1.3,
  ),
  ratio(
    'websession/express-session vs express-session, the same app on MemoryStore',
    'express-session-compat',
    'peer-express-session',
    1.3,
  ),
  ratio(
    "Express: the example's `/count` vs express-session + MemoryStore, the same counter",
    'example-express',
    'peer-express-session',
    1.5,
    true,
  ),
  ratio(
    'Fastify + MemoryStore vs @fastify/session',
    'fastify-memory',
    'peer-@fastify/session',
    1.3,
  ),
  ratio(
    "Fastify: the example's `/count` vs @fastify/session, the same counter",
    'example-fastify',
    'peer-@fastify/session',
    1.5,
    true,
  ),
  ratio(
    "web layer + DiskStore vs web.py's DiskStore, one session",
    'web-disk',
    'peer-web.py',
    5,
    true,
  ),
  ratio(
    "web layer: the example's `/count` + DiskStore vs web.py's DiskStore, 1,000 sessions in rotation",
    'example-web-disk (1,000 sessions)',
    'peer-web.py (1,000 sessions)',
    2,
    true,
  ),
  ratio(
    "web layer + DiskStore vs web.py's DiskStore, 1,000 sessions in rotation",
    'web-disk (1,000 sessions)',
    'peer-web.py (1,000 sessions)',
    2,
    true,
  ),
  ratio(
    'Express + DiskStore vs express-session + session-file-store, 1,000 sessions',
    'express-disk (1,000 sessions)',
    'peer-session-file-store (1,000 sessions)',
    1.5,
  ),
  ratio('Express + RedisStore vs connect-redis', 'express-redis', 'peer-connect-redis', 1.3),
  ratio(
    'Express + DBStore(PostgreSQL) vs connect-pg-simple',
    'express-postgres',
    'peer-connect-pg-simple',
    3,
  ),
  ratio(
    'Express + DBStore(MariaDB) vs express-mysql-session',
    'express-mysql',
    'peer-express-mysql-session',
    3,
  ),
  ratio(
    'Express + DBStore(SQLite) vs better-sqlite3-session-store',
    'express-sqlite',
    'peer-better-sqlite3-session-store',
    3,
  ),
];
