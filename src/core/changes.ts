/**
 * What a request changed in its session, and how a batch of requests' changes is applied to the
 * stored record in arrival order (the mutator of one group-committed store write).
 * @module
 */

import {
  decodePayload,
  encodePayload,
  encodeValue,
  isJsonPayloadText,
  type SessionData,
  type SessionPayload,
} from './codec.js';
import { SessionTooLargeError } from './errors.js';
import type { SessionState } from './session.js';
import type { StoredSession, StoreMutator } from './store.js';

function hasKeys(o: object): boolean {
  for (const _ in o) return true;
  return false;
}

/** True when no value of `data` is an object, an array or a function. */
function holdsOnlyPrimitives(data: SessionData): boolean {
  for (const k in data) {
    const v = data[k];
    if (typeof v === 'object' ? v !== null : typeof v === 'function') return false;
  }
  return true;
}

/** The payload a request would store, with `data` as its data. */
function payloadOf(state: SessionState<SessionData>, data: SessionData): SessionPayload {
  const payload: SessionPayload = { v: 1, meta: state.meta, data };
  if (hasKeys(state.flashOut)) payload.flash = state.flashOut;
  return payload;
}

/** The payload a request would store, as codec text (not size-checked). */
export function payloadText<T extends SessionData>(state: SessionState<T>): string {
  const s = state as SessionState<SessionData>;
  return encodePayload(payloadOf(s, s.data));
}

/**
 * The payload a request would store, as a copy apart from the session (for `fn` to change), made
 * without decoding its baseline: undefined when the data holds objects (then only a decode makes
 * a copy apart).
 */
function ownView(state: SessionState<SessionData>): SessionPayload | undefined {
  return holdsOnlyPrimitives(state.data) ? payloadOf(state, { ...state.data }) : undefined;
}

/** `text` when it fits in `max` UTF-8 bytes; else throws SessionTooLargeError. */
export function checkSize(text: string, max: number): string {
  // UTF-8 takes at most 3 bytes per UTF-16 unit: count bytes only when it could matter.
  if (text.length > max || (text.length * 3 > max && Buffer.byteLength(text, 'utf8') > max))
    throw new SessionTooLargeError(Buffer.byteLength(text, 'utf8'), max);
  return text;
}

/** No outcomes yet (shared: never changed). */
const NO_OUTCOMES: readonly Outcome[] = [];

/** No changed keys (shared: never changed). */
const NO_KEYS: readonly string[] = [];

/**
 * Changed keys found cheaply from the writes made through the session, or undefined when the
 * data holds objects (which may have been mutated in place: then only a full compare tells).
 */
function fastChangedKeys(state: SessionState<SessionData>): readonly string[] | undefined {
  const data = state.data;
  if (!holdsOnlyPrimitives(data)) return undefined;
  return state.touched?.changedIn(data) ?? NO_KEYS;
}

/** Keys whose values differ between the baseline and the current data (full compare). */
function changedKeys(state: SessionState<SessionData>): string[] {
  let original: SessionData = {};
  try {
    original = decodePayload(state.baseline).data;
  } catch {
    // a corrupt baseline cannot happen for loaded sessions; treat every key as changed
  }
  const current = state.data;
  const keys = new Set([...Object.keys(original), ...Object.keys(current)]);
  const changed: string[] = [];
  for (const k of keys) {
    const had = Object.hasOwn(original, k);
    const has = Object.hasOwn(current, k);
    if (had !== has || encodeValue(original[k]) !== encodeValue(current[k])) changed.push(k);
  }
  return changed;
}

/** What the request changed: its keys, and whether anything at all is to be written. */
export function requestChanges(state: SessionState<SessionData>): {
  keys: readonly string[];
  changed: boolean;
} {
  const fast = fastChangedKeys(state);
  if (fast !== undefined) {
    const changed =
      fast.length > 0 || state.metaChanged || state.hadFlash || hasKeys(state.flashOut);
    return { keys: fast, changed };
  }
  const changed = payloadText(state) !== state.baseline;
  return { keys: changed ? changedKeys(state) : NO_KEYS, changed };
}

/** Merges a request's changed keys, metadata and flash messages into a stored payload. */
function mergeInto(
  payload: SessionPayload,
  state: SessionState<SessionData>,
  keys: readonly string[],
): void {
  const src = state.data;
  for (const k of keys) {
    if (Object.hasOwn(src, k)) payload.data[k] = src[k];
    else delete payload.data[k];
  }
  payload.meta = state.meta;
  if (state.hadFlash || hasKeys(state.flashOut)) {
    if (hasKeys(state.flashOut)) payload.flash = state.flashOut;
    else delete payload.flash;
  }
}

/** One request's change to a stored session. */
export type Change =
  /** Merge the request's changed keys (and run `fn` on the merged data: `session.update`). */
  | {
      kind: 'save';
      state: SessionState<SessionData>;
      keys: readonly string[];
      fn?: ((data: SessionData) => void) | undefined;
    }
  /** Delete the record (kill, or the old id of a regenerated session). */
  | { kind: 'kill' };

/** What one change found and left. */
export interface Outcome {
  /** A record was there when the change was applied. */
  alive: boolean;
  /** The record's text right after this change (this request's view); undefined when none. */
  text?: string | undefined;
  /** Why this change alone was not applied (too large, or `fn` threw). */
  error?: unknown;
  /**
   * `text` decoded, when the write carried this change alone, its text is plain JSON (which
   * round-trips the payload exactly) and its data holds only primitives (a shallow copy of it is
   * then apart from what `fn` saw): the caller need not decode `text` again.
   */
  payload?: SessionPayload | undefined;
}

/**
 * One store write carrying `changes` in order: its mutator, and the outcome of each change (read
 * after the write: an optimistic store may run the mutator more than once, the last run counts).
 * A killed record stays dead for the changes after the kill: nothing revives it.
 */
export class Batch {
  readonly #changes: readonly Change[];
  readonly #maxSize: number;
  /** The outcome of each change, as the mutator's last run left them. */
  outcomes: readonly Outcome[] = NO_OUTCOMES;
  /** The mutator of the write (bound: a store calls it as a plain function). */
  readonly mutator: StoreMutator;

  constructor(changes: readonly Change[], maxSize: number) {
    this.#changes = changes;
    this.#maxSize = maxSize;
    this.mutator = this.#mutate.bind(this);
  }

  #mutate(current: StoredSession | undefined): StoredSession | null | undefined {
    const changes = this.#changes;
    const outcomes = new Array<Outcome>(changes.length);
    this.outcomes = outcomes;
    let at = 0;
    let text = current?.data;
    let user: string | undefined;
    /** `text` decoded, while nothing has touched it since. */
    let payload: SessionPayload | undefined;
    let applied = false;
    for (const change of changes) {
      const alive = text !== undefined;
      if (change.kind === 'kill') {
        text = undefined;
        payload = undefined;
        applied = true;
        outcomes[at++] = { alive };
        continue;
      }
      const state = change.state;
      if (text === undefined && !state.isNew) {
        outcomes[at++] = { alive }; // killed or expired: never revived
        continue;
      }
      try {
        if (text === undefined) {
          // A new session's first write (its id is fresh: no one else has written it).
          const p = decodePayload(payloadText(state));
          change.fn?.(p.data);
          text = checkSize(encodePayload(p), this.#maxSize);
          payload = p;
        } else if (text === state.baseline && !change.fn) {
          // Nobody wrote since this request loaded it: its own view is the merged record.
          text = checkSize(payloadText(state), this.#maxSize);
          payload = undefined;
        } else {
          const p =
            payload ??
            (text === state.baseline ? ownView(state) : undefined) ??
            decodePayload(text);
          payload = undefined; // mutated below: decoded anew if this change fails
          mergeInto(p, state, change.keys);
          change.fn?.(p.data);
          text = checkSize(encodePayload(p), this.#maxSize);
          payload = p;
        }
        user = state.meta.user;
        applied = true;
        outcomes[at++] = { alive, text };
      } catch (error) {
        outcomes[at++] = { alive, error };
      }
    }
    // The payload of a lone change, untouched since it was encoded, is what its text decodes to
    // when the text is JSON; with other changes in the batch it may share their objects.
    if (
      payload !== undefined &&
      changes.length === 1 &&
      text !== undefined &&
      isJsonPayloadText(text) &&
      holdsOnlyPrimitives(payload.data)
    ) {
      const outcome = outcomes[0];
      if (outcome) outcome.payload = payload;
    }
    if (!applied) return undefined; // every change failed: the record stays as it was
    if (text === undefined) return current ? null : undefined;
    return { data: text, atime: Date.now(), user } satisfies StoredSession;
  }
}
