// The stores that need no server (MemoryStore, and DiskStore in a temporary folder removed after
// the test file), for suites that run on each.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { DiskStore, MemoryStore, type Store } from 'websession';

/** [name, make] of MemoryStore and DiskStore; DiskStore folders are named `websession-<tag>-…`. */
export function localStores(tag: string): [string, () => Promise<Store>][] {
  const dirs: string[] = [];
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });
  return [
    ['MemoryStore', async () => new MemoryStore()],
    [
      'DiskStore',
      async () => {
        const dir = await mkdtemp(join(tmpdir(), `websession-${tag}-`));
        dirs.push(dir);
        return new DiskStore(dir);
      },
    ],
  ];
}
