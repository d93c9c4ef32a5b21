/**
 * The one rule a store-wide lease kept in a file or a record is judged by (DiskStore's lease
 * file, ShelfStore's lease record): whatever the holder wrote, it cannot hold for ever.
 * @module
 */

/**
 * True while a lease renewed at `renewedAt` (ms) by a holder that asked for `holderTtlMs` still
 * holds against a taker whose ttl is `ttlMs`: the taker's ttl bounds the holder's (a ttl of
 * `1e308`, `Infinity` or NaN lasts no longer), and a renewal time further ahead of now than that
 * (a clock set wrong, a planted record) counts as lapsed.
 */
export function leaseHeld(
  renewedAt: number,
  holderTtlMs: number,
  ttlMs: number,
  now = Date.now(),
): boolean {
  const ttl = Math.min(holderTtlMs, ttlMs);
  const age = now - renewedAt;
  return age <= ttl && age >= -ttl;
}
