// The session records under a DiskStore folder: `<shard>/<key>.sess` files. The folder also holds
// shard folders and, once a cleanup pass has run, its lease files: only records are counted.
import { readdir } from 'node:fs/promises';

/** The `.sess` files under `dir`, as paths relative to it (none when `dir` does not exist). */
export async function sessionFiles(dir: string): Promise<string[]> {
  const names = await readdir(dir, { recursive: true }).catch(() => []);
  return names.map(String).filter((n) => n.endsWith('.sess'));
}
