/**
 * Values that may come now or later. Stores that answer in this process (MemoryStore, DiskStore's
 * synchronous file calls) return plain values, and the request cycle stays synchronous with them:
 * no promise, microtask or timer per request.
 * @module
 */

/** A value, or a promise of it. */
export type Awaitable<T> = T | Promise<T>;

/** True when `value` is a promise (or any thenable) rather than the value itself. */
export function isPromise<T>(value: Awaitable<T>): value is Promise<T> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/** Applies `next` to the value now, or once its promise resolves. */
export function then<T, R>(value: Awaitable<T>, next: (value: T) => Awaitable<R>): Awaitable<R> {
  return isPromise(value) ? value.then(next) : next(value);
}
