#!/usr/bin/env node
// Runs every test/**/*.test.ts with Node's test runner (through tsx, against the TypeScript
// sources; test/cli.test.ts runs the built bin dist/cli.js, rebuilding it first with `npm run
// build` when it is missing or older than src/). Arguments narrow the run: `npm test -- disk`
// runs files whose path contains "disk".
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const filters = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const flags = process.argv.slice(2).filter((a) => a.startsWith('-'));
const files = readdirSync('test', { recursive: true })
  .map((f) => join('test', String(f)))
  .filter((f) => f.endsWith('.test.ts'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const result = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--conditions=websession-src',
    '--test',
    '--test-reporter=spec',
    // Tests that fake time use node:test's mock timers, which warn once per file as experimental.
    '--disable-warning=ExperimentalWarning',
    // connect-flash (in the Passport test) calls util.isArray, deprecated at run time on Node 22+.
    '--disable-warning=DEP0044',
    '--test-concurrency=2',
    '--test-timeout=180000',
    ...flags,
    ...files,
  ],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
