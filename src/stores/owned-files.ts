/**
 * Files and folders that only this process's user controls, checked the way OpenSSH checks the
 * folders above its key files: a folder is trusted when this user owns it and nobody else can
 * write to it, and when no folder above it lets another user replace it. Inside a trusted folder,
 * entries are opened without following a link and checked on the open descriptor (`fstat`), never
 * by a separate `lstat` first (which a swap between the two calls would defeat).
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** This process's user id, or undefined where the OS has none (Windows: no checks). */
const MY_UID = process.getuid?.();

const NOFOLLOW = fs.constants.O_NOFOLLOW ?? 0;
/** A FIFO opened without O_NONBLOCK waits for a writer: the event loop would wait with it. */
const NONBLOCK = fs.constants.O_NONBLOCK ?? 0;
/** The sticky bit: in such a folder only an entry's owner may rename or remove it (as /tmp). */
const STICKY = 0o1000;
/** Opens a folder itself, not what a link at its name points to. */
const FOLDER_FLAGS = fs.constants.O_RDONLY | (fs.constants.O_DIRECTORY ?? 0) | NOFOLLOW;
/** Opens a file for reading without following a link or waiting on a FIFO. */
export const READ_OWNED = fs.constants.O_RDONLY | NOFOLLOW | NONBLOCK;

function code(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

/** A file mode as `0755`. */
export function modeText(mode: number): string {
  return `0${(mode & 0o777).toString(8).padStart(3, '0')}`;
}

/** `name (uid N)` for a user id, from /etc/passwd where it is listed. */
export function userText(uid: number): string {
  let name: string | undefined;
  try {
    const line = fs
      .readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .find((l) => l.split(':')[2] === String(uid));
    name = line?.split(':')[0];
  } catch {
    // no user list: the number alone
  }
  return name ? `${name} (uid ${uid})` : `uid ${uid}`;
}

/** True when `stat` belongs to this process's user (always true where the OS has no user ids). */
export function isMine(stat: fs.Stats): boolean {
  return MY_UID === undefined || stat.uid === MY_UID;
}

/**
 * Why the store folder `dir` (absolute, existing) cannot be trusted, in one line that says what
 * to do, or undefined when it can: this user owns it, nobody else can write to it, and every
 * folder above it (of its real path) is owned by this user or root and writable by nobody else
 * unless sticky (as /tmp).
 */
export function untrustedFolder(dir: string): string | undefined {
  const real = fs.realpathSync(dir);
  const own = fs.statSync(real);
  if (!own.isDirectory()) return `${dir} is not a folder`;
  if (!isMine(own))
    return `folder ${real} is owned by ${userText(own.uid)}, not by this process's user (${userText(MY_UID ?? 0)}): its owner could plant sessions in it. Give a folder this user owns, or chown it to this user`;
  if ((own.mode & 0o022) !== 0)
    return `folder ${real} has mode ${modeText(own.mode)}: others can write to it, and a session file written there would be trusted. Make it private (chmod 700 ${real}) or give another folder`;
  for (let above = path.dirname(real); ; above = path.dirname(above)) {
    const stat = fs.statSync(above);
    if (stat.uid !== 0 && !isMine(stat))
      return `folder ${above}, above the store folder ${real}, is owned by ${userText(stat.uid)}, who could replace the store folder. Use a store folder whose parents are owned by this user or root`;
    if ((stat.mode & 0o022) !== 0 && (stat.mode & STICKY) === 0)
      return `folder ${above}, above the store folder ${real}, has mode ${modeText(stat.mode)} without the sticky bit: another user could replace the store folder. Remove group and other write access (chmod go-w ${above}) or use another folder`;
    if (above === path.dirname(above)) return undefined;
  }
}

/**
 * Why the folder at `dir` (inside a trusted folder) is not a real folder of this user that only
 * this user can write to, or undefined when it is: checked on the folder opened without following
 * a link. Undefined too when it does not exist (`missing` is then true).
 */
export function checkOwnedFolder(dir: string): { missing: boolean; problem?: string } {
  let fd: number;
  try {
    fd = fs.openSync(dir, FOLDER_FLAGS);
  } catch (err) {
    if (code(err) === 'ENOENT') return { missing: true };
    if (code(err) === 'ELOOP' || code(err) === 'ENOTDIR')
      return {
        missing: false,
        problem: `${dir} is not a folder (a symbolic link?): refused, the store never follows a link inside its folder`,
      };
    throw err;
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!isMine(stat))
      return {
        missing: false,
        problem: `${dir} is owned by ${userText(stat.uid)}, not by this process's user: refused. Remove it (the store makes it again)`,
      };
    if ((stat.mode & 0o022) !== 0)
      return {
        missing: false,
        problem: `${dir} has mode ${modeText(stat.mode)}: others can write to it; refused`,
      };
    return { missing: false };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Opens `file` with `flags` (plus no link following and no waiting on a FIFO) when it is a regular
 * file of this user: its descriptor and stat. `missing` when there is none; `foreign` when the
 * name is taken by something else (a link, a FIFO, a folder, another user's file), never opened
 * further.
 */
export function openOwnedFile(
  file: string,
  flags = READ_OWNED,
): { fd: number; stat: fs.Stats } | 'missing' | 'foreign' {
  let fd: number;
  try {
    fd = fs.openSync(file, flags | NOFOLLOW | NONBLOCK);
  } catch (err) {
    if (code(err) === 'ENOENT') return 'missing';
    if (code(err) === 'ELOOP' || code(err) === 'EISDIR' || code(err) === 'ENXIO') return 'foreign';
    throw err;
  }
  let stat: fs.Stats;
  try {
    stat = fs.fstatSync(fd);
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
  if (stat.isFile() && isMine(stat)) return { fd, stat };
  fs.closeSync(fd);
  return 'foreign';
}

/** The text of a regular file of this user, `missing` or `foreign` as {@link openOwnedFile}. */
export function readOwnedFile(file: string): { text: string } | 'missing' | 'foreign' {
  const opened = openOwnedFile(file);
  if (typeof opened === 'string') return opened;
  try {
    return { text: fs.readFileSync(opened.fd, 'utf8') };
  } finally {
    fs.closeSync(opened.fd);
  }
}
