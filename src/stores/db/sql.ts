/**
 * The client/server half of DBStore, shared by PostgreSQL and MySQL: one-statement reads and
 * upserts, `update` as a transaction holding the row's lock (`SELECT … FOR UPDATE`), and a lease
 * held by a lock tied to one connection. Each dialect is a subclass giving what differs.
 * @module
 */
import { KeyedMutex } from '../../core/lock.js';
import type { StoredSession, StoreLease, StoreMutator } from '../store.js';
import { LastWritten } from '../written.js';
import { type Dbn, type Engine, parseAtime, rowOf, tableDDL, USER_COLUMN } from './common.js';

type Row = Record<string, unknown>;

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
export class LostConnection extends Error {}

/** What a driver connection emits when it is gone (pg Client, mysql2 connection). */
export interface ConnectionEvents {
  on(event: 'error' | 'end', fn: (err?: Error) => void): unknown;
}

/**
 * The one connection the application gave, used as it is: statements take turns, so none lands
 * inside another caller's transaction. Once it is lost (the driver's 'error', or a statement
 * failing as unavailable) or closed (an 'end' without error), every call fails as unavailable:
 * the store does not reopen it, a pool or a URL does that.
 */
export function singleSource(
  conn: Conn,
  events: ConnectionEvents | undefined,
  label: string,
  isUnavailable: (err: unknown) => boolean,
  warn: (err: Error) => void,
  close: () => Promise<void>,
): Source {
  let tail: Promise<unknown> = Promise.resolve();
  let lost: string | undefined;
  let ended = false;
  const advice = 'DBStore does not reopen a single connection: give it a pool or a URL instead';
  const markLost = (err: unknown) => {
    if (lost !== undefined) return;
    lost = `${label} given to DBStore lost its connection (${err instanceof Error ? err.message || err.name : 'it ended'}); ${advice}`;
    warn(new Error(lost));
  };
  // The store's own 'error' listener also keeps an idle connection's error from killing Node.
  events?.on('error', markLost);
  events?.on('end', () => {
    ended = true;
  });
  const closed = () =>
    new LostConnection(`${label} given to DBStore was closed by the application; ${advice}`);
  const exclusive = <T>(fn: (c: Conn) => Promise<T>): Promise<T> => {
    const next = tail.then(async () => {
      if (lost) throw new LostConnection(lost);
      if (ended) throw closed();
      try {
        return await fn(conn);
      } catch (err) {
        if (!isUnavailable(err)) throw err;
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

const MAX_ATTEMPTS = 8;
/** Conditional writes tried before the locked transaction (with an `expected` record). */
const OPTIMISTIC_TRIES = 3;
const keysOf = ({ rows }: { rows: Row[] }) => rows.map((r) => String(r.session_id).trim());
class RowVanished extends Error {}

/** One client/server dialect on one table; subclasses give what differs. */
export abstract class SqlEngine implements Engine {
  userColumn = false;
  readonly #mutex = new KeyedMutex();
  readonly #written = new LastWritten();
  readonly #leases = new Set<StoreLease>();

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
  /** [take (answers `ok` = 1 when taken), give back, parameters] of the lease lock `name`. */
  protected abstract lock(name: string): [string, string, unknown[]];
  protected abstract time: (ms: number) => string;
  protected abstract onConflictUpdate(columns: string[]): string;
  protected abstract expire(cutoff: number, limit: number): [string, unknown[]];
  /** Column names of the table as `name` (no rows when it does not exist). */
  protected abstract columns(): [string, unknown[]];
  protected abstract isAlreadyThere: (err: unknown) => boolean;
  protected abstract isDuplicate: (err: unknown) => boolean;
  /** Deadlock, serialisation failure or a lost insert race: the transaction may run again. */
  protected abstract isRetryable: (err: unknown) => boolean;
  protected abstract isDialectUnavailable: (err: unknown) => boolean;

  isUnavailable(err: unknown) {
    return err instanceof LostConnection || this.isDialectUnavailable(err);
  }

  #insert(c: Conn, key: string, r: StoredSession, tail: (cols: string[]) => string) {
    const { cols, values } = rowOf(key, r, this.time(r.atime), this.userColumn);
    const marks = cols.map(() => '?').join(', ');
    return c.query(
      `INSERT INTO ${this.t} (${cols.join(', ')}) VALUES (${marks}) ${tail(cols)}`,
      values,
    );
  }

  /** UPDATE of the record's columns where the key is `key` (and `extra` holds). */
  #rewrite(c: Conn, key: string, r: StoredSession, extra = '', more: unknown[] = []) {
    const { cols, values } = rowOf(key, r, this.time(r.atime), this.userColumn);
    const set = cols.slice(1).map((col) => `${col} = ?`);
    const sql = `UPDATE ${this.t} SET ${set.join(', ')} WHERE session_id = ?${extra}`;
    return c.query(sql, [...values.slice(1), key, ...more]);
  }

  async #read(c: Conn, key: string, forUpdate = '') {
    const sql = `SELECT ${this.cols} FROM ${this.t} WHERE session_id = ?${forUpdate}`;
    const row = (await c.query(sql, [key])).rows[0];
    return row && { data: String(row.data ?? ''), atime: parseAtime(row.atime) };
  }

  get(key: string) {
    return this.#read(this.source, key);
  }

  async set(key: string, record: StoredSession) {
    this.#written.note(key, undefined);
    await this.#insert(this.source, key, record, (cols) => this.onConflictUpdate(cols.slice(1)));
  }

  async create(key: string, record: StoredSession) {
    this.#written.note(key, undefined);
    try {
      return (await this.#insert(this.source, key, record, () => this.onConflictKeep)).changed > 0;
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
      if ((await this.#insert(c, key, created, () => this.onConflictKeep)).changed > 0)
        return created;
      // Another process inserted it since our read: its row is committed and now ours to lock.
      current = await this.#read(c, key, ' FOR UPDATE');
      if (!current) throw new RowVanished('row inserted and deleted meanwhile');
    }
    const next = mutator(current);
    if (next === undefined) return current;
    if (next === null) await c.query(`DELETE FROM ${this.t} WHERE session_id = ?`, [key]);
    else await this.#rewrite(c, key, next);
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
        const sameData = ` AND ${this.sameData}`;
        if ((await this.#rewrite(this.source, key, next, sameData, [basis.data])).changed > 0) {
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
    await this.source.query(`DELETE FROM ${this.t} WHERE session_id = ?`, [key]);
  }

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
  async lease(name: string): Promise<StoreLease | undefined> {
    const [take, give, values] = this.lock(name);
    const kept = await this.source.keep();
    const taken = await kept.conn.query(take, values).catch((err: unknown) => {
      kept.release(true);
      throw err;
    });
    if (Number(taken.rows[0]?.ok) !== 1) return void kept.release(false);
    let held = true;
    const lease: StoreLease = {
      renew: async () =>
        held &&
        kept.conn.query('SELECT 1').then(
          () => true,
          () => false,
        ),
      release: async () => {
        if (!held) return;
        held = false;
        this.#leases.delete(lease);
        kept.release(
          !(await kept.conn.query(give, values).then(
            () => true,
            () => false,
          )),
        );
      },
    };
    this.#leases.add(lease);
    return lease;
  }

  async close() {
    for (const lease of [...this.#leases]) await lease.release();
    await this.source.close();
  }
}
