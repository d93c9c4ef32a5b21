/**
 * The bounded concurrency of `migrate`: several sessions copied at once.
 * @module
 */

/**
 * Runs `fn` over `items` with at most `limit` in flight; stops taking items at the first failure
 * and throws it once those in flight have ended (none is left rejected and unhandled).
 */
export async function pool<T>(
  items: AsyncIterable<T>,
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  const running = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  for await (const item of items) {
    if (failure) break;
    const p: Promise<void> = fn(item)
      .catch((error: unknown) => {
        failure ??= { error };
      })
      .finally(() => running.delete(p));
    running.add(p);
    if (running.size >= limit) await Promise.race(running);
  }
  await Promise.all(running);
  if (failure) throw failure.error;
}
