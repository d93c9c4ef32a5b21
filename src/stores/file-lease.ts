/**
 * A store-wide lease kept in a file (DiskStore's cleanup lease): taken by an exclusive create of
 * the file (a hard link of a whole temp file), which holds the holder's token and ttl; renewed by setting its mtime; taken over when
 * its mtime is older than that ttl (its holder died or hung). Every process sharing the folder
 * sees the same file, so one of them holds the lease at a time.
 * @module
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import type { StoreLease } from '../core/store.js';

function code(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

/** The holder's token and ttl in the lease file (`<token> <ttl ms>`), or undefined when none. */
function holder(file: string): { token: string; ttlMs: number } | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (code(err) === 'ENOENT') return undefined;
    throw err;
  }
  const [token = '', ttl] = text.split(' ');
  return { token, ttlMs: Number(ttl) || 0 };
}

/**
 * Takes the lease kept in `file` for `ttlMs`: undefined when a live holder has it. (Two processes
 * that find the same expired lease at the same moment may both take it over; the loser finds out
 * at its next renew. That needs a holder that died, and costs one duplicated pass.)
 */
export function takeFileLease(file: string, ttlMs: number): StoreLease | undefined {
  const token = randomBytes(12).toString('hex');
  for (let attempt = 0; attempt < 2; attempt++) {
    // Written whole under a temp name, then linked to the lease's name: the link is the exclusive
    // create, and nobody ever reads a lease file whose token is not written yet.
    const tmp = `${file}.${token}.tmp`;
    fs.writeFileSync(tmp, `${token} ${ttlMs}`, { flag: 'wx', mode: 0o600 });
    try {
      fs.linkSync(tmp, file);
      return fileLease(file, token);
    } catch (err) {
      if (code(err) !== 'EEXIST') throw err;
    } finally {
      fs.rmSync(tmp, { force: true });
    }
    // Lapsed when not renewed within the holder's own ttl (written beside its token).
    const current = holder(file);
    const mtime = fs.statSync(file, { throwIfNoEntry: false })?.mtimeMs;
    if (current === undefined || mtime === undefined) continue; // released meanwhile
    if (Date.now() - mtime <= current.ttlMs) return undefined;
    fs.rmSync(file, { force: true }); // lapsed: its holder is gone
  }
  return undefined;
}

function fileLease(file: string, token: string): StoreLease {
  return {
    async renew() {
      try {
        if (holder(file)?.token !== token) return false;
        const now = new Date();
        fs.utimesSync(file, now, now);
        return true;
      } catch {
        return false;
      }
    },
    async release() {
      try {
        if (holder(file)?.token === token) fs.rmSync(file, { force: true });
      } catch {
        // the lease expires by itself
      }
    },
  };
}
