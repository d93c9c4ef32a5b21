/**
 * A session cookie whose name comes more than once in the Cookie header (one planted for a parent
 * domain or a longer path): which of its values are candidates, and which candidate is taken,
 * whatever their order in the header.
 * @module
 */

import {
  type IdCache,
  MAX_CANDIDATES,
  MAX_SIGNATURE_CHECKS,
  readCookies,
  type VerifiedId,
} from './cookie.js';
import type { StoredSession } from './store.js';

/** A well-formed, correctly signed value of the session cookie, with its store key. */
export type Candidate = VerifiedId & { key: string };

/**
 * The well-formed, correctly signed, distinct values of the session cookie: at most three.
 * Values this process issued or verified lately come first (recognised without an HMAC), so
 * values planted before the real one (for a parent domain or a longer path) never push it out
 * of the lookups; the others are checked in header order, at most {@link MAX_SIGNATURE_CHECKS}
 * signatures a request.
 */
export function cookieCandidates(
  ids: IdCache,
  header: string,
  name: string,
  signed: boolean,
): Candidate[] {
  const out: Candidate[] = [];
  const add = (verified: Candidate | undefined) => {
    if (verified && !out.some((v) => v.key === verified.key)) out.push(verified);
  };
  const values = readCookies(header, name);
  for (const value of values) {
    if (out.length === MAX_CANDIDATES) return out;
    add(ids.known(value));
  }
  let checks = MAX_SIGNATURE_CHECKS;
  for (const value of values) {
    if (out.length === MAX_CANDIDATES) break;
    if (ids.known(value)) continue;
    // Only a value of a signed cookie's shape costs an HMAC; anything else fails at once.
    if (signed && value.length === 108 && value.charCodeAt(64) === 46 && checks-- <= 0) break;
    add(ids.verify(value));
  }
  return out;
}

/**
 * The index of the candidate to load, given each one's record: the live one (the most recently
 * used when several are, then the smallest key); when none is live, the one with a record (else
 * the smallest key), which then goes through the usual expiry handling.
 */
export function chosenCandidate(
  candidates: readonly Candidate[],
  records: readonly (StoredSession | undefined)[],
  isLive: (record: StoredSession) => boolean,
): number {
  let best = -1;
  let bestScore = -1;
  for (let i = 0; i < candidates.length; i++) {
    const record = records[i];
    const score = record ? (isLive(record) ? 2 : 1) : 0;
    const better =
      best < 0 ||
      score > bestScore ||
      (score === bestScore && (record?.atime ?? 0) > (records[best]?.atime ?? 0)) ||
      (score === bestScore &&
        (record?.atime ?? 0) === (records[best]?.atime ?? 0) &&
        (candidates[i] as Candidate).key < (candidates[best] as Candidate).key);
    if (better) {
      best = i;
      bestScore = score;
    }
  }
  return best;
}
