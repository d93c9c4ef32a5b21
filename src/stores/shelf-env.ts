/**
 * ShelfStore's LMDB environment: one file (`noSubdir`, plus LMDB's `<file>-lock`) holding named
 * databases, `websession:data` (store key → codec text) and `websession:atime` (store key → ms
 * since epoch), the user index's `websession:user` and `websession:owner` (see shelf-users.ts),
 * `websession:quarantine` (store key → codec text as it was) and `websession:lease` (see
 * shelf-lease.ts). The `lmdb` package is an optional peer dependency, loaded on first use.
 * @module
 */
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import type { Database, RootDatabase } from 'lmdb';
import { StoreError } from '../core/errors.js';
import { loadOptional } from './optional.js';
import type { ShelfLeaseRecord } from './shelf-lease.js';

/** The environment and its databases. */
export interface Handles {
  env: RootDatabase;
  data: Database<string, string>;
  atimes: Database<number, string>;
  users: Database<string, string>;
  owners: Database<string, string>;
  quarantine: Database<string, string>;
  leases: Database<ShelfLeaseRecord, string>;
}

const DATA_DB = 'websession:data';
const ATIME_DB = 'websession:atime';
const USER_DB = 'websession:user';
const OWNER_DB = 'websession:owner';
const QUARANTINE_DB = 'websession:quarantine';
/** Store-wide leases (Store.lease): name → holder's token and expiry. */
const LEASE_DB = 'websession:lease';

/**
 * Opens (or makes, with `fileMode`) the file `filename` and its databases. On a failure,
 * `failed` is called at once, then the half-opened environment is closed.
 */
export async function openShelf(
  filename: string,
  options: { noSync?: boolean; fileMode?: number },
  failed: () => void,
): Promise<Handles> {
  const lmdb = await loadOptional('lmdb', 'shelf', () => import('lmdb'));
  let env: ReturnType<typeof lmdb.open> | undefined;
  try {
    mkdirSync(path.dirname(filename), { recursive: true, mode: 0o700 });
    const isNew = !existsSync(filename);
    env = lmdb.open({
      path: filename,
      noSubdir: true,
      maxDbs: 8,
      noSync: options.noSync ?? false,
      // lmdb-js's default on Linux, overlapping sync, loses updates between processes: two
      // processes counting 150 each on one record ended at 299 in about 1 run in 10 (lmdb
      // 3.5.6, raw lmdb as well as this store); off, none in 90. It also makes a commit resolve
      // once it is on disk, as `noSync: false` promises.
      overlappingSync: false,
      // With event-turn batching, lmdb starts each batch with a promise of its own that
      // nothing awaits: a failed commit (disk full) rejects it unhandled, which ends a process
      // without a handler. Every write here is its own transaction() anyway; measured the
      // same throughput either way (set/update, 1 and 50 in flight).
      eventTurnBatching: false,
    });
    if (isNew) {
      const mode = options.fileMode ?? 0o600;
      for (const file of [filename, `${filename}-lock`]) {
        try {
          chmodSync(file, mode);
        } catch {
          // the lock file may not exist on every platform
        }
      }
    }
    const data = env.openDB<string, string>({ name: DATA_DB, encoding: 'string' });
    const atimes = env.openDB<number, string>({ name: ATIME_DB, encoding: 'msgpack' });
    const users = env.openDB<string, string>({ name: USER_DB, encoding: 'string' });
    const owners = env.openDB<string, string>({ name: OWNER_DB, encoding: 'string' });
    const quarantine = env.openDB<string, string>({ name: QUARANTINE_DB, encoding: 'string' });
    const leases = env.openDB<ShelfLeaseRecord, string>({ name: LEASE_DB, encoding: 'msgpack' });
    return { env, data, atimes, users, owners, quarantine, leases };
  } catch (err) {
    failed();
    // Close a half-opened environment: the next call opens afresh instead of piling up.
    await env?.close().catch(() => {});
    throw new StoreError('shelf', `cannot open ${filename}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
