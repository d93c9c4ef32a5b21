/**
 * TEMPORARY stand-in for `connectStore` of `src/stores/connect.ts` (built on another branch):
 * an express-session store object as a websession Store, just enough for this middleware's
 * tests. The integrator replaces the import of this file with the real one and deletes it.
 * @module
 */
import type { Store, StoredSession, StoreMutator } from '../../core/store.js';
import type { ConnectStoreLike, StoredSessionData } from './store.js';

function call<T>(run: (cb: (err?: unknown, value?: T) => void) => unknown): Promise<T | undefined> {
  return new Promise((resolve, reject) => {
    run((err, value) => (err ? reject(err) : resolve(value)));
  });
}

/** Wraps an express-session store object into a websession Store (stand-in). */
export function connectStore(store: ConnectStoreLike): Store {
  let timeout = 86400;
  const wrap = (record: StoredSession): StoredSessionData & { websession: StoredSession } => ({
    cookie: { originalMaxAge: timeout * 1000, expires: new Date(record.atime + timeout * 1000) },
    websession: record,
  });
  const unwrap = (sess: StoredSessionData | null | undefined): StoredSession | undefined => {
    const record = (sess as { websession?: StoredSession } | null | undefined)?.websession;
    return record && typeof record.data === 'string' ? record : undefined;
  };
  const get = async (key: string) => {
    try {
      return unwrap(await call<StoredSessionData | null>((cb) => store.get(key, cb)));
    } catch (err) {
      if ((err as { code?: unknown })?.code === 'ENOENT') return undefined;
      throw err;
    }
  };
  const set = async (key: string, record: StoredSession) => {
    await call((cb) => store.set(key, wrap(record), cb));
  };
  return {
    kind: 'connect',
    capabilities: { lock: 'process', nativeTtl: true },
    get,
    set,
    async update(key: string, mutator: StoreMutator) {
      const next = mutator(await get(key));
      if (next === null) await call((cb) => store.destroy(key, cb));
      else if (next !== undefined) await set(key, next);
      return next ?? undefined;
    },
    async touch(key: string, atime: number) {
      const record = await get(key);
      if (record) await set(key, { ...record, atime });
    },
    async delete(key: string) {
      await call((cb) => store.destroy(key, cb));
    },
    async cleanup() {
      return 0;
    },
    async *keys() {},
    configure(options) {
      timeout = options.timeout;
    },
    async close() {},
  };
}
