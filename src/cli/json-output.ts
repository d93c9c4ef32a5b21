/**
 * The JSON a command prints (`show`, and every command's `--json`).
 * @module
 */
import type { Io } from './io.js';

/** A value as JSON prints it: Maps as objects, Sets as arrays, BigInts as strings (Dates as ISO). */
function jsonValue(_key: string, value: unknown): unknown {
  if (value instanceof Map) return Object.fromEntries(value);
  if (value instanceof Set) return [...value];
  if (typeof value === 'bigint') return value.toString();
  return value;
}

/** Writes `value` as JSON: indented, or on one line with `--json` (for scripts). */
export function writeJson(io: Io, value: unknown, oneLine: boolean): void {
  io.out.write(`${JSON.stringify(value, jsonValue, oneLine ? undefined : 2)}\n`);
}
