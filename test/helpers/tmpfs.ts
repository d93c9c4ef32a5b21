// A tiny tmpfs of the test's own, to fill up or remount read-only (needs root on Linux).
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Tmpfs {
  dir: string;
  remount(mode: 'ro' | 'rw'): void;
  /** Fills the file system with a filler file until ENOSPC. */
  fill(): void;
  /** Removes the filler file. */
  unfill(): Promise<void>;
  destroy(): Promise<void>;
}

/** A tmpfs of `size` (e.g. `256k`) on a new temp folder. Throws (with mount's message) when not permitted. */
export async function mountTmpfs(size: string): Promise<Tmpfs> {
  const dir = await mkdtemp(join(tmpdir(), 'websession-fault-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir], {
      stdio: 'pipe',
    });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const filler = join(dir, 'filler');
  let mounted = true;
  return {
    dir,
    remount(mode) {
      execFileSync('mount', ['-o', `remount,${mode}`, dir], { stdio: 'pipe' });
    },
    fill() {
      const fd = openSync(filler, 'a');
      const chunk = Buffer.alloc(4096, 0x66);
      try {
        for (;;) writeSync(fd, chunk);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
      } finally {
        closeSync(fd);
      }
    },
    async unfill() {
      await rm(filler, { force: true });
    },
    async destroy() {
      if (mounted) {
        try {
          execFileSync('umount', [dir], { stdio: 'pipe' });
        } catch {
          execFileSync('umount', ['-l', dir], { stdio: 'pipe' }); // something still holds it open
        }
        mounted = false;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

let refused: Promise<string | false> | undefined;

/** Why no tmpfs can be mounted here (not Linux, not root, refused in a container), or false. */
export function tmpfsSkip(): Promise<string | false> {
  refused ??= (async () => {
    if (process.platform !== 'linux') return 'a tiny tmpfs needs Linux';
    if (process.getuid?.() !== 0) return 'mounting a tiny tmpfs needs root';
    try {
      await (await mountTmpfs('16k')).destroy();
      return false;
    } catch (err) {
      return `cannot mount a tmpfs here: ${String((err as { stderr?: unknown }).stderr ?? err).trim()}`;
    }
  })();
  return refused;
}
