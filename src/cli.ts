#!/usr/bin/env node
/**
 * The `websession` command: inspect and manage the sessions of any store URL.
 * Exit codes: 0 done, 1 failed (store unreachable, verification mismatch), 2 usage error
 * (bad arguments or store URL), 3 not found (unknown session or user).
 * Run as a program (the package's bin), it runs the command line; the commands are in cli/.
 * @module
 */
import { main } from './cli/main.js';

export { EXIT } from './cli/errors.js';
export { main };

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
