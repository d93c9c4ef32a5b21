/**
 * Checks of the options object a store's constructor takes, so that a wrong type fails at once
 * with a message that names the option, rather than being read by truthiness (`{ fsync: 'false' }`
 * would turn flushing on) or reaching the file system as a bad mode.
 * @module
 */
import { ConfigError } from '../core/errors.js';

/** The options argument itself: undefined (none) or a plain object. */
export function optionsObject<T extends object>(store: string, options: T | undefined): T {
  if (options === undefined) return {} as T;
  if (options === null || typeof options !== 'object' || Array.isArray(options))
    throw new ConfigError(`${store} options must be an object, got ${describe(options)}`);
  return options;
}

/** An optional boolean option: its value, or `fallback` when it is absent. */
export function booleanOption(
  store: string,
  name: string,
  value: unknown,
  fallback: boolean,
): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean')
    throw new ConfigError(`${store} option ${name} must be true or false, got ${describe(value)}`);
  return value;
}

/** An optional file mode option (permission bits, e.g. 0o600): its value, or 0o600. */
export function fileModeOption(store: string, value: unknown): number {
  if (value === undefined) return 0o600;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0o777)
    throw new ConfigError(
      `${store} option fileMode must be permission bits from 0 to 0o777 (e.g. 0o600), got ${describe(value)}`,
    );
  if ((value & 0o600) !== 0o600)
    throw new ConfigError(
      `${store} option fileMode must let the owner read and write (0o600 at least), got 0o${value.toString(8)}`,
    );
  return value;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'an array';
  return value === null ? 'null' : typeof value === 'object' ? 'an object' : String(value);
}
