/**
 * How the command fails: its exit codes, the errors that choose them, and the one line it
 * writes on stderr for each.
 * @module
 */

/** Exit codes of the command. */
export const EXIT = { ok: 0, failed: 1, usage: 2, notFound: 3 } as const;

/** Bad arguments or store URL: exit code 2. */
export class UsageError extends Error {}

/** No such session or user: exit code 3. */
export class NotFoundError extends Error {}

/**
 * An error in the user's words: without the \`[websession] [kind] <operation> failed:\` of a log
 * line, e.g. "cannot reach PostgreSQL at 127.0.0.1:5432 (connect ECONNREFUSED …)".
 */
export function userMessage(err: unknown): string {
  const message = (err as Error | null)?.message ?? String(err);
  return message
    .replace(/^\[websession\] /, '')
    .replace(/^\[[a-z]+\] /, '')
    .replace(/^[a-z]+(?: [a-z]+)? failed: /, '');
}

/** Writes the line for a command's failure on `err`; returns its exit code. */
export function reportFailure(failure: unknown, err: NodeJS.WritableStream): number {
  if (failure instanceof UsageError) {
    err.write(`websession: ${failure.message}\n`);
    return EXIT.usage;
  }
  if (failure instanceof NotFoundError) {
    err.write(`websession: ${failure.message}\n`);
    return EXIT.notFound;
  }
  err.write(`websession: ${userMessage(failure)}\n`);
  return EXIT.failed;
}
