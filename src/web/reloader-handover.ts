/**
 * What survives a debug-mode reload: the contents of in-process stores (MemoryStore), handed
 * from the retiring child to the supervisor and on to the new child. DiskStore, DBStore,
 * ShelfStore and RedisStore keep their data outside the process anyway.
 * @module
 */
import type { Store, StoredSession } from '../core/store.js';
import { ignoreFolder } from './reloader-watcher.js';

/** The records of each handed-over store, by the store's registration name. */
export type Snapshot = Record<string, [string, StoredSession][]>;

/** In-process stores whose contents are handed to the next child, by registration order. */
const handover = new Map<string, Store>();

/**
 * Marks a store for the reloader: a MemoryStore's contents are handed over to the next process
 * on every reload; a store folder is left out of the watch. Called by `web.session.Session()`.
 */
export function keepAcrossReloads(store: Store): void {
  const dir = (store as { dir?: unknown }).dir;
  if (typeof dir === 'string') ignoreFolder(dir);
  if (store.kind !== 'memory') return;
  for (const kept of handover.values()) if (kept === store) return;
  handover.set(`store-${handover.size}`, store);
}

/** True when there are in-process stores to receive from the previous child. */
export function expectsHandover(): boolean {
  return handover.size > 0;
}

/** The records of every in-process store, for the next child. */
export async function exportStores(): Promise<Snapshot> {
  const out: Snapshot = {};
  for (const [name, store] of handover) {
    const records: [string, StoredSession][] = [];
    for await (const key of store.keys()) {
      const record = await store.get(key);
      if (record) records.push([key, record]);
    }
    out[name] = records;
  }
  return out;
}

/** Puts the previous child's records into this child's in-process stores. */
export async function importStores(snapshot: Snapshot): Promise<void> {
  for (const [name, records] of Object.entries(snapshot)) {
    const store = handover.get(name);
    if (!store) continue;
    for (const [key, record] of records) await store.set(key, record);
  }
}
