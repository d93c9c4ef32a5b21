/**
 * websession: server-side web sessions for Node.js, after web.py's session module.
 * @module
 */
export { SessionManager, type RequestInfo, type CommitResult } from './core/manager.js';
export type { Session, SessionApi } from './core/session.js';
export { type SessionConfig, type ResolvedConfig, type Logger, type Initializer, DEFAULT_CONFIG, resolveConfig } from './core/config.js';
export type { SessionData, SessionMeta, SessionPayload } from './core/codec.js';
export { encodeValue, decodeValue, encodePayload, decodePayload } from './core/codec.js';
export { generateSessionId, isValidSessionId, storeKey } from './core/id.js';
export { readCookie, signId, verifyCookieValue, MAX_COOKIE_HEADER } from './core/cookie.js';
export * from './core/errors.js';
export type { Store, StoredSession, StoreMutator, StoreCapabilities, LockScope } from './stores/store.js';
export { MemoryStore, type MemoryStoreOptions } from './stores/memory.js';
export { DiskStore, type DiskStoreOptions } from './stores/disk.js';
export { storeFromUrl, registerStoreScheme, type StoreFactory } from './stores/url.js';
