/**
 * Write deadlines the database server checks with its own clock. A server runs whatever reaches
 * it, even after the caller gave up: a statement held by the network (a stalled link, a frozen
 * proxy) past `store_timeout`, whose request was answered 503, would still apply when it
 * arrives. So each write carries the time after which it must not apply, in the server's clock,
 * and its statement applies only while the server's clock is before it (RedisStore's scripts do
 * the same with `TIME`). The offset between this machine's clock and the server's is measured
 * once when the store connects, before any write is sent, and again every minute, in the
 * background: no write waits on a round trip of its own.
 * @module
 */
import { StoreUnavailableError } from '../../core/errors.js';
import { type Dbn, type Dialect, msOf, type Query } from './common.js';
import type { Conn } from './sql.js';

/** ms a write may take when no SessionManager told the store its `store_timeout` (its default). */
const DEFAULT_TIMEOUT_MS = 2000;
/** ms between two measures of the server's clock. */
const CLOCK_REFRESH_MS = 60_000;

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

/** The database server's clock as seen from here, and how long a write may take. */
export class ServerClock {
  /** ms a write may take: the manager's `store_timeout` (Infinity: no deadline). */
  timeout = DEFAULT_TIMEOUT_MS;
  /** The server's clock less this machine's (ms), and the round trip it was measured over. */
  #clock: { offset: number; rtt: number; at: number } | undefined;
  #measuring: Promise<void> | undefined;

  /** Measures the server's clock against this machine's (one measure at a time). */
  measure(d: Dialect): Promise<void> {
    this.#measuring ??= (async () => {
      const sent = Date.now();
      const { rows } = await d.source.query(...d.deadline!.clock);
      const received = Date.now();
      const server = msOf(rows[0]?.now);
      if (!Number.isFinite(server)) throw new Error(`unreadable server time ${rows[0]?.now}`);
      this.#clock = { offset: server - (sent + received) / 2, rtt: received - sent, at: received };
    })().finally(() => {
      this.#measuring = undefined;
    });
    return this.#measuring;
  }

  /**
   * The deadline of write `op` started at `started` (ms), measured before any write is sent:
   * when its caller gives up (the timeout) less a grace for the reply's way back (a quarter of
   * the timeout, at least four round trips, at most half). Counted from the start of the call,
   * so a write that waited for the connection or the clock's measure past it is not sent at all.
   * Undefined where no write can land late (SQLite) or there is no timeout.
   */
  async deadline(d: Dialect, kind: Dbn, op: string, started: number) {
    if (!d.deadline || !Number.isFinite(this.timeout)) return undefined;
    if (!this.#clock) await this.measure(d);
    else if (Date.now() - this.#clock.at > CLOCK_REFRESH_MS) this.measure(d).catch(() => {});
    const { offset, rtt } = this.#clock!;
    const timeout = this.timeout;
    const grace = Math.min(timeout / 2, Math.max(timeout / 4, 4 * rtt));
    // The offset is known within half the round trip; a ms more for the clocks' granularity.
    const deadline = new Deadline(d, kind, op, started + timeout - grace, offset, rtt + 1);
    deadline.check();
    return deadline;
  }
}
