/**
 * The program of a reloader child process (see reloader-supervisor.ts). It loads this library
 * first, so a spare child forked ahead of time has Node, the TypeScript loader and the library
 * warm; when the supervisor says `start`, it runs the application's entry file as `node <entry>`
 * would.
 * @module
 */
import { pathToFileURL } from 'node:url';
import './index.js';

/** The error with the loader's and Node's own stack frames left out: the application's remain. */
function describe(err: unknown): string {
  if (!(err instanceof Error) || !err.stack) return String(err);
  const lines = err.stack.split('\n');
  const kept = lines.filter((line) => !/^\s+at .*(node_modules|node:internal)/.test(line));
  return kept.join('\n');
}

function onMessage(message: unknown): void {
  const m = message as { websession?: unknown; entry?: unknown } | null;
  if (typeof m !== 'object' || m === null || m.websession !== 'start') return;
  if (typeof m.entry !== 'string') return;
  process.off('message', onMessage);
  // The application sees itself as the program (`web.isMain(import.meta)` holds).
  process.argv[1] = m.entry;
  import(pathToFileURL(m.entry).href).catch((err: unknown) => {
    console.error(describe(err));
    process.exit(1);
  });
}

process.on('message', onMessage);
// Messages that come before a listener are lost: say when this child can take `start`.
process.send?.({ websession: 'loaded' });
