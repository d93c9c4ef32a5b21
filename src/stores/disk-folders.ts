/**
 * The folders inside DiskStore's folder (the shards, `users`, `quarantine`) and what is listed
 * in them. Each is used only once checked: a real folder of this user (never a symbolic link,
 * which would send records outside the store) that only its owner can write to. A shard that
 * fails the check holds no records of ours: reads refuse it, listings skip it, and cleanup
 * reports it once and goes on with the others.
 * @module
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { Logger } from '../core/config.js';
import { StoreError } from '../core/errors.js';
import { diskFailure, isNotFound, KEY_FILE, SHARD } from './disk-files.js';
import { checkOwnedFolder } from './owned-files.js';

/**
 * Makes the folder `dir` (mode 0700) unless it exists. Not `recursive` first: that option reports
 * any failure (a read-only file system's EROFS) as ENOENT. Only a missing parent (the store
 * folder removed meanwhile) is made again, recursively.
 */
export function makeFolder(dir: string): void {
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    else if (code !== 'EEXIST') throw err;
  }
}

/** The checked folders of one store folder (its owner checked at start by the store). */
export class StoreFolders {
  /** The store folder. */
  readonly #dir: string;
  readonly #logger: Logger;
  /** Folders of the store checked (real folders of this user) and known to exist. */
  readonly #checked = new Set<string>();
  /** Shard folders cleanup could not read, reported once each. */
  readonly #unreadable = new Set<string>();

  constructor(dir: string, logger: Logger) {
    this.#dir = dir;
    this.#logger = logger;
  }

  /**
   * Checks a folder of the store (a shard, `users`, `quarantine`) once per process: a real folder
   * of this user (never a symbolic link, which would send records outside the store) that only
   * its owner can write to. With `make`, a missing one is made; else false when it is missing.
   * Only this user can write in the store folder (checked at start), so a folder checked once
   * stays what it was.
   */
  own(dir: string, make: boolean): boolean {
    if (this.#checked.has(dir)) return true;
    try {
      if (make) makeFolder(dir);
      const { missing, problem } = checkOwnedFolder(dir);
      if (problem) throw new StoreError('disk', problem);
      if (missing) {
        if (make) throw new StoreError('disk', `${dir} was removed as it was made`);
        return false;
      }
    } catch (err) {
      diskFailure(this.#dir, make ? 'write' : 'read', err);
    }
    this.#checked.add(dir);
    return true;
  }

  /** Forgets that `dir` was checked (it was found gone): it is made and checked again. */
  forget(dir: string): void {
    this.#checked.delete(dir);
  }

  /**
   * Entries of a shard folder, or undefined when it is not a real folder of this user or cannot be
   * read (another user's, mode 000): reported once, then skipped by every pass, so that one such
   * folder never stops the cleanup of the others.
   */
  listShard(dir: string): fs.Dirent[] | undefined {
    try {
      const { problem } = checkOwnedFolder(dir);
      if (problem) throw new Error(problem);
      return fs.readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      if (isNotFound(err)) return [];
      if (!this.#unreadable.has(dir)) {
        this.#unreadable.add(dir);
        this.#logger.warn(
          `[websession] [disk] cleanup skips ${dir}, which it cannot use (${(err as Error).message}): records in it never expire until it is fixed or removed`,
        );
      }
      return undefined;
    }
  }

  /** Entries of a folder of the store (none when it is gone), for cleanup. */
  list(dir: string): fs.Dirent[] {
    try {
      return fs.readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      if (isNotFound(err)) return [];
      diskFailure(this.#dir, 'cleanup', err);
    }
  }

  async #shardNames(): Promise<string[]> {
    try {
      // Real folders only: a shard that is a symbolic link is never followed.
      return (await fsp.readdir(this.#dir, { withFileTypes: true }))
        .filter((e) => e.isDirectory() && SHARD.test(e.name))
        .map((e) => e.name);
    } catch (err) {
      if (isNotFound(err)) return [];
      diskFailure(this.#dir, 'list', err);
    }
  }

  /** The store keys of the record files in every shard. */
  async *keys(): AsyncIterable<string> {
    for (const shard of await this.#shardNames()) {
      let entries: fs.Dirent[];
      try {
        // Another user's shard holds no records of ours (reads refuse it too).
        if (checkOwnedFolder(path.join(this.#dir, shard)).problem) continue;
        entries = await fsp.readdir(path.join(this.#dir, shard), { withFileTypes: true });
      } catch (err) {
        if (isNotFound(err)) continue;
        diskFailure(this.#dir, 'list', err);
      }
      for (const e of entries) if (e.isFile() && KEY_FILE.test(e.name)) yield e.name.slice(0, 64);
    }
  }
}
