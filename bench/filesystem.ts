// The file system a folder lives on, as the kernel mounted it: the disk rows (DiskStore, the
// file-backed peers) depend on it as much as on the CPU. On ext4 mounted with `discard`, for one,
// a rename over an existing file frees the old file's block with a device discard, and ext4's
// auto_da_alloc writes the new file's data out at the rename (bench/fsops.ts shows the cost).
import { mountOf } from '../src/stores/mount-options.js';

/**
 * `<type> (<mount options>)` of the mount holding `folder`, e.g. `ext4 (rw,relatime,discard)`.
 * Undefined where /proc/mounts is not there (not Linux).
 */
export function fileSystemOf(folder: string): string | undefined {
  const mount = mountOf(folder);
  return mount && `${mount.type} (${mount.options.join(',')})`;
}
