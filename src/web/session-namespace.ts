/** The members of `web.session`. */

export { SessionExpiredError as SessionExpired } from '../core/errors.js';
export type { Store } from '../core/store.js';
export {
  CookieStore,
  DBStore,
  DiskStore,
  MemoryStore,
  RedisStore,
  Session,
  ShelfStore,
  type WebSession,
  type WebSessionOptions,
} from './session.js';
