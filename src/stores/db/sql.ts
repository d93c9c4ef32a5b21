/**
 * Where DBStore's connections come from: a pool, or one connection the application gave.
 * @module
 */
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
  exclusive<T>(fn: (c: Conn) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** A single connection given to the store is gone: the database is unavailable to it. */
export class LostConnection extends Error {}

/** What a driver connection emits when it is gone (pg Client, mysql2 connection). */
export interface ConnectionEvents {
  on(event: 'error' | 'end', fn: (err?: Error) => void): unknown;
}

/** A driver's pool (`checkout` takes a connection out) or one connection (`the pg Client`). */
export interface Driver {
  conn: Conn;
  end(): Promise<void>;
  checkout?: () => Promise<Kept>;
  label: string;
  events?: ConnectionEvents;
  /** The connection is gone: a pool's is closed instead of released. */
  isUnavailable(err: unknown): boolean;
}

/**
 * A pool's transactions run on a connection checked out. A single connection is used as it is:
 * statements take turns, so none lands inside another caller's transaction; once lost or closed,
 * every call fails as unavailable. The store closes the driver with itself when `owned`.
 */
export function sourceOf(driver: Driver, owned: boolean, warn: (err: Error) => void): Source {
  const { conn, checkout, label, isUnavailable } = driver;
  const close = async () => void (owned && (await driver.end()));
  if (checkout)
    return {
      query: conn.query,
      close,
      async exclusive(fn) {
        const kept = await checkout();
        const result = fn(kept.conn);
        result.then(() => false, isUnavailable).then((broken) => kept.release(broken));
        return result;
      },
    };
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
  driver.events?.on('error', markLost);
  driver.events?.on('end', () => {
    ended = true;
  });
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
    close,
  };
  return source;
}
