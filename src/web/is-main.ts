/**
 * `web.isMain(import.meta)`: web.py's `if __name__ == '__main__'`.
 * @module
 */
import { pathToFileURL } from 'node:url';

/** True when the module whose `import.meta` is given is the program's entry point (`if __name__ == '__main__'`). */
export function isMain(meta: { url: string }): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    // `node app.ts` gives the file itself; `node app` (no extension) names it without one.
    const href = pathToFileURL(entry).href;
    return meta.url === href || meta.url.replace(/\.[cm]?[jt]s$/, '') === href;
  } catch {
    return false;
  }
}
