/**
 * A store-wide lease kept in a file (DiskStore's cleanup lease): taken by an exclusive create of
 * the file, which holds the holder's token; renewed by setting its mtime; taken over when its
 * mtime is older than the lease's ttl (its holder died or hung). Every process sharing the folder
 * sees the same file, so one of them holds the lease at a time.
 * @module
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import type { StoreLease } from './store.js';

function code(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

/** The token in the lease file, or undefined when there is none. */
function holder(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (code(err) === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Takes the lease kept in `file` for `ttlMs`: undefined when a live holder has it. (Two processes
 * that find the same expired lease at the same moment may both take it over; the loser finds out
 * at its next renew. That needs a holder that died, and costs one duplicated pass.)
 */
export function takeFileLease(file: string, ttlMs: number): StoreLease | undefined {
  const token = randomBytes(12).toString('hex');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, token, { flag: 'wx', mode: 0o600 });
      return fileLease(file, token);
    } catch (err) {
      if (code(err) !== 'EEXIST') throw err;
    }
    let mtime: number;
    try {
      mtime = fs.statSync(file).mtimeMs;
    } catch (err) {
      if (code(err) === 'ENOENT') continue; // released meanwhile
      throw err;
    }
    if (Date.now() - mtime <= ttlMs) return undefined;
    fs.rmSync(file, { force: true }); // expired: its holder is gone
  }
  return undefined;
}

function fileLease(file: string, token: string): StoreLease {
  return {
    async renew() {
      try {
        if (holder(file) !== token) return false;
        const now = new Date();
        fs.utimesSync(file, now, now);
        return true;
      } catch {
        return false;
      }
    },
    async release() {
      try {
        if (holder(file) === token) fs.rmSync(file, { force: true });
      } catch {
        // the lease expires by itself
      }
    },
  };
}
