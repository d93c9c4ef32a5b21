/**
 * Where DBStore's connections come from: a pool, or one connection the application gave (used
 * in turns, and never reopened); and a lease held by a lock tied to one kept connection.
 * @module
 */
import type { StoreLease } from '../../core/store.js';

/** A row as the drivers return it. */
export type Row = Record<string, unknown>;

/** A connection, or a pool for single statements. Statements use `?` placeholders. */
export interface Conn {
  query(sql: string, values?: unknown[]): Promise<{ rows: Row[]; changed: number }>;
}

/** A connection kept out of the pool until released (closed instead when `broken`). */
export interface Kept {
  conn: Conn;
  release(broken: boolean): void;
}

/** Connections of one database, as DBStore uses them. */
export interface Source extends Conn {
  /** Runs `fn` on a connection no other caller uses meanwhile (a transaction). */
  exclusive<T>(fn: (c: Conn) => Promise<T>, isBroken: (err: unknown) => boolean): Promise<T>;
  /** A connection to keep while a lease lives. */
  keep(): Promise<Kept>;
  /** Closes the pool or connection if the store owns it. */
  close(): Promise<void>;
}

/** A pool: single statements on any connection, the others on one checked out. */
export function poolSource(
  query: Conn['query'],
  keep: () => Promise<Kept>,
  close: () => Promise<void>,
): Source {
  async function exclusive<T>(fn: (c: Conn) => Promise<T>, isBroken: (err: unknown) => boolean) {
    const kept = await keep();
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
  return { query, exclusive, keep, close };
}

/** A single connection given to the store is gone: the database is unavailable to it. */
export class LostConnection extends Error {}

/** What a driver connection emits when it is gone (pg Client, mysql2 connection). */
export interface ConnectionEvents {
  on(event: 'error' | 'end', fn: (err?: Error) => void): unknown;
}

/**
 * The one connection the application gave (`label`), used as it is: statements take turns, so
 * none lands inside another caller's transaction. Once it is lost (the driver's 'error', or a
 * statement failing as `isLost`) or closed (an 'end' without error), every call fails as
 * unavailable: the store does not reopen it, a pool or a URL does that.
 */
export function singleSource(
  conn: Conn,
  close: () => Promise<void>,
  label: string,
  events: ConnectionEvents | undefined,
  isLost: (err: unknown) => boolean,
  warn: (err: Error) => void,
): Source {
  let tail: Promise<unknown> = Promise.resolve();
  let [lost, ended] = [undefined as string | undefined, false];
  const advice = 'DBStore does not reopen a single connection: give it a pool or a URL instead';
  const markLost = (err: unknown) => {
    if (lost !== undefined) return;
    lost = `${label} given to DBStore lost its connection (${err instanceof Error ? err.message || err.name : 'it ended'}); ${advice}`;
    warn(new Error(lost));
  };
  const closed = () =>
    new LostConnection(`${label} given to DBStore was closed by the application; ${advice}`);
  // The store's own 'error' listener also keeps an idle connection's error from killing Node.
  events?.on('error', markLost);
  events?.on('end', () => {
    ended = true;
  });
  const exclusive = <T>(fn: (c: Conn) => Promise<T>): Promise<T> => {
    const next = tail.then(async () => {
      if (lost) throw new LostConnection(lost);
      if (ended) throw closed();
      try {
        return await fn(conn);
      } catch (err) {
        if (!isLost(err)) throw err;
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

/**
 * A lease held by a lock (`take` answers `ok` = 1 when taken) on a kept connection: it frees
 * itself if that connection dies, so its ttl plays no part. Renewing checks the connection.
 */
export async function lockLease(
  source: Source,
  take: string,
  give: string,
  values: unknown[],
): Promise<StoreLease | undefined> {
  const kept = await source.keep();
  const taken = await kept.conn.query(take, values).catch((err: unknown) => {
    kept.release(true);
    throw err;
  });
  if (Number(taken.rows[0]?.ok) !== 1) return void kept.release(false);
  const ok = (sql: string, params?: unknown[]) =>
    kept.conn.query(sql, params).then(
      () => true,
      () => false,
    );
  return {
    renew: () => ok('SELECT 1'),
    release: async () => kept.release(!(await ok(give, values))),
  };
}
