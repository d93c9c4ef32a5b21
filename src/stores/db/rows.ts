/**
 * The statements DBStore runs on session rows, for its table as found: with or without the
 * `user_id` column, and with the `atime` precision it has.
 * @module
 */
import type * as S from '../../core/store.js';
import { type Dialect, type Query, recordOf, USER_COLUMN } from './common.js';
import type { Deadline } from './deadline.js';
import type { Conn } from './sql.js';

/** The rows of one session table. */
export class SessionRows {
  /** Whether the table has the `user_id` column; undefined until a table is found. */
  userColumn: boolean | undefined;
  /**
   * MySQL: `atime` keeps whole seconds only (web.py's `DATETIME`): access times are written
   * rounded up to the second, so that neither a load nor cleanup finds a session idle early.
   */
  #wholeSeconds = false;

  /**
   * The INSERT of a record, ending with `tail` (given the columns written but the key); with a
   * deadline, it inserts nothing once the server's clock has passed it.
   */
  insert(
    d: Dialect,
    key: string,
    r: S.StoredSession,
    tail: (cols: string[]) => string,
    deadline?: Deadline,
  ): Query {
    const cols = ['session_id', 'atime', 'data', ...(this.userColumn ? [USER_COLUMN] : [])];
    const values = [key, this.time(d, r.atime), r.data, r.user ?? null].slice(0, cols.length);
    const marks = cols.map(() => '?').join(',');
    const row = deadline ? deadline.row(marks) : `VALUES (${marks})`;
    return [
      `INSERT INTO ${d.t} (${cols}) ${row} ${tail(cols.slice(1))}`,
      [...values, ...(deadline?.params ?? [])],
    ];
  }

  /** The UPDATE of a record's row (where `extra` holds too, and the deadline when given). */
  rewrite(
    d: Dialect,
    key: string,
    r: S.StoredSession,
    deadline?: Deadline,
    extra = '',
    more: unknown[] = [],
  ): Query {
    const [, values] = this.insert(d, key, r, () => '');
    // The columns of the INSERT but the key: atime, data, and user_id when the table has it.
    const set = ['atime = ?', 'data = ?', `${USER_COLUMN} = ?`].slice(0, values.length - 1);
    const head = `UPDATE ${d.t} SET ${set}`;
    return this.#onRow(head, [...values.slice(1), key, ...more], deadline, extra);
  }

  /** The UPDATE of a row's access time only. */
  touch = (d: Dialect, key: string, atime: number, deadline?: Deadline): Query =>
    this.#onRow(`UPDATE ${d.t} SET atime = ?`, [this.time(d, atime), key], deadline);

  /** `head` on the row of a key, where `extra` holds too (`values`: head's, the key, extra's). */
  #onRow(head: string, values: unknown[], deadline?: Deadline, extra = ''): Query {
    const sql = `${head} WHERE session_id = ?${extra}${deadline?.and ?? ''}`;
    return [sql, [...values, ...(deadline?.params ?? [])]];
  }

  /** An access time as the table keeps it. */
  time = (d: Dialect, ms: number) => d.time(this.#wholeSeconds ? Math.ceil(ms / 1000) * 1000 : ms);

  select = (d: Dialect, key: string, lock = ''): Query => [
    `SELECT ${d.cols} FROM ${d.t} WHERE session_id = ?${lock}`,
    [key],
  ];
  delete = (d: Dialect, key: string): Query => [`DELETE FROM ${d.t} WHERE session_id = ?`, [key]];
  upsert = (d: Dialect, key: string, r: S.StoredSession, deadline?: Deadline) =>
    this.insert(d, key, r, d.upsert, deadline);
  read = async (c: Conn, d: Dialect, key: string, lock = '') =>
    recordOf((await c.query(...this.select(d, key, lock))).rows[0]);

  /**
   * Looks at the table's columns: whether it has `user_id` (undefined when there is no table,
   * yet), and how precisely it keeps `atime`.
   */
  async inspect(d: Dialect): Promise<boolean | undefined> {
    const { rows } = await d.source.query(...d.columns);
    const names = rows.map((r) => String(r.name).toLowerCase());
    this.#wholeSeconds = rows.some(
      (r) => /^atime$/i.test(String(r.name)) && Number(r.fraction ?? -1) === 0,
    );
    return names.length === 0 ? undefined : names.includes(USER_COLUMN);
  }
}
