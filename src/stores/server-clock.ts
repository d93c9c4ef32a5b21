/**
 * A database server's clock as seen from this machine, for write deadlines the server checks
 * with its own clock (RedisStore's scripts, DBStore's statements): a server runs whatever reaches
 * it, even a write held by the network past the moment its caller gave up, unless the write says
 * until when it may apply. The offset between the two clocks is measured with one query, before
 * the first write, and again every minute in the background: no write waits on a round trip of
 * its own.
 * @module
 */

/** ms between two measures of the offset between this machine's clock and the server's. */
const CLOCK_REFRESH_MS = 60_000;

/** The server's clock less this machine's (ms), and the round trip it was measured over. */
export interface ClockOffset {
  offset: number;
  rtt: number;
}

export class ServerClock {
  #clock: (ClockOffset & { at: number }) | undefined;
  #measure: Promise<void> | undefined;

  /** Drops the last measure (a reconnect, maybe to another server): the next write measures. */
  forget(): void {
    this.#clock = undefined;
  }

  /**
   * The offset, measured first with `serverNow` (the server's time, ms) when there is none; a
   * measure older than a minute is renewed in the background meanwhile. One measure at a time.
   */
  async offset(serverNow: () => Promise<number>): Promise<ClockOffset> {
    const clock = this.#clock;
    if (!clock) await this.#measured(serverNow);
    else if (Date.now() - clock.at > CLOCK_REFRESH_MS) this.#measured(serverNow).catch(() => {});
    return this.#clock!;
  }

  #measured(serverNow: () => Promise<number>): Promise<void> {
    this.#measure ??= (async () => {
      const sent = Date.now();
      const server = await serverNow();
      const received = Date.now();
      this.#clock = { offset: server - (sent + received) / 2, rtt: received - sent, at: received };
    })().finally(() => {
      this.#measure = undefined;
    });
    return this.#measure;
  }
}

/**
 * The time (ms, this machine's clock) after which a write started at `started` must not apply:
 * when its caller gives up (`timeout`) less a grace for the reply's way back (a quarter of the
 * timeout, at least four round trips, at most half). Counted from the start of the call, so a
 * write that waited for its connection or the clock's measure past it is not sent at all.
 */
export function writeDeadline(started: number, timeout: number, rtt: number): number {
  return started + timeout - Math.min(timeout / 2, Math.max(timeout / 4, 4 * rtt));
}
