/**
 * Lazy loading of optional peer dependencies (database drivers): a store imports its driver only
 * when it is used, and a missing driver fails with a message naming the package to install.
 * @module
 */
import { StoreError } from '../core/errors.js';

const cache = new Map<string, Promise<unknown>>();

/**
 * Imports the optional package `name` for the store `kind`, once per process.
 * @throws StoreError (code `ERR_STORE_DRIVER_MISSING`) naming the package when it is not installed
 */
export function loadOptional<T>(name: string, kind: string, load: () => Promise<T>): Promise<T> {
  let pending = cache.get(name) as Promise<T> | undefined;
  if (!pending) {
    pending = load().catch((err: unknown) => {
      cache.delete(name);
      const code = (err as NodeJS.ErrnoException | null)?.code;
      const missing = code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
      throw new StoreError(
        kind,
        missing
          ? `the ${kind} store needs the "${name}" package: npm install ${name}`
          : `cannot load the "${name}" package: ${(err as Error)?.message ?? String(err)}`,
        { cause: err, code: missing ? 'ERR_STORE_DRIVER_MISSING' : 'ERR_STORE' },
      );
    });
    cache.set(name, pending);
  }
  return pending;
}
