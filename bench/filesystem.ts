// The file system a folder lives on, as the kernel mounted it: the disk rows (DiskStore, the
// file-backed peers) depend on it as much as on the CPU. On ext4 mounted with `discard`, for one,
// a rename over an existing file frees the old file's block with a device discard, and ext4's
// auto_da_alloc writes the new file's data out at the rename (bench/fsops.ts shows the cost).
import { readFileSync, realpathSync } from 'node:fs';

/** Decodes a /proc/mounts field (spaces and the like are written as octal escapes). */
const decodeField = (field: string) =>
  field.replace(/\\([0-7]{3})/g, (_, octal: string) =>
    String.fromCharCode(Number.parseInt(octal, 8)),
  );

/**
 * `<type> (<mount options>)` of the mount holding `folder`, e.g. `ext4 (rw,relatime,discard)`:
 * the mount point that is the longest prefix of its real path. Undefined where /proc/mounts is
 * not there (not Linux).
 */
export function fileSystemOf(folder: string): string | undefined {
  let mounts: string;
  let real: string;
  try {
    mounts = readFileSync('/proc/mounts', 'utf8');
    real = realpathSync(folder);
  } catch {
    return undefined;
  }
  let best: { point: string; text: string } | undefined;
  for (const line of mounts.split('\n')) {
    const [, point, type, options] = line.split(' ').map(decodeField);
    if (!point || !type || !options) continue;
    const holds = real === point || real.startsWith(point.endsWith('/') ? point : `${point}/`);
    if (holds && (!best || point.length > best.point.length))
      best = { point, text: `${type} (${options})` };
  }
  return best?.text;
}
