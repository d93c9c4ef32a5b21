/**
 * What every framework adapter's module exports besides its middleware: the options, the 503 body
 * and the session's types.
 * @module
 */
export type { Session } from '../core/session.js';
export { type SessionOptions, STORE_UNAVAILABLE_BODY } from './common.js';
export type { AppSessionData } from './types.js';
