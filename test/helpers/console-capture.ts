// What the code under test prints on purpose (the web layer's report of a 500 or a 503, a
// store's connection warning, app.run()'s URL, a native module's own message) is recorded
// instead of printed, so that a passing `npm test` shows only the runner's results, and handed
// to the test to assert on.
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { format } from 'node:util';

const METHODS = ['log', 'info', 'warn', 'error'] as const;

/** Sends console.log/info/warn/error into `lines` (one entry a call, as console would print it). */
function divert(lines: string[]): () => void {
  const saved = METHODS.map((m) => [m, console[m]] as const);
  for (const m of METHODS) {
    console[m] = (...args: unknown[]) => {
      lines.push(format(...args));
    };
  }
  return () => {
    for (const [m, real] of saved) console[m] = real;
  };
}

/** Runs `fn` with the console recorded; returns what `fn` returned and what was printed. */
export async function captureConsole<T>(
  fn: () => T | Promise<T>,
): Promise<{ result: T; printed: string[] }> {
  const printed: string[] = [];
  const restore = divert(printed);
  try {
    return { result: await fn(), printed };
  } finally {
    restore();
  }
}

/** What a test file's console received, for the file's tests to check. */
export interface ConsoleRecord {
  /** Every line printed and not yet taken. */
  readonly lines: string[];
  /** Removes the lines matching `pattern` from `lines` and returns them. */
  take(pattern: RegExp): string[];
}

/**
 * Records the console for the whole test file (call once at its top level). Tests may `take`
 * their own lines; at the end of the file every line left must match `expected`, or the file
 * fails with the lines that did not: output nobody expected is a finding, not noise.
 */
export function recordConsole(expected: RegExp): ConsoleRecord {
  const lines: string[] = [];
  let restore = () => {};
  before(() => {
    restore = divert(lines);
  });
  after(() => {
    restore();
    const unexpected = lines.filter((line) => !expected.test(line));
    assert.deepEqual(unexpected, [], 'the console got only the lines this file expects');
  });
  return {
    lines,
    take(pattern) {
      const taken = lines.filter((line) => pattern.test(line));
      const kept = lines.filter((line) => !pattern.test(line));
      lines.splice(0, lines.length, ...kept);
      return taken;
    },
  };
}

/** A `logger` for SessionManager and the stores that records each warning as one line. */
export function recordingLogger(): {
  warn(message: string, error?: unknown): void;
  lines: string[];
} {
  const lines: string[] = [];
  return {
    lines,
    warn(message, error) {
      lines.push(error === undefined ? message : `${message} ${errorText(error)}`);
    },
  };
}

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));
