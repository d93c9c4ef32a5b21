/**
 * DiskStore's user index: one empty file per session in `<dir>/users/<sha256(user)>/`, named by
 * its store key. An entry is made before the record is written, so it is never missing; one whose
 * record is gone is removed when found (by `sessions`, and by each cleanup pass).
 * @module
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { diskFailure, isNotFound, recordPath } from './disk-files.js';
import { makeFolder, type StoreFolders } from './disk-folders.js';
import { isStoreKey } from './key.js';
import type { TimeSlice } from './time-slice.js';

/** Creates or appends to a user index entry without following a symbolic link. */
const APPEND_FLAGS =
  fs.constants.O_WRONLY |
  fs.constants.O_CREAT |
  fs.constants.O_APPEND |
  (fs.constants.O_NOFOLLOW ?? 0);

export class DiskUserIndex {
  /** The store folder. */
  readonly #dir: string;
  /** File mode of the entries. */
  readonly #mode: number;
  readonly #folders: StoreFolders;

  constructor(dir: string, mode: number, folders: StoreFolders) {
    this.#dir = dir;
    this.#mode = mode;
    this.#folders = folders;
  }

  /** Folder of the user index entries of `user` (named by a hash: any user id is safe). */
  #userDir(user: string): string {
    return path.join(this.#dir, 'users', createHash('sha256').update(user).digest('hex'));
  }

  /** Adds `key` to the index of `user`, before the record is written (so it is never missing). */
  mark(user: string, key: string): void {
    const dir = this.#userDir(user);
    this.#folders.own(path.dirname(dir), true);
    makeFolder(dir);
    fs.closeSync(fs.openSync(path.join(dir, key), APPEND_FLAGS, this.#mode));
  }

  /** Keys of the sessions bound to `user`; entries whose record is gone are removed. */
  async sessions(user: string): Promise<string[]> {
    const dir = this.#userDir(user);
    let names: string[];
    try {
      if (!this.#folders.own(path.dirname(dir), false)) return [];
      names = await fsp.readdir(dir);
    } catch (err) {
      if (isNotFound(err)) return [];
      diskFailure(this.#dir, 'list user', err);
    }
    const keys: string[] = [];
    for (const name of names) {
      if (!isStoreKey(name)) continue;
      try {
        await fsp.access(recordPath(this.#dir, name));
        keys.push(name);
      } catch {
        await fsp.rm(path.join(dir, name), { force: true }).catch(() => {});
      }
    }
    return keys;
  }

  /** Removes user index entries whose session record no longer exists. */
  async sweep(slice: TimeSlice): Promise<void> {
    const root = path.join(this.#dir, 'users');
    if (!this.#folders.own(root, false)) return;
    for (const user of this.#folders.list(root)) {
      if (!user.isDirectory()) continue;
      const dir = path.join(root, user.name);
      for (const entry of this.#folders.list(dir)) {
        if (slice.due()) await slice.yield();
        if (isStoreKey(entry.name) && !fs.existsSync(recordPath(this.#dir, entry.name)))
          fs.rmSync(path.join(dir, entry.name), { force: true });
      }
      try {
        fs.rmdirSync(dir); // only when empty
      } catch {
        // not empty: sessions of this user are alive
      }
    }
  }
}
