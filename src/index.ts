/**
 * websession: server-side web sessions for Node.js, after web.py's session module.
 * @module
 */

export type { SessionData, SessionMeta, SessionPayload } from './core/codec.js';
export { decodePayload, decodeValue, encodePayload, encodeValue } from './core/codec.js';
export {
  DEFAULT_CONFIG,
  type Initializer,
  type Logger,
  type ResolvedConfig,
  resolveConfig,
  type SessionConfig,
} from './core/config.js';
export { MAX_COOKIE_HEADER, readCookie, signId, verifyCookieValue } from './core/cookie.js';
export * from './core/errors.js';
export { generateSessionId, isValidSessionId, storeKey } from './core/id.js';
export { type CommitResult, type RequestInfo, SessionManager } from './core/manager.js';
export type { Session, SessionApi } from './core/session.js';
export { DiskStore, type DiskStoreOptions } from './stores/disk.js';
export { MemoryStore, type MemoryStoreOptions } from './stores/memory.js';
export type {
  LockScope,
  Store,
  StoreCapabilities,
  StoredSession,
  StoreMutator,
} from './stores/store.js';
export { registerStoreScheme, type StoreFactory, storeFromUrl } from './stores/url.js';
