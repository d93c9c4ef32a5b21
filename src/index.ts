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
export {
  IdCache,
  MAX_COOKIE_HEADER,
  readCookie,
  readCookies,
  signId,
  verifyCookieValue,
} from './core/cookie.js';
export * from './core/errors.js';
export type {
  SessionEventBase,
  SessionEventName,
  SessionEvents,
  SessionListener,
} from './core/events.js';
export { generateSessionId, isValidSessionId, storeKey } from './core/id.js';
export {
  type CommitResult,
  type RequestInfo,
  SessionManager,
  type UserSessionInfo,
} from './core/manager.js';
export type { MigrationHost, MigrationProgress, SessionMigration } from './core/migration.js';
export { clientAddress, isSecureRequest, proxyHops } from './core/proxy.js';
export type { CookieSealer, StoreOrSealer } from './core/sealer.js';
export type { Session, SessionApi } from './core/session.js';
export type {
  CleanupProgress,
  LockScope,
  Store,
  StoreCapabilities,
  StoredSession,
  StoreLease,
  StoreMutator,
} from './core/store.js';
export {
  type ConnectCallback,
  type ConnectSessionRecord,
  type ConnectStoreLike,
  type ConnectStoreOptions,
  connectStore,
} from './stores/connect.js';
export {
  CookieStore,
  type CookieStoreOptions,
  MAX_COOKIE_BYTES,
  type OpenedCookie,
} from './stores/cookie.js';
export {
  createSessionTable,
  Database,
  type DatabaseHandle,
  type DatabaseParams,
  DBStore,
  type DBStoreOptions,
  type Dbn,
  database,
  sessionTableDDL,
} from './stores/db/index.js';
export { DiskStore, type DiskStoreOptions } from './stores/disk.js';
export {
  ExpressSessionMigration,
  type ExpressSessionMigrationOptions,
  expressSessionMigration,
  type MoveOutcome,
  type MoveStep,
} from './stores/express-session-migration.js';
export { MemoryStore, type MemoryStoreOptions } from './stores/memory.js';
export {
  type RedisCallClient,
  type RedisClientLike,
  type RedisSendCommandClient,
  RedisStore,
  type RedisStoreOptions,
  redisOptionsFromUrl,
} from './stores/redis.js';
export { ShelfStore, type ShelfStoreOptions } from './stores/shelf.js';
export {
  registerStoreScheme,
  type StoreFactory,
  type StoreUrlOptions,
  storeFromUrl,
} from './stores/url.js';
