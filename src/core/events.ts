/**
 * Session events, for logs and metrics. Listeners are plain functions in arrays: emitting to an
 * event nobody listens to costs one property read.
 * @module
 */

/** What every event carries. */
export interface SessionEventBase {
  /** The first 12 characters of the store key (never the session id). */
  key: string;
  /** Duration of the store work behind the event, in milliseconds (0 when there was none). */
  ms: number;
}

/** The events of a SessionManager and what each carries. */
export interface SessionEvents {
  /** A new session was stored for the first time. */
  created: SessionEventBase & { bytes: number };
  /** An existing session was loaded from the store. */
  loaded: SessionEventBase;
  /** A changed session was written. */
  saved: SessionEventBase & { bytes: number };
  /** An unchanged session's access time was refreshed. */
  touched: SessionEventBase;
  /** A session got a new id. */
  regenerated: SessionEventBase & { previous: string };
  /** A session was killed. */
  killed: SessionEventBase;
  /** A stored session was found expired (idle timeout, lifetime or IP change). */
  expired: SessionEventBase & { reason: 'timeout' | 'lifetime' | 'ip' | 'unknown' };
  /** A store call failed. */
  error: SessionEventBase & { op: string; error: unknown };
  /**
   * A background cleanup pass ended (`error` when it failed), or was `skipped` because another
   * process sharing the store held the cleanup lease or had ended a pass less than an interval
   * ago. `ms` is the pass's wall time. `stalledMs`, on a skipped pass, says how long no pass of
   * any process is known to have ended, once that is more than three intervals (logged once).
   */
  cleanup: { ms: number; removed: number; skipped: boolean; error?: unknown; stalledMs?: number };
}

/** Name of a session event. */
export type SessionEventName = keyof SessionEvents;
/** A listener of event `E`. */
export type SessionListener<E extends SessionEventName> = (event: SessionEvents[E]) => void;

/** A minimal typed emitter. Listener exceptions are caught and reported to `onListenerError`. */
export class SessionEmitter {
  readonly #listeners: { [E in SessionEventName]?: SessionListener<E>[] } = {};
  #onListenerError: (err: unknown) => void = () => {};

  /** Adds a listener; returns a function that removes it. */
  on<E extends SessionEventName>(event: E, listener: SessionListener<E>): () => void {
    const existing = this.#listeners[event] as SessionListener<E>[] | undefined;
    const list = existing ?? [];
    if (!existing) (this.#listeners as Record<string, unknown>)[event] = list;
    list.push(listener);
    return () => this.off(event, listener);
  }

  /** Removes a listener. */
  off<E extends SessionEventName>(event: E, listener: SessionListener<E>): void {
    const list = this.#listeners[event] as SessionListener<E>[] | undefined;
    const i = list?.indexOf(listener) ?? -1;
    if (list && i >= 0) list.splice(i, 1);
  }

  /** True when `event` has listeners (to skip building an event nobody reads). */
  listens(event: SessionEventName): boolean {
    return (this.#listeners[event]?.length ?? 0) > 0;
  }

  /** Where listener exceptions go. */
  set onListenerError(fn: (err: unknown) => void) {
    this.#onListenerError = fn;
  }

  /** Calls the listeners of `event`. */
  emit<E extends SessionEventName>(event: E, detail: SessionEvents[E]): void {
    const list = this.#listeners[event] as SessionListener<E>[] | undefined;
    if (!list || list.length === 0) return;
    for (const listener of list) {
      try {
        listener(detail);
      } catch (err) {
        this.#onListenerError(err);
      }
    }
  }
}
