/**
 * The client/server half of DBStore, shared by PostgreSQL and MySQL: one-statement reads and
 * upserts, and `update` as a transaction holding the row's lock (`SELECT … FOR UPDATE`).
 * A dialect supplies the statements and a connection source (a pool, or one connection that
 * this module never lets two callers use at once).
 * @module
 */
import { KeyedMutex } from '../../core/lock.js';
import type { StoredSession, StoreMutator } from '../store.js';
import { LastWritten } from '../written.js';
import { type Backend, parseAtime, SerialQueue, USER_COLUMN, userOf } from './common.js';

/** A parameterised statement. `name` identifies it for drivers that prepare named statements. */
export interface Query {
  name: string;
  text: string;
  values: unknown[];
}

/** One connection, as the shared code drives it. */
export interface SqlConn {
  rows(q: Query): Promise<Record<string, unknown>[]>;
  /** Runs a statement; returns the number of rows it changed. */
  run(q: Query): Promise<number>;
  /** Runs a fixed statement without parameters (BEGIN, COMMIT, DDL). */
  exec(sql: string): Promise<void>;
}

/** The user_id to write: undefined when the table has no such column (web.py's table). */
export type UserValue = string | null | undefined;

/** Where connections come from. */
export interface SqlSource {
  /** A connection for one statement (a pool hands out any; a single connection is queued). */
  once<T>(fn: (c: SqlConn) => Promise<T>): Promise<T>;
  /** A connection held for a whole transaction. `fn`'s error tells whether to discard it. */
  exclusive<T>(fn: (c: SqlConn) => Promise<T>, isBroken: (err: unknown) => boolean): Promise<T>;
  close(): Promise<void>;
}

/** The statements and error rules of one engine. Parameter order is fixed per statement. */
export interface SqlDialect {
  readonly kind: 'postgres' | 'mysql';
  get(key: string): Query;
  /** `user` undefined: web.py's three columns; a string or null: user_id too. */
  upsert(key: string, atime: number, data: string, user: UserValue): Query;
  /** Inserts a new row; changes 0 rows (or fails with a retryable error) when it exists. */
  insertNew(key: string, atime: number, data: string, user: UserValue): Query;
  /** Reads the row and locks it until the transaction ends. */
  lockRow(key: string): Query;
  update(key: string, atime: number, data: string, user: UserValue): Query;
  /** `update`, only where the stored data is exactly `expected` (byte for byte). */
  updateIf(key: string, atime: number, data: string, user: UserValue, expected: string): Query;
  /** Rows of one user (user_id index). */
  userKeys(user: string): Query;
  /** Column names of the table (no rows when it does not exist). */
  columns(): Query;
  /** The user_id index, for tables that have the column. */
  userDDL(): string[];
  touch(key: string, atime: number): Query;
  delete(key: string): Query;
  deleteExpired(cutoff: number, limit: number): Query;
  keysAfter(after: string, limit: number): Query;
  readonly begin: string;
  ddl(): string[];
  /** A DDL error that only says the object is there already. */
  isAlreadyThere(err: unknown): boolean;
  /** Deadlock, serialisation failure or a lost insert race: the transaction may be run again. */
  isRetryable(err: unknown): boolean;
  isUnavailable(err: unknown): boolean;
}

const NET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ECONNABORTED',
  'EADDRNOTAVAIL',
]);

/** Socket-level failures common to every client/server driver. */
export function isNetworkError(err: unknown): boolean {
  const e = err as { code?: unknown; errors?: unknown[] } | null;
  if (!e) return false;
  if (typeof e.code === 'string' && NET_CODES.has(e.code)) return true;
  // AggregateError of a dual-stack connect attempt.
  return Array.isArray(e.errors) && e.errors.some(isNetworkError);
}

class RowVanished extends Error {}

const MAX_ATTEMPTS = 8;
/** Conditional writes tried before the locked transaction (with an `expected` record). */
const OPTIMISTIC_TRIES = 3;
const first = (rows: Record<string, unknown>[]) => rows[0];
const toRecord = (row: Record<string, unknown>): StoredSession => ({
  data: String(row.data ?? ''),
  atime: parseAtime(row.atime),
});
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The Backend of a client/server engine. */
/** A unique-key violation (MySQL ER_DUP_ENTRY, PostgreSQL 23505). */
function isDuplicateKey(err: unknown): boolean {
  const e = err as { errno?: unknown; code?: unknown } | null;
  return e?.errno === 1062 || e?.code === 'ER_DUP_ENTRY' || e?.code === '23505';
}

export function sqlBackend(d: SqlDialect, source: SqlSource): Backend {
  const mutex = new KeyedMutex();
  const written = new LastWritten();
  let withUser = false;
  const userValue = (record: StoredSession): UserValue => (withUser ? userOf(record) : undefined);
  const keysOf = (rows: Record<string, unknown>[]) => rows.map((r) => String(r.session_id).trim());
  const hasUserColumn = () =>
    source.once(async (c) => {
      const names = (await c.rows(d.columns())).map((r) => String(r.name).toLowerCase());
      return names.length === 0 ? undefined : names.includes(USER_COLUMN);
    });

  async function updateIn(
    c: SqlConn,
    key: string,
    mutator: StoreMutator,
  ): Promise<StoredSession | undefined> {
    let row = first(await c.rows(d.lockRow(key)));
    if (!row) {
      const created = mutator(undefined);
      if (!created) return undefined; // nothing there, nothing to write
      if ((await c.run(d.insertNew(key, created.atime, created.data, userValue(created)))) > 0)
        return created;
      // Another process inserted it since our read: its row is committed and now ours to lock.
      row = first(await c.rows(d.lockRow(key)));
      if (!row) throw new RowVanished('row inserted and deleted meanwhile');
    }
    const current = toRecord(row);
    const next = mutator(current);
    if (next === undefined) return current;
    if (next === null) {
      await c.run(d.delete(key));
      return undefined;
    }
    await c.run(d.update(key, next.atime, next.data, userValue(next)));
    return next;
  }

  const transaction = (key: string, mutator: StoreMutator) =>
    source.exclusive(async (c) => {
      await c.exec(d.begin);
      try {
        const result = await updateIn(c, key, mutator);
        await c.exec('COMMIT');
        return result;
      } catch (err) {
        await c.exec('ROLLBACK').catch(() => {});
        throw err;
      }
    }, d.isUnavailable);

  return {
    kind: d.kind,
    get: (key) =>
      source.once(async (c) => {
        const row = first(await c.rows(d.get(key)));
        return row ? toRecord(row) : undefined;
      }),
    set: (key, record) =>
      source.once(async (c) => {
        written.note(key, undefined);
        await c.run(d.upsert(key, record.atime, record.data, userValue(record)));
      }),
    // An insert that fails on the unique key (PostgreSQL: ON CONFLICT DO NOTHING, no row;
    // MySQL: a plain INSERT, ER_DUP_ENTRY): never an upsert.
    create: (key, record) =>
      source.once(async (c) => {
        written.note(key, undefined);
        try {
          return (await c.run(d.insertNew(key, record.atime, record.data, userValue(record)))) > 0;
        } catch (err) {
          if (isDuplicateKey(err)) return false;
          throw err;
        }
      }),
    // One transaction per key at a time from this process (the row lock orders other processes).
    update: (key, mutator, expected) =>
      mutex.run(key, async () => {
        // Optimistic: one conditional UPDATE in autocommit. It takes the row lock itself and
        // re-checks its WHERE on the latest committed row, so it changes nothing when another
        // writer got there first; then read the row again and retry (2 round trips) a few
        // times, and only then take the locked transaction below (4 round trips).
        let basis = expected && written.basis(key, expected);
        for (let tries = 0; basis && tries < OPTIMISTIC_TRIES; tries++) {
          const next = mutator(basis);
          if (!next) break; // keep or delete: the transaction decides on the locked row
          const q = d.updateIf(key, next.atime, next.data, userValue(next), basis.data);
          if ((await source.once((c) => c.run(q))) > 0) {
            written.note(key, next);
            return next;
          }
          const row = first(await source.once((c) => c.rows(d.get(key))));
          basis = row && toRecord(row);
        }
        for (let attempt = 1; ; attempt++) {
          try {
            const stored = await transaction(key, mutator);
            written.note(key, stored);
            return stored;
          } catch (err) {
            if (attempt >= MAX_ATTEMPTS || !(err instanceof RowVanished || d.isRetryable(err)))
              throw err;
            await sleep(Math.random() * 5 * attempt);
          }
        }
      }),
    touch: (key, atime) => source.once(async (c) => void (await c.run(d.touch(key, atime)))),
    delete: (key) =>
      source.once(async (c) => {
        written.note(key, undefined);
        await c.run(d.delete(key));
      }),
    deleteExpired: (cutoff, limit) => source.once((c) => c.run(d.deleteExpired(cutoff, limit))),
    keysAfter: (after, limit) =>
      source.once(async (c) => keysOf(await c.rows(d.keysAfter(after, limit)))),
    async createTable() {
      const run = (ddls: string[]) =>
        source.once(async (c) => {
          for (const ddl of ddls) {
            try {
              await c.exec(ddl);
            } catch (err) {
              if (!d.isAlreadyThere(err)) throw err;
            }
          }
        });
      await run(d.ddl());
      if (await hasUserColumn()) await run(d.userDDL());
    },
    hasUserColumn,
    useUserColumn(on) {
      withUser = on;
    },
    userKeys: (user) => source.once(async (c) => keysOf(await c.rows(d.userKeys(user)))),
    isUnavailable: (err) => isLostConnection(err) || d.isUnavailable(err),
    close: () => source.close(),
  };
}

/** One connection as {@link singleSource} drives and watches it. */
export interface Link {
  conn: SqlConn;
  /** Calls `fn` when the driver reports the connection gone (its 'error' or 'end' event). */
  watch(fn: (err?: Error) => void): void;
  close(): Promise<void>;
}

/** What a driver connection emits when it is gone (pg Client, mysql2 connection). */
export interface ConnectionEvents {
  on(event: 'error' | 'end', fn: (err?: Error) => void): unknown;
}

/**
 * A {@link Link} over `conn`, watched through the driver's 'error' and 'end' events of
 * `events` (none: never reported lost by the driver, only by a failing statement).
 */
export function linkOf(
  conn: SqlConn,
  events: ConnectionEvents | undefined,
  close: () => Promise<void>,
): Link {
  return {
    conn,
    watch(fn) {
      if (typeof events?.on !== 'function') return;
      events.on('error', fn);
      events.on('end', () => fn(undefined));
    },
    close,
  };
}

/** The single connection the application gave, and how to replace it when it dies. */
export interface SingleOptions {
  /** What to call it in messages: `the pg Client`, `the mysql2 connection`. */
  label: string;
  /** The application's connection; its `close` ends it only when the store owns it. */
  app: Link;
  /** True when the application closed its connection itself: the store then opens none. */
  closedByApplication(): boolean;
  /**
   * Opens a connection of the store's own with the application's connection's settings;
   * a string says why this handle cannot be reopened.
   */
  reopen: (() => Promise<Link>) | string;
  isUnavailable(err: unknown): boolean;
  /** Told once per lost connection. */
  warn(err: Error): void;
}

/** Errors of a lost single connection the store could not replace: the database is unavailable. */
const lostErrors = new WeakSet<object>();

/** True for an error {@link singleSource} raised because its connection is lost and not yet replaced. */
export function isLostConnection(err: unknown): boolean {
  return !!err && typeof err === 'object' && lostErrors.has(err);
}

function lost<E>(err: E): E {
  if (err && typeof err === 'object') lostErrors.add(err);
  return err;
}

const reasonOf = (err: unknown) =>
  err instanceof Error ? err.message || (err as { code?: string }).code || err.name : String(err);

/**
 * A source over one connection: every use waits its turn, so no statement lands inside another
 * caller's transaction. When the connection dies (a statement fails as unavailable, or the driver
 * says so), the next call opens a replacement of the store's own (`reopen`) and uses it from then
 * on; the application's connection is never closed unless the store owns it. A reconnect is tried
 * only by a call: calls that waited behind a failed attempt fail with its error without trying
 * again, so an outage costs one connection attempt per new call, never a loop.
 */
export function singleSource(o: SingleOptions): SqlSource {
  const queue = new SerialQueue();
  let current = o.app;
  /** The store's replacement connection, once it has opened one. */
  let own: Link | undefined;
  /** Why `current` is unusable; undefined while it serves. */
  let deadBecause: unknown;
  let closed = false;
  /** Calls enqueued so far; calls numbered up to `failedUpTo` share `lastFailure`. */
  let enqueued = 0;
  let failedUpTo = 0;
  let lastFailure: unknown;

  const markLost = (link: Link, err: unknown) => {
    if (link !== current || deadBecause !== undefined || closed) return;
    deadBecause = err ?? new Error('the connection ended');
    if (link === o.app && o.closedByApplication()) return; // the application's own doing
    const next =
      typeof o.reopen === 'string'
        ? `and cannot be replaced (${o.reopen}): every call fails until the process restarts; give DBStore a pool instead`
        : `the store will open a connection of its own with the same settings on its next call (the application's connection is left as it is)`;
    o.warn(
      new Error(
        `${link === o.app ? `${o.label} given to DBStore` : `DBStore's own replacement of ${o.label}`} lost its connection (${reasonOf(deadBecause)}); ${next}`,
      ),
    );
  };
  const watch = (link: Link) => link.watch((err) => markLost(link, err));
  watch(o.app);

  async function usable(ticket: number): Promise<Link> {
    if (current === o.app && o.closedByApplication())
      throw lost(
        new Error(
          `${o.label} given to DBStore was closed by the application; the store does not reopen a connection the application closed (close the store first, or give it a pool)`,
        ),
      );
    if (deadBecause === undefined) return current;
    if (closed) throw lost(new Error('this store is closed'));
    if (typeof o.reopen === 'string')
      throw lost(
        new Error(
          `${o.label} given to DBStore lost its connection (${reasonOf(deadBecause)}) and cannot be replaced: ${o.reopen}`,
        ),
      );
    if (ticket <= failedUpTo) throw lastFailure;
    // The dead replacement is closed without waiting: its socket is gone already.
    void own?.close().catch(() => {});
    own = undefined;
    try {
      const link = await o.reopen();
      if (closed) {
        await link.close().catch(() => {});
        throw new Error('this store is closed');
      }
      own = current = link;
      deadBecause = undefined;
      watch(link);
      return link;
    } catch (err) {
      failedUpTo = enqueued;
      lastFailure = lost(err);
      throw err;
    }
  }

  const use = <T>(fn: (c: SqlConn) => Promise<T>): Promise<T> => {
    const ticket = ++enqueued;
    return queue.run(async () => {
      const link = await usable(ticket);
      try {
        return await fn(link.conn);
      } catch (err) {
        if (o.isUnavailable(err)) markLost(link, err);
        throw err;
      }
    });
  };

  return {
    once: use,
    exclusive: (fn) => use(fn),
    async close() {
      closed = true;
      const mine = own;
      own = undefined;
      await mine?.close().catch(() => {});
      await o.app.close();
    },
  };
}
