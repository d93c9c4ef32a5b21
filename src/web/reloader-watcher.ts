/**
 * What the debug-mode reloader watches: the application's source files, in every folder below
 * its roots but node_modules, build output, dot folders and store folders.
 * @module
 */
import { type Dirent, type FSWatcher, readdirSync, statSync, watch } from 'node:fs';
import path from 'node:path';

/** Files whose change triggers a reload. */
const SOURCE_EXTENSIONS = new Set([
  '.ts',
  '.tsx',
  '.mts',
  '.cts',
  '.js',
  '.jsx',
  '.mjs',
  '.cjs',
  '.json',
]);
/** Folders never watched (besides dot-folders and store folders). */
const IGNORED_DIRS = new Set(['node_modules', 'dist', 'build', 'coverage', 'sessions']);
/** Folders of stores (DiskStore…) not worth watching. */
const ignoredPaths = new Set<string>();

/** Leaves `dir` (a store's folder: its files change on every request) out of the watch. */
export function ignoreFolder(dir: string): void {
  ignoredPaths.add(path.resolve(dir));
}

function isIgnoredDir(dir: string): boolean {
  const name = path.basename(dir);
  return name.startsWith('.') || IGNORED_DIRS.has(name) || ignoredPaths.has(dir);
}

function isSource(file: string): boolean {
  const name = path.basename(file);
  return !name.startsWith('.') && SOURCE_EXTENSIONS.has(path.extname(name));
}

/**
 * Watches source files under `root` (one watcher per folder, skipping node_modules, dist, dot
 * folders and store folders; new folders are picked up) and calls `onChange` with a changed
 * file's path. Folders are watched rather than files so that editors' save-by-rename is seen.
 * @returns a function that stops watching.
 */
export function watchSources(root: string, onChange: (file: string) => void): () => void {
  const watchers = new Map<string, FSWatcher>();
  const top = path.resolve(root);
  const add = (dir: string): void => {
    // The root is watched whatever its name; below it, ignored folders are skipped.
    if (watchers.has(dir) || (dir !== top && isIgnoredDir(dir))) return;
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    try {
      const watcher = watch(dir, (_event, name) => {
        if (!name) return;
        const full = path.join(dir, name.toString());
        if (isSource(full)) onChange(full);
        else if (!watchers.has(full)) {
          try {
            if (statSync(full).isDirectory()) add(full);
          } catch {
            // gone already
          }
        }
      });
      watcher.on('error', () => {
        watcher.close();
        watchers.delete(dir);
      });
      watchers.set(dir, watcher);
    } catch {
      return;
    }
    for (const entry of entries) if (entry.isDirectory()) add(path.join(dir, entry.name));
  };
  add(top);
  return () => {
    for (const watcher of watchers.values()) watcher.close();
    watchers.clear();
  };
}
