/**
 * The command's options: which there are, how a mistyped one is told (with the closest known
 * one), and how a number of seconds is read.
 * @module
 */
import { parseArgs } from 'node:util';
import { closestName } from '../core/closest-name.js';
import { UsageError } from './errors.js';

/** The options given, by name. */
export type Values = Record<string, string | boolean | undefined>;

/** The command's options (every command's: each reads the ones it needs). */
const OPTIONS = {
  store: { type: 'string' },
  from: { type: 'string' },
  'from-express-session': { type: 'string' },
  to: { type: 'string' },
  user: { type: 'string' },
  cookie: { type: 'string' },
  timeout: { type: 'string' },
  jobs: { type: 'string' },
  limit: { type: 'string' },
  offset: { type: 'string' },
  json: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
} as const;

/** The options and positionals of `argv`; throws parseArgs's error (see {@link optionError}). */
export function parseOptions(argv: string[]): { values: Values; positionals: string[] } {
  return parseArgs({ args: argv, allowPositionals: true, options: OPTIONS });
}

/** A parseArgs error in one line: an unknown option with the closest known one. */
export function optionError(err: unknown): string {
  const message = (err as Error).message;
  const unknown = /^Unknown option '(-{1,2}[^']*)'/.exec(message)?.[1];
  if (unknown) {
    const known = Object.keys(OPTIONS).map((name) => `--${name}`);
    const near = closestName(unknown.replace(/=.*$/, ''), known);
    return `unknown option ${unknown}${near ? ` (did you mean ${near}?)` : ''}; websession --help lists them`;
  }
  // e.g. "Option '--store <value>' argument missing"
  return message.split('\n')[0] ?? message;
}

/** The option `--<name>` as seconds; `fallback` when it is not given (required without one). */
export function seconds(value: string | undefined, name: string, fallback?: number): number {
  if (value === undefined) {
    if (fallback === undefined) throw new UsageError(`missing --${name} <seconds>`);
    return fallback;
  }
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0)
    throw new UsageError(`--${name} must be a non-negative number of seconds`);
  return n;
}
