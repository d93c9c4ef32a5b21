/**
 * ShelfStore's write transactions and the errors of LMDB calls. A commit that failed for want of
 * space puts writes off for a while: LMDB prints lines of its own to stderr on every failed
 * commit (the native library writes one with `fprintf`, lmdb-js logs the error with
 * `console.error`; neither has an option to stop it), so a write that would fail the same way is
 * not tried.
 * @module
 */
import { statfsSync } from 'node:fs';
import * as path from 'node:path';
import { StoreError, StoreUnavailableError } from '../core/errors.js';
import type { Handles } from './shelf-env.js';

/** How long writes are refused after a commit failed for want of space, unless space was freed. */
const FULL_BACKOFF_MS = 10_000;
/** Free space (bytes) that must appear, over what was free at the failure, to try again sooner. */
const FREED_BYTES = 64 << 10;

/** Free bytes on the file system of `dir` (for this user), or 0 when unknown. */
function freeBytes(dir: string): number {
  try {
    const { bavail, bsize } = statfsSync(dir);
    return bavail * bsize;
  } catch {
    return 0;
  }
}

/** True for LMDB's "No space left on device" (errno 28, ENOSPC). */
function isNoSpace(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 28 || code === 'ENOSPC' || /No space left/i.test(String((err as Error)?.message));
}

/** Something went wrong inside a mutator: rethrown as is, outside the transaction. */
export class MutatorFailure {
  constructor(readonly error: unknown) {}
}

/**
 * Runs `fn` in a write transaction (LMDB's: one writer at a time, across processes), reading
 * what is committed now. lmdb-js runs the callback on this thread, where reads go through its
 * read snapshot, renewed only after this process's own commits: taken before another process
 * (or this one's previous transaction) committed, it would hand `fn` an older record, and an
 * update written from it would be a lost update. A snapshot renewed once the write lock is
 * held is the latest commit, and stays so until this transaction commits.
 */
function transact<R>(h: Handles, fn: () => R): Promise<R> {
  return h.data.transaction(() => {
    h.data.resetReadTxn();
    return fn();
  });
}

/** The commits of one shelf file. */
export class ShelfCommits {
  readonly #filename: string;
  /** After a commit failed for want of space: until when writes are refused, and what was free. */
  #full: { until: number; free: number; error: StoreError } | undefined;
  /** Commits not settled yet, which the environment must outlive. */
  readonly #pending = new Set<Promise<unknown>>();
  #ended = false;

  constructor(filename: string) {
    this.#filename = filename;
  }

  /**
   * The error to throw for a failed LMDB call. A failed commit rejects with "Commit failed (see
   * commitError for details)" and the real cause (ENOSPC, EACCES…) in the promise
   * `err.commitError`: that promise is awaited here, so its rejection is handled (unhandled, it
   * would end a process that has no handler) and its message names the cause.
   */
  async error(op: string, err: unknown): Promise<unknown> {
    if (err instanceof StoreError || err instanceof MutatorFailure) return err;
    let cause = err;
    const detail = (err as { commitError?: unknown } | null)?.commitError;
    if (detail && typeof (detail as Promise<unknown>).then === 'function') {
      cause = await (detail as Promise<unknown>).then(
        () => err,
        (real: unknown) => real,
      );
    }
    const error = new StoreError(
      'shelf',
      `${op} failed in ${this.#filename}: ${(cause as Error)?.message ?? String(cause)}`,
      { cause },
    );
    if (isNoSpace(cause))
      this.#full = {
        until: Date.now() + FULL_BACKOFF_MS,
        free: freeBytes(path.dirname(this.#filename)),
        error,
      };
    return error;
  }

  /**
   * Runs `fn` in a write transaction ({@link transact}), or refuses at once (the last failure's
   * error) while the disk is still full after a failed commit.
   */
  commit<R>(h: Handles, fn: () => R): Promise<R> {
    if (this.#ended)
      return Promise.reject(
        new StoreUnavailableError('shelf', `store ${this.#filename} is closed`),
      );
    const full = this.#full;
    if (full) {
      const freed = freeBytes(path.dirname(this.#filename)) > full.free + FREED_BYTES;
      if (Date.now() < full.until && !freed) return Promise.reject(full.error);
      this.#full = undefined;
    }
    const pending = transact(h, fn);
    this.#pending.add(pending);
    const settled = () => this.#pending.delete(pending);
    pending.then(settled, settled);
    return pending;
  }

  /** Resolves once no commit is under way (those started meanwhile included). */
  async settled(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  /**
   * Refuses every commit from now on: call it once {@link ShelfCommits.settled}, before the
   * environment closes. LMDB starts a queued write from a timer, and one that starts after the
   * environment closed throws there, out of reach of any handler, ending the process.
   */
  end(): void {
    this.#ended = true;
  }
}
