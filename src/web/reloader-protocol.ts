/**
 * What the debug-mode reloader's supervisor and its children say to each other (over the
 * `node:cluster` IPC channel), and what both sides share: the environment marker of a child, the
 * time a retiring child has, and the reloader's log line.
 * @module
 */
import type { Snapshot } from './reloader-handover.js';

/** Environment marker of a child started by the reloader. */
export const CHILD_ENV = 'WEBSESSION_RELOADER_CHILD';
/** Longest wait for a retiring child to finish its requests and hand over its stores. */
export const RETIRE_TIMEOUT_MS = 10_000;

/** A message between the supervisor and a child. */
export type Message =
  | { websession: 'loaded' }
  | { websession: 'start'; entry: string }
  | { websession: 'retire' }
  | { websession: 'snapshot'; stores: Snapshot }
  | { websession: 'restore'; stores: Snapshot }
  | { websession: 'reload-error'; error: string };

/** True for a message of the reloader (the channel may carry the application's own). */
export function isMessage(value: unknown): value is Message {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { websession?: unknown }).websession === 'string'
  );
}

/** Logs a line of the reloader. */
export const log = (text: string): void => console.error(`[websession] reloader: ${text}`);
