// The built package (dist/), for tests that use it as an application would: rebuilt once when it
// is missing or older than the sources, whichever test file asks first.
import { execFile } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The package bin, run as a user runs it: an executable file with a `#!/usr/bin/env node` line. */
export const BIN = join(ROOT, 'dist', 'cli.js');

/** Newest modification time of the files the build reads (src/ and the build configs). */
export function newestSource(): number {
  const files = readdirSync(join(ROOT, 'src'), { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(ROOT, 'src', f));
  files.push(join(ROOT, 'tsconfig.json'), join(ROOT, 'tsconfig.build.json'));
  return Math.max(...files.map((f) => statSync(f).mtimeMs));
}

/**
 * `npm run build` when dist/cli.js is missing or older than a source: a fresh clone has built on
 * `npm install` (prepare) and CI builds before testing, so this only runs after an edit.
 */
export async function buildWhenStale(): Promise<void> {
  const built = statSync(BIN, { throwIfNoEntry: false })?.mtimeMs ?? 0;
  if (built > newestSource()) return;
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  await new Promise<void>((resolve, reject) => {
    execFile(npm, ['run', 'build', '--silent'], { cwd: ROOT }, (err, stdout, stderr) =>
      err ? reject(new Error(`npm run build failed:\n${stdout}${stderr}`)) : resolve(),
    );
  });
}
