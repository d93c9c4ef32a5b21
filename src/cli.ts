#!/usr/bin/env node
/**
 * The `websession` command: inspect and manage the sessions of any store URL.
 * Exit codes: 0 done, 1 failed (store unreachable, verification mismatch), 2 usage error
 * (bad arguments or store URL), 3 not found (unknown session or user).
 * @module
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { migrateFromExpressSession } from './cli/migrate-express-session.js';
import { underCleanupLease } from './core/cleanup-schedule.js';
import { closestName } from './core/closest-name.js';
import { decodePayload, type SessionPayload } from './core/codec.js';
import { verifyCookieValue } from './core/cookie.js';
import { ConfigError, UnsupportedError } from './core/errors.js';
import { isValidSessionId, storeKey } from './core/id.js';
import type { Store, StoredSession } from './core/store.js';
import { storeFromUrl } from './stores/url.js';

/** Exit codes of the command. */
export const EXIT = { ok: 0, failed: 1, usage: 2, notFound: 3 } as const;

const USAGE = `usage: websession <command> [options]
       websession --version

commands:
  stats   --store <url> [--json]             count, oldest and newest access, bytes
  list    --store <url> [--user <id>] [--limit N] [--offset N] [--json]
                                             store keys (or a user's sessions), paged
  show    --store <url> <key> | --cookie -   one session's data, as JSON (--cookie -: the
                                             cookie value on stdin, or WEBSESSION_COOKIE)
  kill    --store <url> <key> | --user <id>  delete one session, or all of a user's
  cleanup --store <url> --timeout <seconds> [--dry-run]
                                             delete sessions idle longer than that
  migrate --from <url> --to <url> [--timeout <seconds>] [--jobs N]
                                             copy every live session; resumable, verified
  migrate --from-express-session <module> --to <url> [--jobs N]
                                             move every express-session session (the module
                                             exports its store and secret); resumable

store URLs: memory:, disk:./sessions, sqlite:./sessions.db, postgres://…, mysql://…,
            shelf:./sessions.shelf, redis://… (?connectTimeout=<ms>, default 1000 here);
            cookie: holds nothing on the server, so every command refuses it
Only migrate --to creates a folder, file or table; every other store must exist.
exit codes: 0 done, 1 failed, 2 usage error, 3 not found`;

class UsageError extends Error {}
class NotFoundError extends Error {}

interface Io {
  out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  err: NodeJS.WritableStream;
  /** Where `--cookie -` reads the cookie value (default: the process's stdin). */
  in?: NodeJS.ReadableStream;
}

/** A value as JSON prints it: Maps as objects, Sets as arrays, BigInts as strings (Dates as ISO). */
function jsonValue(_key: string, value: unknown): unknown {
  if (value instanceof Map) return Object.fromEntries(value);
  if (value instanceof Set) return [...value];
  if (typeof value === 'bigint') return value.toString();
  return value;
}

/** Writes `value` as JSON: indented, or on one line with `--json` (for scripts). */
function writeJson(io: Io, value: unknown, oneLine: boolean): void {
  io.out.write(`${JSON.stringify(value, jsonValue, oneLine ? undefined : 2)}\n`);
}

/** A progress bar on a terminal; nothing when the output is piped (the summary says it all). */
class Progress {
  readonly #io: Io;
  readonly #label: string;
  readonly #tty: boolean;
  #last = 0;
  /** The latest state not drawn yet (updates come faster than they are drawn): done() draws it. */
  #pending: [number, number | undefined, string] | undefined;
  constructor(io: Io, label: string) {
    this.#io = io;
    this.#label = label;
    this.#tty = Boolean(io.out.isTTY);
  }
  update(done: number, total?: number, extra = ''): void {
    if (!this.#tty) return;
    const now = Date.now();
    if (now - this.#last < 100 && done !== total) {
      this.#pending = [done, total, extra];
      return;
    }
    this.#pending = undefined;
    this.#last = now;
    const width = 30;
    let bar: string;
    if (total && total > 0) {
      const filled = Math.min(width, Math.round((done / total) * width));
      bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${Math.floor((done / total) * 100)}%`;
    } else {
      bar = `${done}`;
    }
    this.#io.out.write(`\r${this.#label} ${bar}${extra ? ` ${extra}` : ''}\u001b[K`);
  }
  done(): void {
    if (!this.#tty) return;
    if (this.#pending) {
      this.#last = 0;
      this.update(...this.#pending);
    }
    this.#io.out.write('\n');
  }
}

/** A `cleanup --timeout` below this many seconds is said out loud before it runs. */
const TINY_TIMEOUT = 60;

/** How often `cleanup` looks again while another process holds the store's cleanup lease. */
const LEASE_POLL_MS = 1000;

/** ms to wait for a server's connection, unless the store URL says (`?connectTimeout=`). */
const CONNECT_TIMEOUT = 1000;

/**
 * Opens a store URL. Only the destination of `migrate` is created when missing (`create`); any
 * other missing folder, file or table is an error, and nothing is made.
 */
async function openStore(url: string | undefined, flag: string, create = false): Promise<Store> {
  if (!url) throw new UsageError(`missing ${flag} <store-url>`);
  if (/^cookie:/i.test(url))
    throw new UsageError(
      create
        ? "cannot migrate into cookie: (CookieStore keeps each session in its browser's cookie; a server cannot hand sessions to browsers): keep a server store"
        : "cookie: (CookieStore) keeps each session in its browser's cookie: the server has no sessions to read, list, kill or clean up",
    );
  try {
    return (await storeFromUrl(url, { create, connectTimeout: CONNECT_TIMEOUT })) as Store; // cookie: is refused above
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(userMessage(err));
    throw err;
  }
}

/**
 * An error in the user's words: without the \`[websession] [kind] <operation> failed:\` of a log
 * line, e.g. "cannot reach PostgreSQL at 127.0.0.1:5432 (connect ECONNREFUSED …)".
 */
function userMessage(err: unknown): string {
  const message = (err as Error | null)?.message ?? String(err);
  return message
    .replace(/^\[websession\] /, '')
    .replace(/^\[[a-z]+\] /, '')
    .replace(/^[a-z]+(?: [a-z]+)? failed: /, '');
}

/** The package's version, from its package.json (next to dist/ and src/). */
function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

function decode(record: StoredSession): SessionPayload | undefined {
  try {
    return decodePayload(record.data);
  } catch {
    return undefined;
  }
}

function seconds(value: string | undefined, name: string, fallback?: number): number {
  if (value === undefined) {
    if (fallback === undefined) throw new UsageError(`missing --${name} <seconds>`);
    return fallback;
  }
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0)
    throw new UsageError(`--${name} must be a non-negative number of seconds`);
  return n;
}

/**
 * The cookie value `show` and `kill` look a session up by: `--cookie -` reads it from stdin, and
 * WEBSESSION_COOKIE holds it when no key is given; both keep a live cookie out of the process
 * list, where `--cookie <value>` puts it (still accepted, with a warning).
 */
async function cookieArg(
  values: Values,
  positional: string | undefined,
  io: Io,
): Promise<string | undefined> {
  const given = values.cookie as string | undefined;
  if (given === '-') {
    let text = '';
    for await (const chunk of io.in ?? process.stdin) text += String(chunk);
    return text.trim();
  }
  if (given !== undefined) {
    io.err.write(
      'websession: warning: a cookie on the command line is visible in the process list; use --cookie - (stdin) or WEBSESSION_COOKIE\n',
    );
    return given;
  }
  return positional === undefined ? process.env.WEBSESSION_COOKIE || undefined : undefined;
}

function keyArg(positional: string | undefined, cookie: string | undefined): string {
  if (cookie !== undefined) {
    const verified = verifyCookieValue(cookie, []) ?? verifyCookieValue(cookie.split('.')[0], []);
    if (!verified)
      throw new UsageError('--cookie must be a session cookie value (64 hex characters)');
    return storeKey(verified.id);
  }
  if (!positional)
    throw new UsageError(
      'missing <key> (a store key, as `list` prints), --cookie - (its cookie on stdin) or WEBSESSION_COOKIE',
    );
  if (!isValidSessionId(positional))
    throw new UsageError(`not a store key: ${JSON.stringify(positional)}`);
  return positional;
}

async function count(store: Store): Promise<number> {
  let n = 0;
  for await (const _ of store.keys()) n++;
  return n;
}

/** Sessions `migrate` copies at once. */
const MIGRATE_IN_FLIGHT = 64;

/**
 * Runs `fn` over `items` with at most `limit` in flight; stops taking items at the first failure
 * and throws it once those in flight have ended (none is left rejected and unhandled).
 */
async function pool<T>(
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

type Values = Record<string, string | boolean | undefined>;

async function stats(values: Values, io: Io): Promise<void> {
  const store = await openStore(values.store as string | undefined, '--store');
  try {
    let n = 0;
    let bytes = 0;
    let oldest = Number.POSITIVE_INFINITY;
    let newest = 0;
    let corrupt = 0;
    const progress = new Progress(io, 'reading');
    for await (const key of store.keys()) {
      const record = await store.get(key);
      if (!record) continue;
      n++;
      bytes += Buffer.byteLength(record.data);
      oldest = Math.min(oldest, record.atime);
      newest = Math.max(newest, record.atime);
      if (!decode(record)) corrupt++;
      progress.update(n);
    }
    progress.done();
    if (values.json) {
      const iso = (t: number) => (n ? new Date(t).toISOString() : null);
      const summary = {
        sessions: n,
        oldestAccess: iso(oldest),
        newestAccess: iso(newest),
        bytes,
        corrupt,
      };
      writeJson(io, summary, true);
      return;
    }
    const when = (t: number) => (n ? new Date(t).toISOString() : '-');
    io.out.write(
      `sessions: ${n}\noldest access: ${when(oldest)}\nnewest access: ${when(newest)}\nbytes: ${bytes}\ncorrupt: ${corrupt}\n`,
    );
  } finally {
    await store.close();
  }
}

async function list(values: Values, io: Io): Promise<void> {
  const store = await openStore(values.store as string | undefined, '--store');
  const limit = values.limit === undefined ? 100 : Number(values.limit);
  const offset = values.offset === undefined ? 0 : Number(values.offset);
  if (!Number.isInteger(limit) || limit < 1 || !Number.isInteger(offset) || offset < 0) {
    throw new UsageError('--limit must be a positive integer and --offset a non-negative one');
  }
  try {
    if (typeof values.user === 'string') {
      if (!store.userSessions)
        throw new UnsupportedError(store.kind, 'this store keeps no user index');
      const rows: {
        key: string;
        created: string;
        lastAccess: string;
        ip?: string;
        userAgent?: string;
      }[] = [];
      for (const key of await store.userSessions(values.user)) {
        const record = await store.get(key);
        const payload = record && decode(record);
        if (!record || !payload || payload.meta.user !== values.user) continue;
        rows.push({
          key,
          created: new Date(payload.meta.created).toISOString(),
          lastAccess: new Date(record.atime).toISOString(),
          ip: payload.meta.ip,
          userAgent: payload.meta.ua,
        });
      }
      if (rows.length === 0)
        throw new NotFoundError(`no sessions for user ${JSON.stringify(values.user)}`);
      const page = rows.slice(offset, offset + limit);
      if (values.json) writeJson(io, page, true);
      else
        for (const r of page)
          io.out.write(
            `${r.key}\tcreated ${r.created}\tlast ${r.lastAccess}\tip ${r.ip ?? '-'}\tua ${r.userAgent ?? '-'}\n`,
          );
      return;
    }
    const keys: string[] = [];
    let i = 0;
    for await (const key of store.keys()) {
      if (i++ < offset) continue;
      if (i > offset + limit) break;
      if (values.json) keys.push(key);
      else io.out.write(`${key}\n`);
    }
    if (values.json) writeJson(io, keys, true);
  } finally {
    await store.close();
  }
}

async function show(values: Values, positionals: string[], io: Io): Promise<void> {
  const key = keyArg(positionals[0], await cookieArg(values, positionals[0], io));
  const store = await openStore(values.store as string | undefined, '--store');
  try {
    const record = await store.get(key);
    if (!record) throw new NotFoundError(`no session with key ${key}`);
    const payload = decode(record);
    if (!payload) throw new Error(`session ${key} is corrupt: ${record.data.slice(0, 80)}`);
    const session = {
      key,
      created: new Date(payload.meta.created),
      lastAccess: new Date(record.atime),
      ip: payload.meta.ip ?? null,
      userAgent: payload.meta.ua ?? null,
      user: payload.meta.user ?? null,
      data: payload.data,
      flash: payload.flash ?? null,
    };
    writeJson(io, session, Boolean(values.json));
  } finally {
    await store.close();
  }
}

async function kill(values: Values, positionals: string[], io: Io): Promise<void> {
  const store = await openStore(values.store as string | undefined, '--store');
  try {
    if (typeof values.user === 'string') {
      if (!store.userSessions)
        throw new UnsupportedError(store.kind, 'this store keeps no user index');
      let n = 0;
      for (const key of await store.userSessions(values.user)) {
        const record = await store.get(key);
        if (!record || decode(record)?.meta.user !== values.user) continue;
        await store.delete(key);
        n++;
      }
      if (n === 0) throw new NotFoundError(`no sessions for user ${JSON.stringify(values.user)}`);
      io.out.write(`killed ${n} session(s) of user ${values.user}\n`);
      return;
    }
    const key = keyArg(positionals[0], await cookieArg(values, positionals[0], io));
    if (!(await store.get(key))) throw new NotFoundError(`no session with key ${key}`);
    await store.delete(key);
    io.out.write(`killed ${key}\n`);
  } finally {
    await store.close();
  }
}

async function cleanup(values: Values, io: Io): Promise<void> {
  const timeout = seconds(values.timeout as string | undefined, 'timeout');
  const store = await openStore(values.store as string | undefined, '--store');
  try {
    if (store.capabilities.nativeTtl) {
      io.out.write(`${store.kind} expires sessions by itself (TTL): nothing to clean\n`);
      return;
    }
    if (values['dry-run']) {
      const cutoff = Date.now() - timeout * 1000;
      let total = 0;
      let idle = 0;
      for await (const key of store.keys()) {
        const record = await store.get(key);
        if (!record) continue;
        total++;
        if (record.atime < cutoff) idle++;
      }
      io.out.write(
        `would remove ${idle} of ${total} session(s) (idle more than ${timeout} s); nothing was deleted\n`,
      );
      return;
    }
    if (timeout < TINY_TIMEOUT)
      io.err.write(
        `websession: --timeout ${timeout} removes every session idle more than ${timeout} s, also ones in use right now (--dry-run counts them first)\n`,
      );
    const progress = new Progress(io, 'cleanup');
    let tempRemoved = 0;
    const pass = () =>
      store.cleanup(timeout, (p) => {
        tempRemoved = p.tempRemoved ?? 0;
        progress.update(p.scanned, p.total, `removed ${p.removed}`);
      });
    // One pass at a time per store: while a server sharing the store runs one, wait for it.
    let done = await underCleanupLease(store, pass);
    if (!done)
      io.err.write('another process is running a cleanup pass on this store: waiting for it…\n');
    while (!done) {
      await new Promise((resolve) => setTimeout(resolve, LEASE_POLL_MS));
      done = await underCleanupLease(store, pass);
    }
    progress.done();
    io.out.write(
      `removed ${done.event.removed} expired session(s)${tempRemoved ? ` and ${tempRemoved} temp file(s) left by interrupted writes` : ''} in ${(done.event.ms / 1000).toFixed(1)} s\n`,
    );
  } finally {
    await store.close();
  }
}

async function migrate(values: Values, io: Io): Promise<void> {
  const timeout = seconds(values.timeout as string | undefined, 'timeout', 86400);
  const jobs = values.jobs === undefined ? MIGRATE_IN_FLIGHT : Number(values.jobs);
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 1024) {
    throw new UsageError('--jobs must be an integer from 1 to 1024 (sessions copied at once)');
  }
  const fromExpressSession = values['from-express-session'];
  if (typeof fromExpressSession === 'string')
    return migrateFromExpressSession(fromExpressSession, values.to as string | undefined, jobs, {
      out: io.out,
      err: io.err,
      openDestination: (url) => openStore(url, '--to', true),
      progress: (label) => new Progress(io, label),
      pool,
      usage: (message) => new UsageError(message),
    });
  const from = await openStore(values.from as string | undefined, '--from');
  let to: Store | undefined;
  try {
    to = await openStore(values.to as string | undefined, '--to', true);
    // Reach the destination (its driver, its server) before reading anything from the source.
    await to.get(storeKey('websession migrate probe'));
  } catch (err) {
    await from.close();
    await to?.close();
    throw err;
  }
  try {
    const started = Date.now();
    const cutoff = started - timeout * 1000;
    const total = await count(from);
    const progress = new Progress(io, 'migrate');
    let done = 0;
    let copied = 0;
    let skipped = 0;
    let expired = 0;
    const live: string[] = [];
    // Ctrl-C: say how far it got; every session copied is in the destination, and a rerun skips it.
    const interrupted = () => {
      progress.done();
      io.err.write(
        `websession: migrate interrupted after ${done} of ${total} session(s) (${copied} copied); run the same command again to resume: what is copied stays and is skipped\n`,
      );
      process.exit(130);
    };
    process.once('SIGINT', interrupted);
    process.once('SIGTERM', interrupted);
    // Each key is read from the source and written to the destination by one of 64 workers, so
    // reads of some overlap writes of others (the source's and destination's latencies add up
    // per key, not per run).
    await pool(from.keys(), jobs, async (key) => {
      const record = await from.get(key);
      done++;
      if (!record || record.atime < cutoff) {
        if (record) expired++;
        progress.update(done, total);
        return;
      }
      live.push(key);
      const user = decode(record)?.meta.user;
      // Resumable: a session already copied (same data, same access give or take the
      // destination's time precision: MySQL DATETIME keeps seconds) or newer in the destination
      // (an app already writing there) is left as it is, decided under the destination's lock.
      let wrote = false;
      await to.update(key, (current) => {
        wrote = !(
          current &&
          (current.atime > record.atime ||
            (current.data === record.data && current.atime > record.atime - 1000))
        );
        return wrote ? { data: record.data, atime: record.atime, user } : undefined;
      });
      if (wrote) copied++;
      else skipped++;
      progress.update(done, total);
    });
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    progress.done();
    // Verify: every live source session is in the destination, by one pass over the
    // destination's keys (not one read per session). On a terminal the bar says so.
    const verifying = new Progress(io, 'verify');
    const wanted = new Set(live);
    let found = 0;
    verifying.update(0, live.length);
    for await (const key of to.keys()) {
      if (wanted.delete(key)) verifying.update(++found, live.length);
    }
    verifying.done();
    const missing = wanted.size;
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    io.out.write(
      `migrated ${live.length} live session(s) of ${total} (${copied} copied, ${skipped} already there, ${expired} expired skipped) in ${secs} s\n`,
    );
    if (missing > 0)
      throw new Error(`verification failed: ${missing} live session(s) missing in the destination`);
    io.out.write(`verified: all ${live.length} live session(s) are in the destination\n`);
  } finally {
    await from.close();
    await to.close();
  }
}

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

/** A parseArgs error in one line: an unknown option with the closest known one. */
function optionError(err: unknown): string {
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

/** Runs the command with `argv` (without node and script); returns the exit code. */
export async function main(
  argv: string[],
  io: Io = { out: process.stdout, err: process.stderr },
): Promise<number> {
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: OPTIONS });
  } catch (err) {
    io.err.write(`websession: ${optionError(err)}\n`);
    return EXIT.usage;
  }
  const [command, ...rest] = parsed.positionals;
  if (parsed.values.version) {
    io.out.write(`${version()}\n`);
    return EXIT.ok;
  }
  if (parsed.values.help || !command) {
    // Asked for (`--help`): on stdout, so `websession --help | less` shows it. Missing: on stderr.
    (parsed.values.help ? io.out : io.err).write(`${USAGE}\n`);
    return parsed.values.help ? EXIT.ok : EXIT.usage;
  }
  try {
    const v = parsed.values;
    const commands: Record<string, () => Promise<void>> = {
      stats: () => stats(v, io),
      list: () => list(v, io),
      show: () => show(v, rest, io),
      kill: () => kill(v, rest, io),
      cleanup: () => cleanup(v, io),
      migrate: () => migrate(v, io),
    };
    const run = Object.hasOwn(commands, command) ? commands[command] : undefined;
    if (!run) throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    await run();
    return EXIT.ok;
  } catch (err) {
    if (err instanceof UsageError) {
      io.err.write(`websession: ${err.message}\n`);
      return EXIT.usage;
    }
    if (err instanceof NotFoundError) {
      io.err.write(`websession: ${err.message}\n`);
      return EXIT.notFound;
    }
    io.err.write(`websession: ${userMessage(err)}\n`);
    return EXIT.failed;
  }
}

const entry = process.argv[1] ?? '';
if (/(^|[/\\])(cli\.[jt]s|websession)$/.test(entry)) {
  // Output piped into `head` and closed early is not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  // Exit once the output is written, without waiting for a driver's timers (a Redis client's
  // reconnect, a socket's close timeout) to run out after the stores were closed.
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
    process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
  });
}
