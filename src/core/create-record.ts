/**
 * A new (or regenerated) session's first record, written create-only so that a repeated id
 * never overwrites another visitor's record.
 * @module
 */

import { type Awaitable, then } from './awaitable.js';
import type { SessionData } from './codec.js';
import type { Logger } from './config.js';
import { StoreError } from './errors.js';
import { generateSessionId, storeKey } from './id.js';
import type { SessionState } from './session.js';
import type { Store } from './store.js';
import type { StoreCalls } from './store-calls.js';

/** Tries of a new session's create-only first write before giving up (each with a fresh id). */
const MAX_CREATE_TRIES = 3;

/**
 * Stores the session's first record create-only: when the key is taken, a new id is drawn into
 * `state` and the write tried again (a few times; then a StoreError). Stores without `create` are
 * written with `set`.
 */
export function createRecord<T extends SessionData>(
  store: Store,
  calls: StoreCalls,
  logger: Logger,
  state: SessionState<T>,
  text: string,
  atime: number,
): Awaitable<void> {
  const record = { data: text, atime, user: state.meta.user };
  const attempt = (tries: number): Awaitable<void> => {
    const key = state.key;
    const created = store.create
      ? calls.run('create', key, () => (store.create as NonNullable<Store['create']>)(key, record))
      : then(
          calls.run('set', key, () => store.set(key, record)),
          () => true,
        );
    return then(created, (ok) => {
      if (ok) return undefined;
      if (tries >= MAX_CREATE_TRIES)
        throw new StoreError(
          store.kind,
          `${MAX_CREATE_TRIES} new session ids in a row were taken already: is the random source broken?`,
        );
      logger.warn(
        `[websession] [${store.kind}] a new session id was taken already (the random source repeated?); drew another, the stored session is untouched`,
      );
      state.id = generateSessionId();
      state.key = storeKey(state.id);
      return attempt(tries + 1);
    });
  };
  return attempt(1);
}
