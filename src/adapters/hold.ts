/**
 * Commit-before-headers for `node:http` responses (used by the node and Express adapters).
 *
 * The first `writeHead`, `write`, `end` or `flushHeaders` of the application starts the commit.
 * When the commit answers at once (a store in this process), the call goes straight on with the
 * Set-Cookie header added: nothing is queued and no promise is made. Otherwise the call and every
 * following one are queued while the session commits, then the Set-Cookie header is added and
 * the calls are replayed in order on the real methods. If the commit fails, the response is
 * replaced by the error answer (503 for a store outage), and later writes of the application
 * are discarded.
 * @module
 */
import { ServerResponse } from 'node:http';
import { type Awaitable, isPromise } from '../core/awaitable.js';
import { addResponseCacheHeaders } from '../core/cache-headers.js';
import type { ErrorAnswer } from './common.js';

/**
 * The outcome of a commit: a Set-Cookie value to add (and whether the handler read the session,
 * for `Vary: Cookie`), or an answer to send instead.
 */
export type CommitOutcome =
  | { setCookie?: string | undefined; read?: boolean; answer?: undefined }
  | { answer: ErrorAnswer; setCookie?: undefined; read?: undefined };

const HELD = ['writeHead', 'write', 'end', 'flushHeaders'] as const;
type Held = (typeof HELD)[number];
type Method = (this: ServerResponse, ...args: unknown[]) => unknown;

/** Adds a Set-Cookie header to a response, keeping the ones the application set. */
export function appendSetCookie(res: ServerResponse, value: string): void {
  const prev = res.getHeader('set-cookie');
  if (prev === undefined) res.setHeader('Set-Cookie', value);
  else res.setHeader('Set-Cookie', [...(Array.isArray(prev) ? prev : [String(prev)]), value]);
}

/** Adds the session's Set-Cookie and cache headers (Cache-Control, Vary) to a response. */
function addSessionHeaders(res: ServerResponse, cookie: string | undefined, read: boolean): void {
  if (cookie) appendSetCookie(res, cookie);
  addResponseCacheHeaders(res, cookie, read);
}

/**
 * Sends an error answer on a response whose headers are not sent yet, instead of whatever headers
 * it has; with `keepCookies`, the Set-Cookie values already set (the session's) stay.
 */
export function sendAnswer(res: ServerResponse, answer: ErrorAnswer, keepCookies = false): void {
  if (res.headersSent || res.writableEnded) return;
  for (const name of res.getHeaderNames()) {
    if (!(keepCookies && name === 'set-cookie')) res.removeHeader(name);
  }
  for (const [name, value] of Object.entries(answer.headers)) res.setHeader(name, value);
  if (answer.setCookie) appendSetCookie(res, answer.setCookie);
  res.setHeader('Content-Length', Buffer.byteLength(answer.body));
  res.statusCode = answer.status;
  res.end(answer.body);
}

/** The headers given to `writeHead` as [name, value] pairs, whichever of its three forms. */
function headerEntries(headers: object): [string, unknown][] {
  if (!Array.isArray(headers)) return Object.entries(headers);
  if (headers.length > 0 && Array.isArray(headers[0])) return headers as [string, unknown][];
  const pairs: [string, unknown][] = [];
  for (let k = 0; k + 1 < headers.length; k += 2) pairs.push([String(headers[k]), headers[k + 1]]);
  return pairs;
}

/**
 * True when headers given to `writeHead` name one the session adds or merges with (Set-Cookie,
 * Vary, Cache-Control), or come as an array. Others can stay in the call: once a header was set,
 * node applies them with `setHeader` over the ones set before, which they do not name.
 */
function namesSessionHeader(headers: object): boolean {
  if (Array.isArray(headers)) return true;
  for (const name in headers) {
    const lower = name.toLowerCase();
    if (lower === 'set-cookie' || lower === 'vary' || lower === 'cache-control') return true;
  }
  return false;
}

/**
 * Applies the headers given to `writeHead(status, [message], headers)` with `setHeader`, as Node
 * itself does once any header was set, keeping every value of a name given more than once; so
 * that the session cookie can then be appended to the application's own Set-Cookie values.
 * Returns the arguments without the headers; as they came when the headers name none of the
 * session's.
 */
function moveWriteHeadHeaders(res: ServerResponse, args: unknown[]): unknown[] {
  const i = args.findIndex((a) => typeof a === 'object' && a !== null);
  if (i < 0 || !namesSessionHeader(args[i] as object)) return args;
  const grouped = new Map<string, { name: string; values: unknown[] }>();
  for (const [name, value] of headerEntries(args[i] as object)) {
    const lower = name.toLowerCase();
    const entry = grouped.get(lower) ?? { name, values: [] };
    entry.values.push(...(Array.isArray(value) ? value : [value]));
    grouped.set(lower, entry);
  }
  for (const { name, values } of grouped.values()) {
    res.setHeader(name, values.length === 1 ? String(values[0]) : values.map(String));
  }
  return args.slice(0, i);
}

const INTERNAL_ERROR: ErrorAnswer = {
  status: 500,
  headers: { 'Content-Type': 'text/plain; charset=utf-8' },
  body: 'internal server error',
};

/** Where a plain held response keeps its state (a symbol: no clash with the application's fields). */
const HOLD = Symbol('websession.hold');

/** A plain response while held: its own held methods and its hold. */
type PlainHeld = Record<Held, Method> & { [HOLD]?: Hold };

/** Where a plain response's real methods are. */
const PLAIN = ServerResponse.prototype as unknown as Record<Held, Method>;

/**
 * The holds of framework responses (Express swaps each response's prototype): kept here rather
 * than on the response, until released, or swept once closed. Adding properties to an object
 * whose prototype was swapped takes V8 off its fast path (about 17 µs a request, against 0.1 µs
 * on a plain response); a WeakMap instead costs more in garbage collection than it saves.
 */
const framed = new Map<ServerResponse, Hold>();

/** The size of {@link framed} at which the next framework hold sweeps it first. */
let sweepAt = 256;

/**
 * Forgets the holds of closed responses that will never be released: one whose client went away
 * before its commit started (its handler may still end it, and commit, until a sweep comes), or
 * one whose writes are discarded after an error answer. A hold whose commit is running stays:
 * its release removes it. Run when the map has doubled since the last sweep (at least 256
 * holds), so it costs O(1) a request; a listener on each response's `close` instead costs
 * several µs a request.
 */
function sweepClosed(): void {
  for (const [res, hold] of framed) {
    if ((res.closed || res.destroyed) && (!hold.started || hold.discarding)) framed.delete(res);
  }
  sweepAt = Math.max(256, framed.size * 2);
}

/** How many framework responses are held now (for tests: closed ones must not pile up). */
export function heldFrameworkResponses(): number {
  return framed.size;
}

/** What a patched framework prototype had of its own before the held methods replaced them. */
const patchedOriginals = new Map<object, Partial<Record<Held, Method>>>();

/** The hold of `res`, if it is held. */
function holdOf(res: object): Hold | undefined {
  return (res as { [HOLD]?: Hold })[HOLD] ?? framed.get(res as ServerResponse);
}

/**
 * The real method `name` of `res`: the first one up its prototype chain, above the response
 * itself, that is not a held one. A method of the response's own is a wrapper that middleware
 * put there (compression, on-headers, express-session wrap `end` and `writeHead` so), and it
 * calls the held method: taking it as the real one would call it back for ever.
 */
function original(res: object, name: Held): Method {
  // A plain response has the held methods as its own: the real ones are node's.
  if ((res as PlainHeld)[HOLD] !== undefined) return PLAIN[name];
  for (
    let o = Object.getPrototypeOf(res) as object | null;
    o !== null;
    o = Object.getPrototypeOf(o)
  ) {
    const saved = patchedOriginals.get(o);
    if (saved) {
      const own = saved[name];
      if (own) return own;
      continue;
    }
    if (Object.hasOwn(o, name)) {
      const m = (o as Record<Held, Method>)[name];
      if (m !== HELD_METHODS[name] && m !== DISCARD[name]) return m;
    }
  }
  throw new TypeError(`[websession] a response without ${name}()`);
}

/** The state of one held response. */
class Hold {
  readonly res: ServerResponse;
  readonly commit: () => Awaitable<CommitOutcome>;
  /** Calls made while an asynchronous commit runs, replayed once it lands. */
  queue: [Held, unknown[]][] | undefined;
  /** The commit was started. */
  started = false;
  /** Settles when the response is released (undefined: released at once). */
  settled: Promise<void> | undefined;
  /** The commit is done: calls go to the real methods. */
  done = false;
  /** An error answer replaced the response: the application's writes are dropped. */
  discarding = false;

  constructor(res: ServerResponse, commit: () => Awaitable<CommitOutcome>) {
    this.res = res;
    this.commit = commit;
  }

  /**
   * Runs the commit. `first` is the application's call that started it (none when the handler
   * returned first): when the commit answers at once, that call goes straight on and its result
   * is returned; otherwise it waits in the queue with the calls that follow.
   */
  start(first?: Held, args?: unknown[]): unknown {
    this.started = true;
    let outcome: Awaitable<CommitOutcome>;
    try {
      outcome = this.commit();
    } catch (err) {
      // commit() maps errors itself; anything left is a bug: answer 500 rather than hang.
      console.error(err);
      outcome = { answer: INTERNAL_ERROR };
    }
    if (!isPromise(outcome)) return this.release(outcome, first, args);
    this.queue = first === undefined ? [] : [[first, args as unknown[]]];
    this.settled = outcome.then(
      (o) => {
        this.release(o);
      },
      (err: unknown) => {
        console.error(err);
        this.release({ answer: INTERNAL_ERROR });
      },
    );
    return first === 'write' ? true : this.res;
  }

  /** Runs the commit once; resolves (or returns at once) when the response is released. */
  settle(): Awaitable<void> {
    if (!this.started) this.start();
    return this.settled;
  }

  /**
   * Restores the real methods and applies the outcome: cookie added, then the call `first` made
   * (its result returned) or the queue replayed; or the error answer sent instead.
   */
  release(outcome: CommitOutcome, first?: Held, args?: unknown[]): unknown {
    const res = this.res;
    const plain = (res as PlainHeld)[HOLD] === this;
    this.done = true;
    // Node's end() calls this.writeHead() itself: the real methods must be back before any write.
    if (plain) restorePlain(res);
    else framed.delete(res);
    const queue = this.queue;
    this.queue = undefined;
    if (outcome.answer) {
      sendAnswer(res, outcome.answer);
      // The error answer was sent: the application's response, and anything it writes later, is dropped.
      if (plain) {
        const target = res as unknown as PlainHeld;
        for (const name of HELD) target[name] = DISCARD[name];
      } else {
        this.discarding = true;
        framed.set(res, this);
      }
      return first === 'write' ? true : res;
    }
    const cookie = outcome.setCookie || undefined;
    const read = outcome.read === true;
    let pending = cookie !== undefined || read;
    if (first !== undefined) {
      let replayed = args as unknown[];
      if (pending && !res.headersSent) {
        if (first === 'writeHead') replayed = moveWriteHeadHeaders(res, replayed);
        addSessionHeaders(res, cookie, read);
      }
      return original(res, first).apply(res, replayed);
    }
    try {
      for (const [name, queued] of queue ?? []) {
        // A second writeHead queued behind the first: while the first waited, the headers looked
        // unsent (compression's end then writes them again); node never saw the second one.
        if (name === 'writeHead' && res.headersSent) continue;
        let replayed = queued;
        if (pending && !res.headersSent) {
          if (name === 'writeHead') replayed = moveWriteHeadHeaders(res, queued);
          addSessionHeaders(res, cookie, read);
          pending = false;
        }
        original(res, name).apply(res, replayed);
      }
    } catch (err) {
      // A replayed call that throws (it would have thrown to the application at once): no one is
      // left to catch it, so the response ends here, and the process stays up.
      console.error(err);
      if (!res.headersSent) sendAnswer(res, INTERNAL_ERROR);
      else res.destroy();
      return undefined;
    }
    // Nothing written yet (the handler returned first): the headers wait among the others.
    if (pending && !res.headersSent) addSessionHeaders(res, cookie, read);
    return undefined;
  }
}

/**
 * Gives a plain response its real methods back: each one by name (one shape for every response),
 * and only those still held (a method the application replaced meanwhile stays its own).
 */
function restorePlain(res: ServerResponse): void {
  const r = res as unknown as PlainHeld;
  if (r.writeHead === HELD_METHODS.writeHead) r.writeHead = PLAIN.writeHead;
  if (r.write === HELD_METHODS.write) r.write = PLAIN.write;
  if (r.end === HELD_METHODS.end) r.end = PLAIN.end;
  if (r.flushHeaders === HELD_METHODS.flushHeaders) r.flushHeaders = PLAIN.flushHeaders;
}

/** The held version of each method: the first call commits, then the call goes on (or waits). */
function heldMethod(name: Held): Method {
  return function (this: ServerResponse, ...args: unknown[]): unknown {
    const hold = holdOf(this);
    if (hold !== undefined) {
      if (hold.discarding) return DISCARD[name].apply(this, args);
      if (!hold.done) {
        if (!hold.started) return hold.start(name, args);
        if (hold.queue) {
          hold.queue.push([name, args]);
          return name === 'write' ? true : this;
        }
      }
    }
    return original(this, name).apply(this, args);
  };
}

const HELD_METHODS = Object.fromEntries(HELD.map((n) => [n, heldMethod(n)])) as Record<
  Held,
  Method
>;

/** What a response's methods become after an error answer replaced it. */
const DISCARD = Object.fromEntries(
  HELD.map((name) => [
    name,
    function (this: ServerResponse, ...args: unknown[]) {
      const cb = args.find((a) => typeof a === 'function') as (() => void) | undefined;
      if (cb) process.nextTick(cb);
      return name === 'write' ? true : this;
    },
  ]),
) as Record<Held, Method>;

/**
 * Puts the held methods on a framework's response prototype, once (they pass straight through
 * for responses that are not held). Done before the first request, it also reaches middleware
 * that keeps a response's methods when it runs ahead of the session (compression keeps `end`
 * and `write`): on a prototype first held during a request, that request's kept methods are the
 * real ones.
 */
export function holdPrototype(proto: object): void {
  if (patchedOriginals.has(proto)) return;
  const methods = proto as Record<Held, Method>;
  const saved: Partial<Record<Held, Method>> = {};
  for (const name of HELD) if (Object.hasOwn(proto, name)) saved[name] = methods[name];
  patchedOriginals.set(proto, saved);
  for (const name of HELD) methods[name] = HELD_METHODS[name];
}

/**
 * Adds a session's Set-Cookie and cache headers to `res` as its headers are written, merged with
 * the ones the application writes (its own Set-Cookie and Vary kept): for a commit already done,
 * where the response is written by someone else (`@hono/node-server` writes a fetch Response).
 * Only an HTTP/1 response of node's is taken; false for any other (add the headers elsewhere).
 */
export function addSessionHeadersOnWrite(
  res: unknown,
  setCookie: string | undefined,
  read: boolean,
): boolean {
  if (!(res instanceof ServerResponse) || res.headersSent) return false;
  const outcome: CommitOutcome = { setCookie, read };
  holdResponse(res, () => outcome);
  return true;
}

/**
 * Holds `res` until `commit` has run. The commit starts at the first `writeHead`, `write`, `end`
 * or `flushHeaders` of the application, or when the returned `settle()` is called, whichever
 * comes first; `settle()` returns once the response has been released (or answered): at once
 * when the commit answered at once, else as a promise.
 */
export function holdResponse(
  res: ServerResponse,
  commit: () => Awaitable<CommitOutcome>,
): () => Awaitable<void> {
  const hold = new Hold(res, commit);
  const proto = Object.getPrototypeOf(res) as Record<Held, Method>;
  if (proto === ServerResponse.prototype) {
    // Named stores in one order: every held response gets the same shape.
    const target = res as unknown as PlainHeld;
    target[HOLD] = hold;
    target.writeHead = HELD_METHODS.writeHead;
    target.write = HELD_METHODS.write;
    target.end = HELD_METHODS.end;
    target.flushHeaders = HELD_METHODS.flushHeaders;
  } else {
    // A framework's response: its prototype gets the held methods once, and the response
    // itself is not changed.
    holdPrototype(proto);
    if (framed.size >= sweepAt) sweepClosed();
    framed.set(res, hold);
  }
  return () => hold.settle();
}
