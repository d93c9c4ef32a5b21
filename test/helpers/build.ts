// The built package (dist/), for tests that use it as an application would: rebuilt once when it
// is missing or older than the sources, whichever test file asks first.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The package bin, run as a user runs it: an executable file with a `#!/usr/bin/env node` line. */
export const BIN = join(ROOT, 'dist', 'cli.js');
/** Held while a test file rebuilds dist/ (see {@link buildWhenStale}). */
const LOCK = join(ROOT, '.build-lock');

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
 * `npm install` (prepare) and CI builds before testing, so this only runs after an edit. Test
 * files run in parallel processes: one builds while the others wait for it and look again, so no
 * file runs dist/ while another process's build is rewriting it.
 */
export async function buildWhenStale(): Promise<void> {
  // A build under way has written dist/cli.js before the rest: fresh only once it is done.
  if (!existsSync(LOCK) && fresh()) return;
  const release = await buildLock();
  try {
    if (fresh()) return; // built by another test file while this one waited
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    await new Promise<void>((resolve, reject) => {
      execFile(npm, ['run', 'build', '--silent'], { cwd: ROOT }, (err, stdout, stderr) =>
        err ? reject(new Error(`npm run build failed:\n${stdout}${stderr}`)) : resolve(),
      );
    });
  } finally {
    release();
  }
}

function fresh(): boolean {
  const built = statSync(BIN, { throwIfNoEntry: false })?.mtimeMs ?? 0;
  return built > newestSource();
}

/** A lock folder beside dist/ (mkdir is atomic); one left by a killed build lapses after 5 min. */
async function buildLock(): Promise<() => void> {
  for (;;) {
    try {
      mkdirSync(LOCK);
      return () => rmSync(LOCK, { recursive: true, force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const age = Date.now() - (statSync(LOCK, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > 300_000) rmSync(LOCK, { recursive: true, force: true });
      else await new Promise((r) => setTimeout(r, 200));
    }
  }
}
