/**
 * The PostgreSQL dialect of DBStore, on a `pg` Pool or Client. `atime` holds UTC (written as an
 * ISO string with `Z`, read with `EXTRACT(EPOCH …)`), right for `TIMESTAMP` and `TIMESTAMPTZ`
 * columns whatever the connection's TimeZone. Statements are named, so each connection prepares
 * them once.
 * @module
 */
import { createHash } from 'node:crypto';
import { isNetworkError } from './common.js';
import { type Conn, type ConnectionEvents, poolSource, SqlEngine, singleSource } from './sql.js';

type PgQuery = { name?: string; text: string; values?: unknown[] };
interface PgQueryable {
  query(q: string | PgQuery): Promise<{ rows: Record<string, unknown>[]; rowCount: number | null }>;
  on(event: 'error', fn: (err: Error) => void): unknown;
  off(event: 'error', fn: (err: Error) => void): unknown;
  listenerCount(event: string): number;
}
/** The part of a `pg` Pool DBStore uses (detected structurally). */
export interface PgPool extends PgQueryable {
  connect(): Promise<PgQueryable & { release(destroy?: boolean): void }>;
  end(): Promise<void>;
  readonly totalCount: number;
}
/** The part of a connected `pg` Client DBStore uses (detected structurally). */
export interface PgClient extends PgQueryable {
  end(): Promise<void>;
  escapeIdentifier(text: string): string;
}

export const isPgPool = (db: unknown): db is PgPool =>
  typeof (db as PgPool | null)?.connect === 'function' &&
  typeof (db as PgPool).totalCount === 'number';
export const isPgClient = (db: unknown): db is PgClient =>
  typeof (db as PgClient | null)?.escapeIdentifier === 'function';

// SQLSTATE 08… connection exception, 57P0x shutdown or cannot connect now, 53300 too many connections.
const UNAVAILABLE =
  /^(08...|57P0[1-4]|53300)$|connection terminated|not queryable|timeout exceeded when trying to connect|cannot use a pool after calling end|connection refused|terminating connection/i;
const codeOf = (err: unknown) => String((err as { code?: unknown } | null)?.code);
const isUnavailable = (err: unknown) =>
  isNetworkError(err) ||
  UNAVAILABLE.test(codeOf(err)) ||
  (err instanceof Error && UNAVAILABLE.test(err.message));

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

class PostgresEngine extends SqlEngine {
  protected readonly cols = 'data, (EXTRACT(EPOCH FROM atime) * 1000)::float8 AS atime';
  protected readonly onConflictKeep = 'ON CONFLICT (session_id) DO NOTHING';
  protected readonly sameData = 'data = ?';
  protected time = (ms: number) => new Date(ms).toISOString();
  protected onConflictUpdate(columns: string[]) {
    const set = columns.map((c) => `${c} = EXCLUDED.${c}`).join(', ');
    return `ON CONFLICT (session_id) DO UPDATE SET ${set}`;
  }
  // The outer `atime < ?` is checked again on rows touched since the inner select: they stay.
  protected expire(cutoff: number, limit: number): [string, unknown[]] {
    const inner = `SELECT session_id FROM ${this.t} WHERE atime < ? LIMIT ${Math.trunc(limit)}`;
    const at = this.time(cutoff);
    return [`DELETE FROM ${this.t} WHERE session_id IN (${inner}) AND atime < ?`, [at, at]];
  }
  // to_regclass resolves the name as every statement here does (search_path).
  protected columns(): [string, unknown[]] {
    const sql = `SELECT attname AS name FROM pg_attribute WHERE attrelid = to_regclass(?) AND attnum > 0 AND NOT attisdropped`;
    return [sql, [this.t]];
  }
  /** A session-level advisory lock on a 64-bit key drawn from the table and lease names. */
  protected lock = (name: string): [string, string, unknown[]] => {
    const key = createHash('sha256').update(`${this.table}\0${name}`).digest().readBigInt64BE(0);
    const [take, give] = ['pg_try_advisory_lock', 'pg_advisory_unlock'];
    return [`SELECT ${take}(?::bigint) AS ok`, `SELECT ${give}(?::bigint)`, [String(key)]];
  };
  // 42P07 duplicate table, 42710 duplicate object, 23505 a concurrent CREATE won the catalog race.
  protected isAlreadyThere = (err: unknown) => ['42P07', '42710', '23505'].includes(codeOf(err));
  protected isDuplicate = (err: unknown) => codeOf(err) === '23505';
  protected isRetryable = (err: unknown) => ['40P01', '40001'].includes(codeOf(err));
  protected isDialectUnavailable = isUnavailable;
}

const ignore = () => {};

/**
 * The engine over a pg Pool or a connected Client (closed with the store when `owned`). A Client
 * is used as it is; once lost, the store answers unavailable (see {@link singleSource}).
 */
export function postgresEngine(
  db: PgPool | PgClient,
  table: string,
  owned: boolean,
  warn: (err: Error) => void,
): SqlEngine {
  const close = async () => void (owned && (await db.end()));
  // Unquoted identifiers fold to lower case in PostgreSQL; quoting the folded name keeps that
  // meaning and lets a table be called by a reserved word.
  const t = `"${table.toLowerCase()}"`;
  if (!isPgPool(db)) {
    const events = db as unknown as ConnectionEvents;
    const loss = { label: 'the pg Client', events, isLost: isUnavailable };
    const source = singleSource(conn(db), close, loss, warn);
    return new PostgresEngine(source, 'postgres', table, t);
  }
  // Without a listener, an idle connection's error (server restart, killed backend) kills Node.
  if (db.listenerCount('error') === 0) db.on('error', warn);
  const checkout = async () => {
    const client = await db.connect();
    client.on('error', ignore); // a checked-out client has no listener of the pool's
    const release = (broken: boolean) => {
      client.off('error', ignore);
      client.release(broken);
    };
    return { conn: conn(client), release };
  };
  return new PostgresEngine(poolSource(conn(db).query, checkout, close), 'postgres', table, t);
}
