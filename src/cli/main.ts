/**
 * The command line read and run: options, `--version` and `--help`, then the command, its
 * failure written as one line with its exit code.
 * @module
 */
import { cleanup } from './cleanup.js';
import { EXIT, reportFailure, UsageError } from './errors.js';
import type { Io } from './io.js';
import { kill } from './kill.js';
import { list } from './list.js';
import { migrate } from './migrate.js';
import { optionError, parseOptions, type Values } from './options.js';
import { show } from './show.js';
import { stats } from './stats.js';
import { USAGE } from './usage.js';
import { version } from './version.js';

/** Runs the command with `argv` (without node and script); returns the exit code. */
export async function main(
  argv: string[],
  io: Io = { out: process.stdout, err: process.stderr },
): Promise<number> {
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseOptions(argv);
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
    return reportFailure(err, io.err);
  }
}
