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
  exclusive<T>(fn: (c: Conn) => Promise<T>, isBroken: (err: unknown) => boolean): Promise<T>;
  /** A connection to keep while a lease lives. */
  keep(): Promise<Kept>;
  close(): Promise<void>;
}

/** A pool (closed with the store when `owned`): transactions on a connection checked out. */
export function poolSource(
  query: Conn['query'],
  keep: () => Promise<Kept>,
  end: () => Promise<void>,
  owned: boolean,
): Source {
  return {
    query,
    keep,
    close: async () => void (owned && (await end())),
    async exclusive(fn, isBroken) {
      const kept = await keep();
      const result = fn(kept.conn);
      result.then(() => false, isBroken).then((broken) => kept.release(broken));
      return result;
    },
  };
}

/** A single connection given to the store is gone: the database is unavailable to it. */
export class LostConnection extends Error {}

/** What a driver connection emits when it is gone (pg Client, mysql2 connection). */
export interface ConnectionEvents {
  on(event: 'error' | 'end', fn: (err?: Error) => void): unknown;
}

/** The one connection the application gave (`label`: `the pg Client`). */
export interface Single {
  conn: Conn;
  end(): Promise<void>;
  label: string;
  events: ConnectionEvents | undefined;
  isLost(err: unknown): boolean;
}

/**
 * The one connection the application gave, used as it is: statements take turns, so none lands
 * inside another caller's transaction. Once lost or closed, every call fails as unavailable.
 */
export function singleSource(c: Single, owned: boolean, warn: (err: Error) => void): Source {
  let tail: Promise<unknown> = Promise.resolve();
  let [lost, ended] = [undefined as string | undefined, false];
  const advice = 'DBStore does not reopen a single connection: give it a pool or a URL instead';
  const markLost = (err: unknown) => {
    if (lost !== undefined) return;
    lost = `${c.label} given to DBStore lost its connection (${err instanceof Error ? err.message || err.name : 'it ended'}); ${advice}`;
    warn(new Error(lost));
  };
  const closed = () =>
    new LostConnection(`${c.label} given to DBStore was closed by the application; ${advice}`);
  // The store's own 'error' listener also keeps an idle connection's error from killing Node.
  c.events?.on('error', markLost);
  c.events?.on('end', () => {
    ended = true;
  });
  const exclusive = <T>(fn: (c: Conn) => Promise<T>): Promise<T> => {
    const next = tail.then(async () => {
      if (lost) throw new LostConnection(lost);
      if (ended) throw closed();
      try {
        return await fn(c.conn);
      } catch (err) {
        if (!c.isLost(err)) throw err;
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
    query: (sql, values) => exclusive((conn) => conn.query(sql, values)),
    exclusive,
    keep: async () => ({ conn: source, release() {} }),
    close: async () => void (owned && (await c.end())),
  };
  return source;
}

/**
 * A lease held by a lock (`take` answers `ok` = 1 when taken) on a kept connection: it frees
 * itself if that connection dies, so its ttl plays no part. Renewing checks the connection.
 */
export async function lockLease(source: Source, take: string, give: string, values: unknown[]) {
  const kept = await source.keep();
  const taken = await kept.conn.query(take, values).catch((err: unknown) => {
    kept.release(true);
    throw err;
  });
  if (Number(taken.rows[0]?.ok) !== 1) return void kept.release(false);
  const ok = (sql: string, params?: unknown[]) =>
    kept.conn
      .query(sql, params)
      .then(() => true)
      .catch(() => false);
  return {
    renew: () => ok('SELECT 1'),
    release: async () => kept.release(!(await ok(give, values))),
  };
}
