/**
 * Where a command writes and reads: the process's streams, or a test's.
 * @module
 */

/** The command's output, error output and input. */
export interface Io {
  out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  err: NodeJS.WritableStream;
  /** Where `--cookie -` reads the cookie value (default: the process's stdin). */
  in?: NodeJS.ReadableStream;
}
