/**
 * The request cycle of one kind of session, behind the manager: the server-store cycle
 * (`server-cycle.ts`) or the sealed-cookie cycle (`sealed-cycle.ts`). The manager picks one at
 * construction and hands every request to it; nothing asks per request which kind it is.
 * @module
 */

import type { Awaitable } from './awaitable.js';
import type { SessionData } from './codec.js';
import type { CommitResult, RequestInfo } from './request.js';
import type { Session, SessionState } from './session.js';
import type { UserIndexAccess } from './user-sessions.js';

export interface SessionCycle<T extends SessionData> {
  /** The session the request's cookie names, or a new one (see `SessionManager.load`). */
  load(request: RequestInfo): Awaitable<Session<T>>;
  /** Persists what the request changed; the Set-Cookie value (see `SessionManager.commit`). */
  commit(state: SessionState<T>, request: RequestInfo): Awaitable<CommitResult>;
  /** `session.update(fn)` on a session not committed yet. */
  update(state: SessionState<T>, fn: (data: Partial<T>) => void): Promise<Partial<T>>;
  /** How the user-index calls reach the sessions; throws where no server keeps them. */
  userIndex(): UserIndexAccess;
  /** Deletes one session by store key; throws where no server keeps it. */
  revoke(key: string): Promise<void>;
  /** Removes expired sessions now; how many. */
  cleanup(): Promise<number>;
  /** Stops what runs in the background. */
  close(): void;
}
