/**
 * The Redis server's clock as seen from this machine: the offset between the two, measured with
 * `TIME`, again every minute and whenever it is forgotten (a reconnect, maybe to another server).
 * RedisStore's write deadlines are in the server's clock, so that a paused server never applies a
 * write its caller gave up on.
 * @module
 */
import type { StoreError } from '../core/errors.js';
import type { Command } from './redis-client.js';

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
  /** The error a failed measure throws, for the operation `op` that needed it. */
  readonly #error: (op: string, err: unknown) => StoreError;

  constructor(error: (op: string, err: unknown) => StoreError) {
    this.#error = error;
  }

  /** Drops the last measure: the next write measures again first. */
  forget(): void {
    this.#clock = undefined;
  }

  /**
   * The offset, measured first when there is none; a measure older than a minute is renewed in
   * the background meanwhile.
   */
  async offset(op: string, command: Command): Promise<ClockOffset> {
    const clock = this.#clock;
    if (!clock) await this.#measureClock(op, command);
    else if (Date.now() - clock.at > CLOCK_REFRESH_MS)
      this.#measureClock(op, command).catch(() => {}); // meanwhile, the last measure
    return this.#clock!;
  }

  /** Measures the server's clock against this machine's with TIME (one at a time). */
  #measureClock(op: string, command: Command): Promise<void> {
    this.#measure ??= (async () => {
      const sent = Date.now();
      let reply: unknown;
      try {
        reply = await command(['TIME']);
      } catch (err) {
        throw this.#error(op, err);
      }
      const received = Date.now();
      const [seconds, micros] = reply as [string, string];
      const server = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
      this.#clock = { offset: server - (sent + received) / 2, rtt: received - sent, at: received };
    })().finally(() => {
      this.#measure = undefined;
    });
    return this.#measure;
  }
}
