// Temporary folders for one test file, removed when the file's tests are done.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

/** A maker of fresh `websession-<tag>-…` folders under the system's temp folder (call at top level). */
export function tempDirs(tag: string): () => Promise<string> {
  const dirs: string[] = [];
  after(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });
  return async () => {
    const dir = await mkdtemp(join(tmpdir(), `websession-${tag}-`));
    dirs.push(dir);
    return dir;
  };
}
