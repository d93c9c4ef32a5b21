/**
 * DBStore's `update`: a read-modify-write of one row, atomic across processes. First optimistic
 * (a conditional UPDATE on the data last seen), then under the row's lock in a transaction.
 * @module
 */
import type * as S from '../../core/store.js';
import type { LastWritten } from '../written.js';
import { type Dialect, hasCode, recordOf } from './common.js';
import { type Deadline, write } from './deadline.js';
import type { SessionRows } from './rows.js';
import type { Conn } from './sql.js';

/** Transactions tried (deadlocks, lost insert races), and conditional writes before them. */
const [MAX_ATTEMPTS, OPTIMISTIC_TRIES] = [8, 3];
class RowVanished extends Error {}

/** One row's update, with what it needs of the store. */
export interface RowUpdate {
  d: Dialect;
  rows: SessionRows;
  /** What this process last wrote of each key: the basis of the optimistic write. */
  written: LastWritten;
  key: string;
  mutator: S.StoreMutator;
  expected?: S.StoredSession;
  /** After it, no write of the update applies (a delete may: it only ends a session sooner). */
  deadline?: Deadline;
}

/**
 * Optimistic: one conditional UPDATE in autocommit, which re-checks its WHERE on the latest
 * committed row, so it changes nothing when another writer got there first; then read the row
 * again and retry a few times, and only then take the locked transaction.
 */
export async function updateRow(u: RowUpdate): Promise<S.StoredSession | undefined> {
  const { d, rows, written, key, mutator, deadline } = u;
  let basis = u.expected && written.basis(key, u.expected);
  for (let tries = 0; basis && tries < OPTIMISTIC_TRIES; tries++) {
    const next = mutator(basis);
    if (!next) break; // keep or delete: the transaction decides on the locked row
    const q = rows.rewrite(d, key, next, deadline, ` AND ${d.sameData}`, [basis.data]);
    if ((await write(d.source, q, deadline)).changed > 0) {
      written.note(key, next);
      return next;
    }
    basis = await rows.read(d.source, d, key);
  }
  for (let attempt = 1; ; attempt++) {
    try {
      const stored = await transaction(u);
      written.note(key, stored);
      return stored;
    } catch (err) {
      if (attempt >= MAX_ATTEMPTS || !(err instanceof RowVanished || hasCode('retryable', err)))
        throw err;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt));
    }
  }
}

/** Reads, changes and writes the row under its lock (SQLite: in one synchronous transaction). */
async function transaction(u: RowUpdate) {
  const { d, rows, key, mutator } = u;
  if (d.transaction)
    return d.transaction((run) => {
      const current = recordOf(run(rows.select(d, key)).rows[0]);
      const next = mutator(current);
      if (next !== undefined) run(next ? rows.upsert(d, key, next) : rows.delete(d, key));
      return next === undefined ? current : (next ?? undefined);
    });
  return d.source.exclusive(async (c) => {
    await c.query('BEGIN');
    try {
      const result = await locked(c, u);
      await c.query('COMMIT');
      return result;
    } catch (err) {
      await c.query('ROLLBACK').catch(() => {});
      throw err;
    }
  });
}

async function locked(c: Conn, { d, rows, key, mutator, deadline }: RowUpdate) {
  let current = await rows.read(c, d, key, d.forUpdate);
  if (!current) {
    const created = mutator(undefined);
    if (!created) return undefined; // nothing there, nothing to write
    const insert = rows.insert(d, key, created, () => d.keep, deadline);
    if ((await write(c, insert, deadline)).changed) return created;
    // Another process inserted it since our read: its row is committed and now ours to lock.
    current = await rows.read(c, d, key, d.forUpdate);
    if (!current) throw new RowVanished('row inserted and deleted meanwhile');
  }
  const next = mutator(current);
  if (next) await write(c, rows.rewrite(d, key, next, deadline), deadline);
  else if (next === null) await c.query(...rows.delete(d, key));
  return next === undefined ? current : (next ?? undefined);
}
