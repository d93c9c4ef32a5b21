/**
 * Commit-before-headers for `node:http` responses (used by the node and Express adapters).
 *
 * `commit()` is async but `res.writeHead`/`write`/`end` are not, so the first of those calls is
 * held: it and every following call are queued while the session commits, then the Set-Cookie
 * header is added and the calls are replayed in order on the real methods. If the commit fails,
 * the queued response is dropped and replaced by the error answer (503 for a store outage), and
 * later writes of the application are discarded.
 * @module
 */
import type { ServerResponse } from 'node:http';
import type { ErrorAnswer } from './common.js';

/** The outcome of a commit: a Set-Cookie value to add, or an answer to send instead. */
export type CommitOutcome =
  | { setCookie?: string | undefined; answer?: undefined }
  | { answer: ErrorAnswer; setCookie?: undefined };

const HELD = ['writeHead', 'write', 'end', 'flushHeaders'] as const;
type Held = (typeof HELD)[number];
type Method = (...args: unknown[]) => unknown;

/** Adds a Set-Cookie header to a response, keeping the ones the application set. */
export function appendSetCookie(res: ServerResponse, value: string): void {
  const prev = res.getHeader('set-cookie');
  if (prev === undefined) res.setHeader('Set-Cookie', value);
  else res.setHeader('Set-Cookie', [...(Array.isArray(prev) ? prev : [String(prev)]), value]);
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
 * Applies the headers given to `writeHead(status, [message], headers)` with `setHeader`, as Node
 * itself does once any header was set, keeping every value of a name given more than once; so
 * that the session cookie can then be appended to the application's own Set-Cookie values.
 * Returns the arguments without the headers.
 */
function moveWriteHeadHeaders(res: ServerResponse, args: unknown[]): unknown[] {
  const i = args.findIndex((a) => typeof a === 'object' && a !== null);
  if (i < 0) return args;
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

/**
 * Holds `res` until `commit` has run. The commit starts at the first `writeHead`, `write`, `end`
 * or `flushHeaders` of the application, or when the returned `settle()` is called, whichever
 * comes first; `settle()` resolves once the response has been released (or answered).
 */
export function holdResponse(
  res: ServerResponse,
  commit: () => Promise<CommitOutcome>,
): () => Promise<void> {
  const target = res as unknown as Record<Held, Method>;
  const originals = {} as Record<Held, Method>;
  for (const name of HELD) originals[name] = target[name];
  const queue: [Held, unknown[]][] = [];
  let settled: Promise<void> | undefined;
  const discard =
    (name: Held): Method =>
    (...args: unknown[]) => {
      const cb = args.find((a) => typeof a === 'function') as (() => void) | undefined;
      if (cb) process.nextTick(cb);
      return name === 'write' ? true : res;
    };

  const release = async (): Promise<void> => {
    let outcome: CommitOutcome;
    try {
      outcome = await commit();
    } catch (err) {
      // commit() maps errors itself; anything left is a bug: answer 500 rather than hang.
      outcome = {
        answer: {
          status: 500,
          headers: { 'Content-Type': 'text/plain; charset=utf-8' },
          body: 'internal server error',
        },
      };
      console.error(err);
    }
    // Node's end() calls this.writeHead() itself: the real methods must be back before any write.
    for (const name of HELD) target[name] = originals[name];
    if (outcome.answer) {
      sendAnswer(res, outcome.answer);
      // The error answer was sent: the application's response, and anything it writes later, is dropped.
      for (const name of HELD) target[name] = discard(name);
      return;
    }
    let cookie = outcome.setCookie;
    for (const [name, args] of queue) {
      let replayed = args;
      if (cookie && !res.headersSent) {
        if (name === 'writeHead') replayed = moveWriteHeadHeaders(res, args);
        appendSetCookie(res, cookie);
        cookie = undefined;
      }
      originals[name].apply(res, replayed);
    }
    queue.length = 0;
    // Nothing written yet (the handler returned first): the cookie waits among the headers.
    if (cookie && !res.headersSent) appendSetCookie(res, cookie);
  };

  const settle = (): Promise<void> => {
    settled ??= release();
    return settled;
  };

  for (const name of HELD) {
    target[name] = (...args: unknown[]) => {
      queue.push([name, args]);
      void settle();
      return name === 'write' ? true : res;
    };
  }
  return settle;
}
