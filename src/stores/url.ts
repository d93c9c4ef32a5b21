/**
 * Store URLs: one string names a store, for config, the example runner and the CLI.
 * `memory:`, `cookie:`, `disk:./sessions`, `sqlite:./sessions.db`, `postgres://…`, `mysql://…`,
 * `shelf:./sessions.shelf`, `redis://…`, and the schemes later stores register.
 *
 * Each built-in scheme's URL is read in one place ({@link parseStoreUrl}; a Redis URL's parameters
 * in redis-options.ts, which `new RedisStore(url)` reads it with too): `storeFromUrl`,
 * `new RedisStore(url)` (and `web.session.RedisStore(url)`), `database({ url })`, the
 * `websession` command and the example runner all go through it, so a parameter means the same
 * everywhere, and one that is not known (`?prefx=`) is refused with a ConfigError naming it and
 * the known ones.
 * @module
 */
import { statSync } from 'node:fs';
import { ConfigError, StoreNotFoundError } from '../core/errors.js';
import type { StoreOrSealer } from '../core/sealer.js';
import { MYSQL_DRIVER_PARAMS, PG_DRIVER_PARAMS } from './database-url.js';
import type { DBStore } from './db/index.js';
import type { MemoryStoreOptions } from './memory.js';
import { REDIS_URL_PARAMS, type RedisStoreOptions, redisUrlSpec } from './redis-options.js';
import { flag, parseUrl, positive, refuseUnknown, shown } from './url-params.js';

/** How {@link storeFromUrl} opens a store. */
export interface StoreUrlOptions {
  /**
   * Create what the URL names when it is missing (a folder, a file, a table). Default true. With
   * false, a missing one is a {@link StoreNotFoundError} and nothing is created: what a read
   * (`websession stats`, `list`, `show`, the source of `migrate`) wants.
   */
  create?: boolean;
  /**
   * ms to wait for a connection to PostgreSQL or MySQL when the URL has no `connectTimeout`.
   * Default: the database's (5000). (Redis's default is 1000, see RedisStoreOptions.)
   */
  connectTimeout?: number;
}

/** Makes a store from a parsed store URL. */
export type StoreFactory = (
  url: URL,
  raw: string,
  options: StoreUrlOptions,
) => Promise<StoreOrSealer>;

/** What a built-in store URL names, parsed and checked. */
export type StoreSpec =
  | { kind: 'memory'; options: MemoryStoreOptions }
  | { kind: 'cookie' }
  | {
      kind: 'disk';
      dir: string;
      options: { fsync: boolean; crossProcess: boolean };
    }
  | { kind: 'shelf'; file: string; options: { noSync: boolean } }
  | { kind: 'redis'; connection: string; options: RedisStoreOptions }
  | { kind: 'sqlite'; file: string; table: string; fsync: boolean }
  | {
      kind: 'postgres' | 'mysql';
      /** The connection URL handed to the driver: without the store's own parameters. */
      connection: string;
      table: string;
      connectTimeout?: number;
      /** ms; {@link STATEMENT_TIMEOUT} when the URL says none. */
      statementTimeout: number;
    };

/**
 * ms a PostgreSQL or MySQL statement of a store opened from a URL may wait on the server (see
 * `database({ statementTimeout })`): below the SessionManager's default `store_timeout` (2000), so
 * a write still waiting when the request is answered 503 is cancelled, never applied later (MySQL
 * counts its lock wait in whole seconds: 1 s).
 */
const STATEMENT_TIMEOUT = 1000;

// The parameters each scheme knows. For PostgreSQL and MySQL, besides the store's own (`table`,
// `connectTimeout`), the ones their drivers read from a connection URL (database-url.ts), which
// are passed on as they are.
/** The store's own parameters of a PostgreSQL or MySQL URL. */
const SERVER_PARAMS = ['table', 'connectTimeout', 'statementTimeout'];
/** The query parameters each built-in scheme takes. */
const STORE_URL_PARAMS: Readonly<Record<string, readonly string[]>> = {
  memory: ['max'],
  cookie: [],
  disk: ['fsync', 'blocking', 'lock'],
  shelf: ['nosync'],
  redis: REDIS_URL_PARAMS,
  rediss: REDIS_URL_PARAMS,
  sqlite: ['table', 'fsync'],
  postgres: [...SERVER_PARAMS, ...PG_DRIVER_PARAMS],
  postgresql: [...SERVER_PARAMS, ...PG_DRIVER_PARAMS],
  mysql: [...SERVER_PARAMS, ...MYSQL_DRIVER_PARAMS],
  mariadb: [...SERVER_PARAMS, ...MYSQL_DRIVER_PARAMS],
};
/** The store's own parameters of a scheme (listed first in an error). */
const OWN_PARAMS: Record<string, number> = {
  postgres: SERVER_PARAMS.length,
  postgresql: SERVER_PARAMS.length,
  mysql: SERVER_PARAMS.length,
  mariadb: SERVER_PARAMS.length,
};

const factories = new Map<string, StoreFactory>();

/** Registers (or replaces) the factory for a URL scheme, e.g. `redis`. */
export function registerStoreScheme(scheme: string, factory: StoreFactory): void {
  factories.set(scheme.replace(/:$/, '').toLowerCase(), factory);
}

function pathPart(raw: string, scheme: string): string {
  // `disk:./sessions`, `disk:/abs/path`, `disk:///abs/path`, `disk://./rel`
  let rest = raw.slice(scheme.length + 1);
  const q = rest.indexOf('?');
  if (q >= 0) rest = rest.slice(0, q);
  if (rest.startsWith('///')) rest = rest.slice(2);
  else if (rest.startsWith('//')) rest = rest.slice(2);
  return decodeURIComponent(rest);
}

function named(raw: string, scheme: string, what: string, example: string): string {
  const path = pathPart(raw, scheme);
  if (!path)
    throw new ConfigError(`store URL ${JSON.stringify(shown(raw))} names no ${what} (${example})`);
  return path;
}

function table(url: URL): string {
  return url.searchParams.get('table') ?? 'sessions';
}

/**
 * Reads a built-in store URL: what it names and the options its parameters give.
 * @throws ConfigError for a malformed URL, an unknown scheme, an unknown parameter or a bad value
 */
export function parseStoreUrl(raw: string): StoreSpec {
  const { url, scheme } = parseUrl(raw);
  if (!Object.hasOwn(STORE_URL_PARAMS, scheme)) {
    throw new ConfigError(
      `unknown store URL scheme "${scheme}:" in ${JSON.stringify(shown(raw))} (known: ${[...factories.keys()].map((s) => `${s}:`).join(', ')})`,
    );
  }
  refuseUnknown(raw, url, scheme, STORE_URL_PARAMS[scheme] ?? [], OWN_PARAMS[scheme]);
  switch (scheme) {
    case 'memory': {
      const max = positive(raw, url, 'max');
      return { kind: 'memory', options: max === undefined ? {} : { maxSessions: max } };
    }
    case 'cookie': {
      // The secret keys come from the session config (`secret_key`), never from a URL.
      if (pathPart(raw, 'cookie') !== '')
        throw new ConfigError(
          `store URL ${JSON.stringify(shown(raw))}: cookie: takes no path (the session is sealed in the cookie with the config's secret_key)`,
        );
      return { kind: 'cookie' };
    }
    case 'disk': {
      const lock = url.searchParams.get('lock');
      if (lock !== null && lock !== 'process' && lock !== 'cross-process')
        throw new ConfigError(
          `store URL ${JSON.stringify(shown(raw))}: lock must be process or cross-process`,
        );
      flag(raw, url, 'blocking'); // deprecated and ignored (see DiskStoreOptions): checked only
      return {
        kind: 'disk',
        dir: named(raw, 'disk', 'folder', 'disk:./sessions'),
        options: {
          fsync: flag(raw, url, 'fsync') ?? false,
          crossProcess: lock !== 'process',
        },
      };
    }
    case 'shelf':
      return {
        kind: 'shelf',
        file: named(raw, 'shelf', 'file', 'shelf:./sessions.shelf'),
        options: { noSync: flag(raw, url, 'nosync') ?? false },
      };
    case 'redis':
    case 'rediss': {
      return { kind: 'redis', ...redisUrlSpec(raw, url) };
    }
    case 'sqlite':
      return {
        kind: 'sqlite',
        file: named(raw, 'sqlite', 'file', 'sqlite:./sessions.db'),
        table: table(url),
        fsync: flag(raw, url, 'fsync') ?? false,
      };
    default: {
      const kind = scheme === 'mysql' || scheme === 'mariadb' ? 'mysql' : 'postgres';
      const connectTimeout = positive(raw, url, 'connectTimeout');
      const statementTimeout = positive(raw, url, 'statementTimeout') ?? STATEMENT_TIMEOUT;
      const connection = new URL(url.href);
      for (const own of SERVER_PARAMS) connection.searchParams.delete(own);
      if (kind === 'mysql') connection.protocol = 'mysql:';
      return {
        kind,
        connection: connection.href,
        table: table(url),
        ...(connectTimeout === undefined ? {} : { connectTimeout }),
        statementTimeout,
      };
    }
  }
}

function mustExist(kind: string, path: string, what: 'folder' | 'file', raw: string): void {
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    throw new StoreNotFoundError(kind, `no ${what} ${path} (store URL ${shown(raw)})`);
  }
  if (isDir !== (what === 'folder'))
    throw new StoreNotFoundError(kind, `${path} is not a ${what} (store URL ${shown(raw)})`);
}

async function openSpec(
  spec: StoreSpec,
  raw: string,
  options: StoreUrlOptions,
): Promise<StoreOrSealer> {
  const create = options.create ?? true;
  switch (spec.kind) {
    case 'memory': {
      const { MemoryStore } = await import('./memory.js');
      return new MemoryStore(spec.options);
    }
    case 'cookie': {
      const { CookieStore } = await import('./cookie.js');
      return new CookieStore();
    }
    case 'disk': {
      if (!create) mustExist('disk', spec.dir, 'folder', raw);
      const { DiskStore } = await import('./disk.js');
      return new DiskStore(spec.dir, spec.options);
    }
    case 'shelf': {
      if (!create) mustExist('shelf', spec.file, 'file', raw);
      const { ShelfStore } = await import('./shelf.js');
      return new ShelfStore(spec.file, spec.options);
    }
    case 'redis': {
      const { RedisStore } = await import('./redis.js');
      return new RedisStore(raw, spec.options);
    }
    case 'sqlite': {
      if (!create) mustExist('sqlite', spec.file, 'file', raw);
      const { Database, DBStore } = await import('./db/index.js');
      return tableChecked(
        new DBStore(new Database({ dbn: 'sqlite', db: spec.file, fsync: spec.fsync }), spec.table, {
          createTable: create,
          closeDatabase: true,
        }),
        create,
        raw,
      );
    }
    default: {
      const { Database, DBStore } = await import('./db/index.js');
      const connectTimeout = spec.connectTimeout ?? options.connectTimeout;
      const timeout =
        connectTimeout === undefined
          ? {}
          : spec.kind === 'postgres'
            ? { options: { connectionTimeoutMillis: connectTimeout } }
            : { options: { connectTimeout } };
      return tableChecked(
        new DBStore(
          new Database({
            dbn: spec.kind,
            url: spec.connection,
            statementTimeout: spec.statementTimeout,
            ...timeout,
          }),
          spec.table,
          {
            createTable: create,
            closeDatabase: true,
          },
        ),
        create,
        raw,
      );
    }
  }
}

/** Without `create`: the table must be there (checked now, which also connects). */
async function tableChecked(store: DBStore, create: boolean, raw: string): Promise<StoreOrSealer> {
  if (create) return store;
  try {
    if (!(await store.tableExists()))
      throw new StoreNotFoundError(
        store.kind,
        `no table "${store.table}" (store URL ${shown(raw)})`,
      );
    return store;
  } catch (err) {
    await store.close();
    throw err;
  }
}

for (const scheme of Object.keys(STORE_URL_PARAMS))
  registerStoreScheme(scheme, (_url, raw, options) => openSpec(parseStoreUrl(raw), raw, options));

/**
 * Opens the store a URL names.
 * @example await storeFromUrl('disk:./sessions')
 * @example await storeFromUrl('postgres://app@db/app?table=sessions', { create: false })
 * @throws ConfigError for a malformed URL, an unknown scheme or an unknown parameter;
 *   StoreNotFoundError when `create` is false and what it names is missing
 */
export async function storeFromUrl(
  raw: string,
  options: StoreUrlOptions = {},
): Promise<StoreOrSealer> {
  const { url, scheme } = parseUrl(raw);
  const factory = factories.get(scheme);
  if (!factory) {
    throw new ConfigError(
      `unknown store URL scheme "${scheme}:" in ${JSON.stringify(shown(raw))} (known: ${[...factories.keys()].map((s) => `${s}:`).join(', ')})`,
    );
  }
  return factory(url, raw, options);
}
