/**
 * The file system a folder lives on, as the kernel mounted it (Linux's /proc/mounts). DiskStore
 * asks whether freed blocks are discarded at once; the bench prints it beside the disk rows,
 * which depend on it as much as on the CPU.
 * @module
 */
import { readFileSync, realpathSync } from 'node:fs';

/** The type and options of a mount, e.g. `ext4` and `['rw', 'relatime', 'discard']`. */
export interface MountOptions {
  type: string;
  options: string[];
}

/** Decodes a /proc/mounts field (spaces and the like are written as octal escapes). */
const decodeField = (field: string) =>
  field.replace(/\\([0-7]{3})/g, (_, octal: string) =>
    String.fromCharCode(Number.parseInt(octal, 8)),
  );

/**
 * The mount holding `folder`: the mount point that is the longest prefix of its real path (of
 * mounts at one point, the last: it hides the others). Undefined where /proc/mounts is not there
 * (not Linux) or the folder cannot be resolved.
 */
export function mountOf(folder: string): MountOptions | undefined {
  let mounts: string;
  let real: string;
  try {
    mounts = readFileSync('/proc/mounts', 'utf8');
    real = realpathSync(folder);
  } catch {
    return undefined;
  }
  let best: { point: string; type: string; options: string } | undefined;
  for (const line of mounts.split('\n')) {
    const [, point, type, options] = line.split(' ').map(decodeField);
    if (!point || !type || !options) continue;
    const holds = real === point || real.startsWith(point.endsWith('/') ? point : `${point}/`);
    if (holds && (!best || point.length >= best.point.length)) best = { point, type, options };
  }
  return best && { type: best.type, options: best.options.split(',') };
}

/** True when the file system of `folder` is mounted with `discard` (freed blocks discarded at once). */
export function discardsFreedBlocks(folder: string): boolean {
  return mountOf(folder)?.options.includes('discard') === true;
}
