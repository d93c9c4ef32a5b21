/**
 * A store-wide lease kept in a file (DiskStore's cleanup lease): taken by an exclusive create of
 * the file (a hard link of a whole temp file), which holds the holder's token and ttl; renewed by
 * setting its mtime; taken over once it was not renewed for its ttl (its holder died or hung).
 * Every process sharing the folder sees the same file, so one of them holds the lease at a time.
 *
 * Whatever the file says, a lease lapses after the ttl the taker asks for: a ttl of `Infinity`
 * or `1e308`, or an mtime in the future, never holds it longer. Anything at the lease's name but
 * a regular file of this user (a link, a FIFO) is removed, never followed or waited on.
 *
 * When a pass ends, `release(t)` records `t` in a file beside the lease (`<file>.ended`), which
 * the next `takeFileLease` reads (`lastPassEndedAt`): processes skip a pass when one ended less
 * than an interval ago.
 * @module
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import type { StoreLease } from '../core/store.js';
import { leaseHeld } from './lease-held.js';
import { readOwnedFile } from './owned-files.js';

function code(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

/** The file beside the lease file `file` that says when the last pass ended. */
function endedFile(file: string): string {
  return `${file}.ended`;
}

/** Writes `text` to `file` whole: a temp file beside it renamed over it. */
function writeWhole(file: string, text: string, token: string): void {
  const tmp = `${file}.${token}.tmp`;
  try {
    fs.writeFileSync(tmp, text, { flag: 'wx', mode: 0o600 });
    fs.renameSync(tmp, file);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/**
 * The holder's token and ttl in the lease file (`<token> <ttl ms>`) and when it was last renewed
 * (its mtime): undefined when there is none, `foreign` when something else has the name.
 */
function holder(
  file: string,
): { token: string; ttlMs: number; renewedAt: number } | 'foreign' | undefined {
  const read = readOwnedFile(file);
  if (read === 'missing') return undefined;
  if (read === 'foreign') return 'foreign';
  const renewedAt = fs.lstatSync(file, { throwIfNoEntry: false })?.mtimeMs;
  if (renewedAt === undefined) return undefined; // released meanwhile
  const [token = '', ttl] = read.text.split(' ');
  return { token, ttlMs: Number(ttl) || 0, renewedAt };
}

/** When the last pass ended, as recorded beside the lease: undefined if never (or nonsense). */
function lastPassEnded(file: string): number | undefined {
  const read = readOwnedFile(endedFile(file));
  if (typeof read === 'string') return undefined;
  const t = Number(read.text);
  // A time to come is no record of a pass that ended: it would put every pass off forever.
  return Number.isFinite(t) && t > 0 && t <= Date.now() ? t : undefined;
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
      return fileLease(file, token, lastPassEnded(file));
    } catch (err) {
      if (code(err) !== 'EEXIST') throw err;
    } finally {
      fs.rmSync(tmp, { force: true });
    }
    const current = holder(file);
    if (current === undefined) continue; // released meanwhile
    if (current !== 'foreign') {
      if (leaseHeld(current.renewedAt, current.ttlMs, ttlMs)) return undefined;
    }
    fs.rmSync(file, { force: true }); // lapsed, or not a lease file: unlink never follows a link
  }
  return undefined;
}

function fileLease(file: string, token: string, lastPassEndedAt: number | undefined): StoreLease {
  const mine = () => {
    const current = holder(file);
    return current !== undefined && current !== 'foreign' && current.token === token;
  };
  return {
    lastPassEndedAt,
    async renew() {
      try {
        if (!mine()) return false;
        const now = new Date();
        fs.lutimesSync(file, now, now);
        return true;
      } catch {
        return false;
      }
    },
    async release(passEndedAt?: number) {
      try {
        if (!mine()) return;
        if (passEndedAt !== undefined) writeWhole(endedFile(file), String(passEndedAt), token);
        fs.rmSync(file, { force: true });
      } catch {
        // the lease expires by itself
      }
    },
  };
}
