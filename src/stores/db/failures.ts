/**
 * What DBStore's failures say: which errors pass through as they are (the caller's mutator's, the
 * store's own), which mean the database is unavailable (503), and how each reads to the user.
 * @module
 */
import * as errors from '../../core/errors.js';
import type * as S from '../../core/store.js';
import { type Dbn, type Dialect, hasCode, isNetworkError } from './common.js';
import { Database } from './database.js';
import { LostConnection } from './sql.js';

const ENGINE_NAME = { sqlite: 'SQLite', postgres: 'PostgreSQL', mysql: 'MySQL' };
/** Operations that only read: their failure never says "refused the write". */
const READS = new Set(['get', 'keys', 'list user', 'inspect table']);
const CONNECT_FAILURE =
  /timeout exceeded when trying to connect|connect ETIMEDOUT|Connection terminated due to connection timeout/i;
/** Errors of a mutator (or of the record it returned) pass through unchanged. */
const mutatorErrors = new WeakSet<object>();

/**
 * The record of the caller's mutator (or the caller's record), checked: one to write, null to
 * delete, undefined to keep. Its errors, and a bad record's, pass through the store as they are.
 */
export function checked(fn: () => S.StoredSession | null | undefined) {
  try {
    const next = fn();
    if (next && (typeof next.data !== 'string' || !Number.isFinite(next.atime)))
      throw new TypeError(
        '[websession] a store mutator must return { data: string, atime: number }, null or undefined',
      );
    return next;
  } catch (err) {
    if (err && typeof err === 'object') mutatorErrors.add(err);
    throw err;
  }
}

/** What to do about a failure no retry mends (a driver missing or built for another Node.js). */
export function permanentFailure(err: unknown): string | undefined {
  const causes: unknown[] = [];
  for (let e = err; e && causes.length < 5; e = (e as { cause?: unknown }).cause) causes.push(e);
  if (causes.some((e) => (e as { code?: unknown }).code === 'ERR_STORE_DRIVER_MISSING'))
    return (err as Error).message.replace(/^\[websession\] (\[\w+\] )?/, '');
  const abi = causes.find((e) =>
    /NODE_MODULE_VERSION|ERR_DLOPEN_FAILED/.test(
      `${(e as { code?: unknown }).code} ${(e as Error).message}`,
    ),
  );
  if (abi)
    return `better-sqlite3 was built for another version of Node.js than this one (${process.version}): run npm rebuild better-sqlite3`;
  return undefined;
}

function errorText(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0)
    return err.errors.map(errorText).join('; ');
  if (err instanceof Error) return err.message || (err as { code?: string }).code || err.name;
  return String(err);
}

/** ` at host:port` of a connection failure, from the error or else the database's parameters. */
function whereOf(err: unknown, db: unknown): string {
  const e = err as { address?: unknown; port?: unknown; errors?: unknown[] } | null;
  const first = (e?.errors?.[0] ?? e) as { address?: unknown; port?: unknown } | null;
  if (typeof first?.address === 'string' && first.port !== undefined)
    return ` at ${first.address}:${first.port}`;
  return db instanceof Database && db.where ? ` at ${db.where}` : '';
}

/** What to say of a missing table: that it is missing and how to make it, in one sentence. */
export function noTable(t: string): string {
  return `table "${t}" does not exist (create it with createSessionTable(db, '${t}'), the option { createTable: true }, or the DDL in docs/stores.md, "The table")`;
}

/** The store whose operation failed, as its errors name it. */
export interface Failing {
  kind: Dbn;
  table: string;
  db: unknown;
  /** The dialect once made: before it, every failure is the database's unavailability. */
  dialect: Dialect | undefined;
}

/** The error operation `op` of `store` fails with when `err` was thrown. */
export function failure(store: Failing, op: string, err: unknown): Error {
  if (err instanceof errors.WebSessionError || mutatorErrors.has(err as object))
    return err as Error;
  const { kind, table: t, dialect } = store;
  const text = errorText(err);
  const unavailable = (why: string) =>
    new errors.StoreUnavailableError(kind, `${op} failed: ${why} (${text})`, { cause: err });
  if (!dialect || err instanceof LostConnection || dialect.isUnavailable(err))
    // In the user's words: a connection that could not be made says so and where; otherwise a
    // read says the database is unavailable, a write that it may also have refused the write.
    return unavailable(
      isNetworkError(err) || CONNECT_FAILURE.test(text)
        ? `cannot reach ${ENGINE_NAME[kind]}${whereOf(err, store.db)}`
        : `the database is unavailable${READS.has(op) ? '' : ' or refused the write'}`,
    );
  if (hasCode('timeout', err))
    return unavailable('the database did not finish it in time, nothing was written');
  const missing = hasCode('missingTable', err) || /no such table/i.test(text);
  const why = missing ? `: ${noTable(t)}` : ` on table "${t}": ${text}`;
  return new errors.StoreError(kind, `${op} failed${why}`, { cause: err });
}
