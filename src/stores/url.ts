/**
 * Store URLs: one string names a store, for config, the example runner and the CLI.
 * `memory:`, `disk:./sessions`, `sqlite:./sessions.db`, `postgres://…`, `mysql://…`, and the
 * schemes later stores register.
 * @module
 */
import { ConfigError } from '../core/errors.js';
import { Database, DBStore } from './db/index.js';
import { DiskStore } from './disk.js';
import { MemoryStore } from './memory.js';
import { RedisStore, redisOptionsFromUrl } from './redis.js';
import { ShelfStore } from './shelf.js';
import type { Store } from './store.js';

/** Makes a store from a parsed store URL. */
export type StoreFactory = (url: URL, raw: string) => Promise<Store>;

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

registerStoreScheme('memory', async (url) => {
  const max = url.searchParams.get('max');
  return new MemoryStore(max === null ? {} : { maxSessions: Number(max) });
});

registerStoreScheme('disk', async (url, raw) => {
  const dir = pathPart(raw, 'disk');
  if (!dir)
    throw new ConfigError(`store URL ${JSON.stringify(raw)} names no folder (disk:./sessions)`);
  const flag = (name: string) => {
    const v = url.searchParams.get(name);
    return v === null ? undefined : v === '1' || v === 'true';
  };
  const lock = url.searchParams.get('lock');
  if (lock !== null && lock !== 'process' && lock !== 'cross-process')
    throw new ConfigError(
      `store URL ${JSON.stringify(raw)}: lock must be process or cross-process`,
    );
  return new DiskStore(dir, {
    fsync: flag('fsync') ?? false,
    blocking: flag('blocking'),
    crossProcess: lock !== 'process',
  });
});

registerStoreScheme('shelf', async (url, raw) => {
  const file = pathPart(raw, 'shelf');
  if (!file)
    throw new ConfigError(
      `store URL ${JSON.stringify(raw)} names no file (shelf:./sessions.shelf)`,
    );
  const noSync = url.searchParams.get('nosync');
  return new ShelfStore(file, { noSync: noSync === '1' || noSync === 'true' });
});

const redisFactory: StoreFactory = async (_url, raw) =>
  new RedisStore(raw, redisOptionsFromUrl(raw));
registerStoreScheme('redis', redisFactory);
registerStoreScheme('rediss', redisFactory);
// DBStore: `sqlite:./sessions.db`, `sqlite::memory:`, `postgres://user@host/db?table=sessions`,
// `mysql://root@127.0.0.1/test?table=sessions`. The table (default `sessions`) is created if missing.
registerStoreScheme('sqlite', async (url, raw) => {
  const file = pathPart(raw, 'sqlite');
  if (!file)
    throw new ConfigError(`store URL ${JSON.stringify(raw)} names no file (sqlite:./sessions.db)`);
  const table = url.searchParams.get('table') ?? 'sessions';
  return new DBStore(new Database({ dbn: 'sqlite', db: file }), table, {
    createTable: true,
    closeDatabase: true,
  });
});

function serverStore(dbn: 'postgres' | 'mysql') {
  return async (url: URL): Promise<DBStore> => {
    const table = url.searchParams.get('table') ?? 'sessions';
    const connection = new URL(url.href);
    connection.searchParams.delete('table');
    if (dbn === 'mysql') connection.protocol = 'mysql:';
    return new DBStore(new Database({ dbn, url: connection.href }), table, {
      createTable: true,
      closeDatabase: true,
    });
  };
}
registerStoreScheme('postgres', serverStore('postgres'));
registerStoreScheme('postgresql', serverStore('postgres'));
registerStoreScheme('mysql', serverStore('mysql'));
registerStoreScheme('mariadb', serverStore('mysql'));

/** The path part of a `scheme:path` URL (for stores named by a file or folder). */
export function storeUrlPath(raw: string, scheme: string): string {
  return pathPart(raw, scheme);
}

/**
 * Opens the store a URL names.
 * @example await storeFromUrl('disk:./sessions')
 * @throws ConfigError for a malformed URL or an unknown scheme
 */
export async function storeFromUrl(raw: string): Promise<Store> {
  if (typeof raw !== 'string' || !/^[a-z][a-z0-9+.-]*:/i.test(raw)) {
    throw new ConfigError(
      `bad store URL ${JSON.stringify(raw)}: expected e.g. memory:, disk:./sessions, sqlite:./sessions.db, shelf:./sessions.shelf, redis://host:6379/0`,
    );
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`bad store URL ${JSON.stringify(raw)}`);
  }
  const scheme = url.protocol.slice(0, -1).toLowerCase();
  const factory = factories.get(scheme);
  if (!factory) {
    throw new ConfigError(
      `unknown store URL scheme "${scheme}:" in ${JSON.stringify(raw)} (known: ${[...factories.keys()].map((s) => `${s}:`).join(', ')})`,
    );
  }
  return factory(url, raw);
}
