/**
 * The PostgreSQL dialect of DBStore, on a `pg` Pool or Client. `atime` is written as ISO text with
 * `Z` and read as epoch ms: UTC in `TIMESTAMP` and `TIMESTAMPTZ` columns whatever the TimeZone.
 */
import { createHash } from 'node:crypto';
import { type Engine, hasMethods, isNetworkError, type Warn } from './common.js';
import { type Conn, type ConnectionEvents, type Row, sourceOf } from './sql.js';

type PgQuery = { name?: string; text: string; values?: unknown[] };
interface PgQueryable {
  query(q: string | PgQuery): Promise<{ rows: Row[]; rowCount: number | null }>;
  on(event: 'error', fn: (err: Error) => void): unknown;
  off(event: 'error', fn: (err: Error) => void): unknown;
  listenerCount(event: string): number;
  end(): Promise<void>;
}
/** The part of a `pg` Pool DBStore uses. */
export interface PgPool extends PgQueryable {
  connect(): Promise<PgQueryable & { release(destroy?: boolean): void }>;
  readonly totalCount: number;
}
/** The part of a connected `pg` Client DBStore uses. */
export interface PgClient extends PgQueryable {
  escapeIdentifier(text: string): string;
}

const isPgPool = (db: unknown): db is PgPool =>
  hasMethods(db, 'connect', 'query') && typeof (db as PgPool).totalCount === 'number';
export const isPg = (db: unknown) => isPgPool(db) || hasMethods(db, 'escapeIdentifier');

// SQLSTATE 08… connection exception, 57P0x shutdown or cannot connect now, 53300 too many connections.
const UNAVAILABLE =
  /^(08...|57P0[1-4]|53300)$|connection terminated|not queryable|timeout exceeded when trying to connect|cannot use a pool after calling end|connection refused|terminating connection/i;
const codeOf = (err: unknown) => String((err as { code?: unknown } | null)?.code);
const isUnavailable = (err: unknown) =>
  isNetworkError(err) ||
  [codeOf(err), (err as Error | null)?.message].some((t) => UNAVAILABLE.test(String(t)));

/** `?` placeholders numbered `$1`, `$2`…, under a name pg prepares once per connection. */
const named = new Map<string, PgQuery>();
function conn(c: PgQueryable): Conn {
  return {
    async query(sql, values) {
      let q = named.get(sql);
      if (!q) {
        let n = 0;
        const hash = createHash('sha256').update(sql).digest('hex').slice(0, 16);
        q = { name: `websession_${hash}`, text: sql.replace(/\?/g, () => `$${++n}`) };
        named.set(sql, q);
      }
      const r = await c.query(values ? { ...q, values } : sql);
      return { rows: r.rows, changed: r.rowCount ?? 0 };
    },
  };
}

const ignore = () => {};

/** PostgreSQL on a pg Pool or Client (closed with the store when `owned`). */
export function postgres(db: PgPool | PgClient, owned: boolean, warn: Warn): Engine {
  const pool = isPgPool(db) ? db : undefined;
  // Without a listener, an idle connection's error (server restart, killed backend) kills Node.
  if (pool?.listenerCount('error') === 0) pool.on('error', warn);
  const checkout = async () => {
    const client = await pool!.connect();
    client.on('error', ignore); // a checked-out client has no listener of the pool's
    const release = (broken: boolean) => {
      client.off('error', ignore);
      client.release(broken);
    };
    return { conn: conn(client), release };
  };
  const events = db as unknown as ConnectionEvents;
  const driver = { conn: conn(db), end: () => db.end(), label: 'the pg Client', events };
  const source = sourceOf({ ...driver, checkout: pool && checkout, isUnavailable }, owned, warn);
  return {
    source,
    isUnavailable,
  };
}
