/**
 * Write deadlines the database server checks with its own clock. A server runs whatever reaches
 * it, even after the caller gave up: a statement held by the network (a stalled link, a frozen
 * proxy) past `store_timeout`, whose request was answered 503, would still apply when it
 * arrives. So each write carries the time after which it must not apply, in the server's clock,
 * and its statement applies only while the server's clock is before it (RedisStore's scripts do
 * the same with `TIME`), its offset from this machine's clock kept by {@link ServerClock}.
 * @module
 */
import { StoreUnavailableError } from '../../core/errors.js';
import { ServerClock, writeDeadline } from '../server-clock.js';
import { type Dbn, type Dialect, msOf, type Query } from './common.js';
import type { Conn } from './sql.js';

/** ms a write may take when no SessionManager told the store its `store_timeout` (its default). */
const DEFAULT_TIMEOUT_MS = 2000;

type Checked = NonNullable<Dialect['deadline']>;

/** One write's deadline, in this machine's clock and as the parameter the server compares. */
export class Deadline {
  readonly #sql: Checked;
  readonly #kind: Dbn;
  readonly #op: string;
  /** ms, this machine's clock: a write is not sent from then on. */
  readonly #local: number;
  /** ms before `#local` from which a write that changed nothing may have been refused. */
  readonly #doubt: number;
  /** The deadline in the server's clock, as the statement's parameter. */
  readonly params: unknown[];

  constructor(d: Dialect, kind: Dbn, op: string, local: number, offset: number, doubt: number) {
    [this.#sql, this.#kind, this.#op] = [d.deadline!, kind, op];
    [this.#local, this.#doubt] = [local, doubt];
    this.params = [d.time(Math.floor(local + offset))];
  }

  /** ` AND <the server's clock is before the deadline>`, to end an UPDATE's WHERE. */
  get and(): string {
    return ` AND ${this.#sql.before}`;
  }

  /** An INSERT's row of `placeholders`, made by the server only before the deadline. */
  row(placeholders: string): string {
    return `SELECT ${placeholders}${this.#sql.from} WHERE ${this.#sql.before}`;
  }

  /** Throws (unavailable, nothing written) once a write sent now could arrive too late. */
  check(): void {
    const now = Date.now();
    if (now < this.#local) return;
    throw new StoreUnavailableError(
      this.#kind,
      `${this.#op} failed: the database answered too late for the write to be sent before its deadline; nothing was written`,
    );
  }

  /**
   * Sends write `q` (made with this deadline) on `c`. A write that changed nothing and came back
   * about the deadline or later may have been refused for arriving late: it fails as unavailable
   * rather than read as "no such row" or "key taken", which its caller would act on.
   */
  async write(c: Conn, q: Query): Promise<{ changed: number }> {
    this.check();
    const result = await c.query(...q);
    if (result.changed === 0 && Date.now() >= this.#local - this.#doubt)
      throw new StoreUnavailableError(
        this.#kind,
        `${this.#op} failed: the write reached the database after its deadline and was not applied; nothing was written`,
      );
    return result;
  }
}

/** Sends write `q` on `c`, checked against its deadline when it has one. */
export const write = (c: Conn, q: Query, deadline: Deadline | undefined) =>
  deadline ? deadline.write(c, q) : c.query(...q);

/** How long a write may take, and the database server's clock its deadlines are put in. */
export class WriteDeadlines {
  /** ms a write may take: the manager's `store_timeout` (Infinity: no deadline). */
  timeout = DEFAULT_TIMEOUT_MS;
  readonly #clock = new ServerClock();

  /** The server's time (ms), read with the dialect's clock query. */
  static async #serverNow(d: Dialect): Promise<number> {
    const { rows } = await d.source.query(...d.deadline!.clock);
    const server = msOf(rows[0]?.now);
    if (!Number.isFinite(server)) throw new Error(`unreadable server time ${rows[0]?.now}`);
    return server;
  }

  /**
   * The deadline of write `op` started at `started` (ms), measured before any write is sent
   * ({@link writeDeadline}). Undefined where no write can land late (SQLite) or there is no
   * timeout.
   */
  async deadline(d: Dialect, kind: Dbn, op: string, started: number) {
    if (!d.deadline || !Number.isFinite(this.timeout)) return undefined;
    const { offset, rtt } = await this.#clock.offset(() => WriteDeadlines.#serverNow(d));
    const local = writeDeadline(started, this.timeout, rtt);
    // The offset is known within half the round trip; a ms more for the clocks' granularity.
    const deadline = new Deadline(d, kind, op, local, offset, rtt + 1);
    deadline.check();
    return deadline;
  }
}
