/**
 * A stored record's session, as the commands read it: one that fails to decode is counted or
 * reported as corrupt, not thrown.
 * @module
 */
import { decodePayload, type SessionPayload } from '../core/codec.js';
import type { StoredSession } from '../core/store.js';

/** The session a record holds; undefined when it does not decode. */
export function decode(record: StoredSession): SessionPayload | undefined {
  try {
    return decodePayload(record.data);
  } catch {
    return undefined;
  }
}
