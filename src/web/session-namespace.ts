/** The members of `web.session`. */
export { Session, DiskStore, MemoryStore, type WebSession, type WebSessionOptions } from './session.js';
export { SessionExpiredError as SessionExpired } from '../core/errors.js';
export type { Store } from '../stores/store.js';
