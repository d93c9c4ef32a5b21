/**
 * ShelfStore's store-wide lease (e.g. one cleanup at a time across the processes sharing the
 * file): a record of `websession:lease` with the holder's token and expiry, taken, renewed and
 * released in write transactions, so exactly one process holds it until it lapses. An expiry
 * further away than the taker's ttl (not one this store writes) counts as lapsed: no record holds
 * the lease for ever.
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { StoreLease } from '../core/store.js';
import { leaseHeld } from './lease-held.js';

/**
 * A lease: its holder's token, when it was taken or last renewed and for how long (ms; `until`
 * is 0 once released), and when the last pass ended (StoreLease.lastPassEndedAt), kept across
 * holders.
 */
export interface ShelfLeaseRecord {
  token: string;
  until: number;
  renewed?: number;
  ttl?: number;
  ended?: number | undefined;
}

/** What a lease is taken through: its record, the store's state and its errors. */
export interface ShelfLeaseHost {
  /** Writes `next(current)` when it is not undefined, in a write transaction; the record written, if any. */
  write(
    next: (current: ShelfLeaseRecord | undefined) => ShelfLeaseRecord | undefined,
  ): Promise<ShelfLeaseRecord | undefined>;
  /** The error to throw for a failed take. */
  error(err: unknown): Promise<unknown>;
  closed(): boolean;
  /** Releases of the leases held, which the store's close() calls. */
  held: Set<() => Promise<void>>;
}

/** Takes the lease for `ttlMs`, or undefined while another holder keeps it. */
export async function takeShelfLease(
  ttlMs: number,
  host: ShelfLeaseHost,
): Promise<StoreLease | undefined> {
  const token = randomBytes(12).toString('hex');
  const { write } = host;
  /** Held unless not renewed within the holder's ttl, bounded by ours whatever it says. */
  const held = (current: ShelfLeaseRecord | undefined, now: number) => {
    if (current === undefined || current.until < now) return false;
    return leaseHeld(current.renewed ?? current.until - ttlMs, current.ttl ?? ttlMs, ttlMs, now);
  };
  const mine = (current: ShelfLeaseRecord | undefined, renewed: number | undefined) =>
    current?.token === token
      ? renewed === undefined
        ? { ...current, until: 0 }
        : { ...current, renewed, until: renewed + ttlMs }
      : undefined;
  let taken: ShelfLeaseRecord | undefined;
  try {
    taken = await write((current) => {
      const now = Date.now();
      if (held(current, now)) return undefined;
      return { token, until: now + ttlMs, renewed: now, ttl: ttlMs, ended: current?.ended };
    });
    if (!taken) return undefined;
  } catch (err) {
    throw await host.error(err);
  }
  let released: Promise<void> | undefined;
  const release = (passEndedAt?: number): Promise<void> => {
    host.held.delete(release);
    released ??= write((current) => {
      const lease = mine(current, undefined);
      return lease && passEndedAt !== undefined ? { ...lease, ended: passEndedAt } : lease;
    }).then(
      () => {},
      () => {},
    );
    return released;
  };
  host.held.add(release);
  return {
    // A time to come is no record of a pass that ended: it would put every pass off for ever.
    lastPassEndedAt:
      taken.ended !== undefined && taken.ended <= Date.now() ? taken.ended : undefined,
    // Once released (close() releases every lease) nothing more is written.
    renew: async () =>
      released === undefined &&
      !host.closed() &&
      (await write((current) => mine(current, Date.now())).then(
        (lease) => lease !== undefined,
        () => false,
      )),
    release,
  };
}
