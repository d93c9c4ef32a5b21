/** The members of `web.session`. */

export { SessionExpiredError as SessionExpired } from '../core/errors.js';
export type { Store } from '../stores/store.js';
export {
  DiskStore,
  MemoryStore,
  Session,
  type WebSession,
  type WebSessionOptions,
} from './session.js';
