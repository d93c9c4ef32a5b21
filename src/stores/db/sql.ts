/**
 * What DBStore's three dialects share: one-statement reads and upserts, `update` as a
 * transaction holding the row's lock, and a lease. Each dialect is a subclass of {@link SqlEngine}
 * giving what differs; connections come from a {@link Source}.
 * @module
 */
import { KeyedMutex } from '../../core/lock.js';
import type { StoredSession, StoreLease, StoreMutator } from '../store.js';
import { LastWritten } from '../written.js';
import { type Dbn, parseAtime, tableDDL, USER_COLUMN } from './common.js';

type Row = Record<string, unknown>;
/** A statement and its parameters. */
type Query = [string, unknown[]];

/** A connection, or a pool for single statements. Statements use `?` placeholders. */
export interface Conn {
  query(sql: string, values?: unknown[]): Promise<{ rows: Row[]; changed: number }>;
}

/** A connection kept out of the pool until released (closed instead when `broken`). */
export interface Kept {
  conn: Conn;
  release(broken: boolean): void;
}

/** Where connections come from: a pool, or one connection used in turns. */
export interface Source extends Conn {
  /** Runs `fn` on a connection no other caller uses meanwhile (a transaction). */
  exclusive<T>(fn: (c: Conn) => Promise<T>, isBroken: (err: unknown) => boolean): Promise<T>;
  /** A connection to keep while a lease lives (its lock goes with the connection). */
  keep(): Promise<Kept>;
  /** Closes the pool or connection if the store owns it. */
  close(): Promise<void>;
}

/** A pool: single statements on any connection, the others on one checked out. */
export function poolSource(
  query: Conn['query'],
  checkout: () => Promise<Kept>,
  close: () => Promise<void>,
): Source {
  async function exclusive<T>(fn: (c: Conn) => Promise<T>, isBroken: (err: unknown) => boolean) {
    const kept = await checkout();
    let broken = false;
    try {
      return await fn(kept.conn);
    } catch (err) {
      broken = isBroken(err);
      throw err;
    } finally {
      kept.release(broken);
    }
  }
  return { query, exclusive, keep: checkout, close };
}

/** A single connection given to the store is gone: the database is unavailable to it. */
class LostConnection extends Error {}

/** What a driver connection emits when it is gone (pg Client, mysql2 connection). */
export interface ConnectionEvents {
  on(event: 'error' | 'end', fn: (err?: Error) => void): unknown;
}

/**
 * The one connection the application gave, used as it is: statements take turns, so none lands
 * inside another caller's transaction. Once it is lost (the driver's 'error', or a statement
 * failing as `isLost`) or closed (an 'end' without error), every call fails as unavailable:
 * the store does not reopen it, a pool or a URL does that.
 */
export function singleSource(
  conn: Conn,
  close: () => Promise<void>,
  lossOf?: { label: string; events?: ConnectionEvents; isLost(err: unknown): boolean },
  warn: (err: Error) => void = () => {},
): Source {
  let tail: Promise<unknown> = Promise.resolve();
  let lost: string | undefined;
  let ended = false;
  const advice = 'DBStore does not reopen a single connection: give it a pool or a URL instead';
  const given = `${lossOf?.label} given to DBStore`;
  const markLost = (err: unknown) => {
    if (lost !== undefined) return;
    lost = `${given} lost its connection (${err instanceof Error ? err.message || err.name : 'it ended'}); ${advice}`;
    warn(new Error(lost));
  };
  const closed = () => new LostConnection(`${given} was closed by the application; ${advice}`);
  // The store's own 'error' listener also keeps an idle connection's error from killing Node.
  lossOf?.events?.on('error', markLost);
  lossOf?.events?.on('end', () => {
    ended = true;
  });
  const exclusive = <T>(fn: (c: Conn) => Promise<T>): Promise<T> => {
    const next = tail.then(async () => {
      if (lost) throw new LostConnection(lost);
      if (ended) throw closed();
      try {
        return await fn(conn);
      } catch (err) {
        if (!lossOf?.isLost(err)) throw err;
        // mysql2 refuses commands once ended, before its 'end' event: the application's doing.
        if (/closed state/.test((err as Error).message)) ended = true;
        else markLost(err);
        throw lost ? err : closed();
      }
    });
    tail = next.catch(() => {});
    return next;
  };
  const source: Source = {
    query: (sql, values) => exclusive((c) => c.query(sql, values)),
    exclusive,
    keep: async () => ({ conn: source, release() {} }),
    close,
  };
  return source;
}

/** The columns a record is written to, and their values. */
function rowOf(key: string, r: StoredSession, time: unknown, withUser: boolean) {
  const cols = ['session_id', 'atime', 'data', ...(withUser ? [USER_COLUMN] : [])];
  return { cols, values: [key, time, r.data, ...(withUser ? [r.user ?? null] : [])] };
}

const MAX_ATTEMPTS = 8;
/** Conditional writes tried before the locked transaction (with an `expected` record). */
const OPTIMISTIC_TRIES = 3;
/** A row read with the select list `cols`, as a record. */
export const recordOf = (row: Row | undefined) =>
  row && { data: String(row.data ?? ''), atime: parseAtime(row.atime) };
const keysOf = ({ rows }: { rows: Row[] }) => rows.map((r) => String(r.session_id).trim());
class RowVanished extends Error {}

/** One dialect on one table, as DBStore drives it (keys already checked). */
export abstract class SqlEngine {
  /** Writes keep `user_id` too (false: web.py's three columns). */
  userColumn = false;
  readonly #mutex = new KeyedMutex();
  readonly #written = new LastWritten();
  protected readonly leases = new Set<StoreLease>();

  constructor(
    protected readonly source: Source,
    readonly dbn: Dbn,
    protected readonly table: string,
    /** The quoted table name. */
    protected readonly t: string,
  ) {}

  /** The select list: `data`, and `atime` as the driver reads it back. */
  protected abstract readonly cols: string;
  /** The end of an INSERT that leaves a taken key alone (or fails on it). */
  protected abstract readonly onConflictKeep: string;
  /** Compares `data` with a parameter byte for byte. */
  protected abstract readonly sameData: string;
  protected abstract time: (ms: number) => string;
  protected abstract onConflictUpdate(columns: string[]): string;
  /** Deletes at most `limit` rows idle since `cutoff`. */
  protected abstract expire(cutoff: number, limit: number): [string, unknown[]];
  /** Column names of the table as `name` (no rows when it does not exist). */
  protected abstract columns(): [string, unknown[]];
  /** [take (answers `ok` = 1 when taken), give back, parameters] of the lease lock `name`. */
  protected abstract lock: (name: string) => [string, string, unknown[]];
  protected abstract isAlreadyThere: (err: unknown) => boolean;
  protected abstract isDuplicate: (err: unknown) => boolean;
  /** Deadlock, serialisation failure or a lost insert race: the transaction may run again. */
  protected abstract isRetryable: (err: unknown) => boolean;
  protected abstract isDialectUnavailable: (err: unknown) => boolean;

  /** True when `err` means the database cannot be reached (→ StoreUnavailableError). */
  isUnavailable(err: unknown) {
    return err instanceof LostConnection || this.isDialectUnavailable(err);
  }

  /** The INSERT of a record, ending with `tail` (given the written columns but the key). */
  protected insertSql(key: string, r: StoredSession, tail: (cols: string[]) => string): Query {
    const { cols, values } = rowOf(key, r, this.time(r.atime), this.userColumn);
    const marks = cols.map(() => '?').join(', ');
    return [`INSERT INTO ${this.t} (${cols}) VALUES (${marks}) ${tail(cols.slice(1))}`, values];
  }

  /** The UPDATE of a record's row (where `extra` holds too). */
  protected rewriteSql(key: string, r: StoredSession, extra = '', more: unknown[] = []): Query {
    const { cols, values } = rowOf(key, r, this.time(r.atime), this.userColumn);
    const set = cols.slice(1).map((col) => `${col} = ?`);
    const sql = `UPDATE ${this.t} SET ${set} WHERE session_id = ?${extra}`;
    return [sql, [...values.slice(1), key, ...more]];
  }

  protected readSql(key: string, lock = ''): Query {
    return [`SELECT ${this.cols} FROM ${this.t} WHERE session_id = ?${lock}`, [key]];
  }

  protected deleteSql(key: string): Query {
    return [`DELETE FROM ${this.t} WHERE session_id = ?`, [key]];
  }

  async #read(c: Conn, key: string, lock = '') {
    return recordOf((await c.query(...this.readSql(key, lock))).rows[0]);
  }

  get(key: string) {
    return this.#read(this.source, key);
  }

  async set(key: string, record: StoredSession) {
    this.#written.note(key, undefined);
    await this.source.query(...this.insertSql(key, record, (cols) => this.onConflictUpdate(cols)));
  }

  /** Inserts the row only if there is none; false when the key is taken. */
  async create(key: string, record: StoredSession) {
    this.#written.note(key, undefined);
    try {
      return (
        (await this.source.query(...this.insertSql(key, record, () => this.onConflictKeep)))
          .changed > 0
      );
    } catch (err) {
      if (this.isDuplicate(err)) return false;
      throw err;
    }
  }

  async #updateIn(c: Conn, key: string, mutator: StoreMutator) {
    let current = await this.#read(c, key, ' FOR UPDATE');
    if (!current) {
      const created = mutator(undefined);
      if (!created) return undefined; // nothing there, nothing to write
      if ((await c.query(...this.insertSql(key, created, () => this.onConflictKeep))).changed > 0)
        return created;
      // Another process inserted it since our read: its row is committed and now ours to lock.
      current = await this.#read(c, key, ' FOR UPDATE');
      if (!current) throw new RowVanished('row inserted and deleted meanwhile');
    }
    const next = mutator(current);
    if (next === undefined) return current;
    await c.query(...(next === null ? this.deleteSql(key) : this.rewriteSql(key, next)));
    return next ?? undefined;
  }

  #transaction(key: string, mutator: StoreMutator) {
    return this.source.exclusive(
      async (c) => {
        await c.query('BEGIN');
        try {
          const result = await this.#updateIn(c, key, mutator);
          await c.query('COMMIT');
          return result;
        } catch (err) {
          await c.query('ROLLBACK').catch(() => {});
          throw err;
        }
      },
      (err) => this.isUnavailable(err),
    );
  }

  // One transaction per key at a time from this process (the row lock orders other processes).
  update(key: string, mutator: StoreMutator, expected?: StoredSession) {
    return this.#mutex.run(key, async () => {
      // Optimistic: one conditional UPDATE in autocommit, which re-checks its WHERE on the latest
      // committed row, so it changes nothing when another writer got there first; then read the
      // row again and retry a few times, and only then take the locked transaction.
      let basis = expected && this.#written.basis(key, expected);
      for (let tries = 0; basis && tries < OPTIMISTIC_TRIES; tries++) {
        const next = mutator(basis);
        if (!next) break; // keep or delete: the transaction decides on the locked row
        const q = this.rewriteSql(key, next, ` AND ${this.sameData}`, [basis.data]);
        if ((await this.source.query(...q)).changed > 0) {
          this.#written.note(key, next);
          return next;
        }
        basis = await this.#read(this.source, key);
      }
      for (let attempt = 1; ; attempt++) {
        try {
          const stored = await this.#transaction(key, mutator);
          this.#written.note(key, stored);
          return stored;
        } catch (err) {
          if (attempt >= MAX_ATTEMPTS || !(err instanceof RowVanished || this.isRetryable(err)))
            throw err;
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt));
        }
      }
    });
  }

  async touch(key: string, atime: number) {
    const sql = `UPDATE ${this.t} SET atime = ? WHERE session_id = ?`;
    await this.source.query(sql, [this.time(atime), key]);
  }

  async delete(key: string) {
    this.#written.note(key, undefined);
    await this.source.query(...this.deleteSql(key));
  }

  /** Deletes at most `limit` rows idle since `cutoff` (ms); returns how many. */
  async deleteExpired(cutoff: number, limit: number) {
    return (await this.source.query(...this.expire(cutoff, limit))).changed;
  }

  // LIMIT is our own integer, inlined: mysqld rejects a LIMIT placeholder in some versions.
  async keysAfter(after: string, limit: number) {
    const sql = `SELECT session_id FROM ${this.t} WHERE session_id > ? ORDER BY session_id LIMIT ${Math.trunc(limit)}`;
    return keysOf(await this.source.query(sql, [after]));
  }

  async userKeys(user: string) {
    const sql = `SELECT session_id FROM ${this.t} WHERE ${USER_COLUMN} = ?`;
    return keysOf(await this.source.query(sql, [user]));
  }

  /** Whether the table has `user_id`; undefined when there is no table (yet). */
  async hasUserColumn() {
    const { rows } = await this.source.query(...this.columns());
    const names = rows.map((r) => String(r.name).toLowerCase());
    return names.length === 0 ? undefined : names.includes(USER_COLUMN);
  }

  async createTable() {
    const ddl = tableDDL(this.dbn, this.table);
    const run = async (statements: string[]) => {
      for (const sql of statements)
        await this.source.query(sql).catch((err: unknown) => {
          if (!this.isAlreadyThere(err)) throw err;
        });
    };
    await run(ddl.table);
    if (await this.hasUserColumn()) await run(ddl.user);
  }

  /** A lock held by a connection kept for the lease: it frees itself if that connection dies. */
  async lease(name: string, _ttlMs: number): Promise<StoreLease | undefined> {
    const [take, give, values] = this.lock(name);
    const kept = await this.source.keep();
    const taken = await kept.conn.query(take, values).catch((err: unknown) => {
      kept.release(true);
      throw err;
    });
    if (Number(taken.rows[0]?.ok) !== 1) return void kept.release(false);
    const alive = () =>
      kept.conn.query('SELECT 1').then(
        () => true,
        () => false,
      );
    return this.held(alive, async () =>
      kept.release(
        !(await kept.conn.query(give, values).then(
          () => true,
          () => false,
        )),
      ),
    );
  }

  /** A lease that `renew`s while `renew` says so and is given back once with `release`. */
  protected held(renew: () => Promise<boolean>, release: () => Promise<void>): StoreLease {
    let held = true;
    const lease: StoreLease = {
      renew: async () => held && renew(),
      release: async () => {
        if (!held) return;
        held = false;
        this.leases.delete(lease);
        await release().catch(() => {});
      },
    };
    this.leases.add(lease);
    return lease;
  }

  /** Gives up held leases, and closes the database if the store owns it. */
  async close() {
    for (const lease of [...this.leases]) await lease.release();
    await this.source.close();
  }
}
