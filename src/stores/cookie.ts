/**
 * CookieStore: the session sealed in the cookie itself, no server state. The value is the codec
 * text encrypted and authenticated with AES-256-GCM under a key derived with HKDF from the newest
 * secret key (a fresh random IV per seal); older keys still open old cookies. The seal carries
 * the last-access time (the creation time is in the payload's metadata), so the idle and absolute
 * timeouts hold without a server.
 *
 * The manager recognises it (`capabilities.inCookie`) and calls {@link CookieStore.open} at load
 * and {@link CookieStore.seal} at commit instead of the record methods, which hold nothing.
 *
 * What cannot hold without a server: no list of a user's sessions and no log out everywhere
 * (those calls throw), `kill()` clears only this browser's cookie (a copy of the cookie kept
 * elsewhere stays valid until it expires), and two concurrent requests of one browser each send
 * back their own cookie: the last response wins.
 * @module
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { ConfigError } from '../core/errors.js';
import type { CleanupProgress, Store, StoreCapabilities, StoredSession } from '../core/store.js';

/** Most bytes of one cookie, name and value together (what every browser keeps). */
export const MAX_COOKIE_BYTES = 4096;

/** Format version, first byte of every seal and part of the authenticated data. */
const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Version byte, IV, 8-byte access time (inside the ciphertext), tag. */
const MIN_SEAL = 1 + IV_BYTES + 8 + TAG_BYTES;
const HKDF_INFO = 'websession cookie store v1 aes-256-gcm';

/** Options of {@link CookieStore}. */
export interface CookieStoreOptions {
  /**
   * Secret keys, newest first (each at least 32 characters). Default: the session config's
   * `secret_key`, given to the store by the manager.
   */
  secret_keys?: string | readonly string[];
}

/** The session a cookie carried: codec text and last access (ms since epoch). */
export type OpenedCookie = StoredSession;

/** IVs drawn from the system's random source in batches (one call per 1,024 seals, not one each). */
const IV_BATCH = 1024;
let ivPool = Buffer.alloc(0);
let ivAt = 0;

/** A fresh random IV, never handed out twice. */
function freshIv(): Buffer {
  if (ivAt + IV_BYTES > ivPool.length) {
    ivPool = randomBytes(IV_BYTES * IV_BATCH);
    ivAt = 0;
  }
  const iv = ivPool.subarray(ivAt, ivAt + IV_BYTES);
  ivAt += IV_BYTES;
  return iv;
}

function deriveKey(secret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, '', HKDF_INFO, 32));
}

/**
 * Keeps the session in the cookie, encrypted. Give it to the manager (or any adapter) as any
 * store; the secret keys are the config's `secret_key` unless given here.
 *
 * @example
 * const manager = new SessionManager(new CookieStore(), { secret_key: process.env.SESSION_KEY });
 */
export class CookieStore implements Store {
  readonly kind = 'cookie';
  /** `inCookie`: the manager seals the session into the cookie; nothing is kept here. */
  readonly capabilities: StoreCapabilities = {
    lock: 'process',
    nativeTtl: true,
    inProcess: true,
    inCookie: true,
  };
  #keys: Buffer[] = [];

  constructor(options: CookieStoreOptions = {}) {
    if (options.secret_keys !== undefined) this.#setKeys(options.secret_keys);
  }

  #setKeys(keys: string | readonly string[]): void {
    const list = typeof keys === 'string' ? [keys] : [...keys];
    for (const k of list)
      if (typeof k !== 'string' || k.length < 32)
        throw new ConfigError(
          'each CookieStore secret key must be a string of at least 32 characters',
        );
    this.#keys = list.map(deriveKey);
  }

  /** True once the store has keys to seal with. */
  get hasKeys(): boolean {
    return this.#keys.length > 0;
  }

  /** Told the manager's config: takes its secret keys when none were given to the store. */
  configure(options: { timeout: number; secret_keys?: readonly string[] }): void {
    if (this.#keys.length === 0 && options.secret_keys && options.secret_keys.length > 0)
      this.#setKeys(options.secret_keys);
    if (this.#keys.length === 0)
      throw new ConfigError(
        'CookieStore needs a secret key (secret_key in the session config, at least 32 characters): it encrypts the session with it',
      );
  }

  /**
   * Seals codec text and its access time into a cookie value (base64url). `aad` binds the seal
   * to its cookie name: a value moved to another cookie does not open.
   */
  seal(text: string, atime: number, aad: string): string {
    const key = this.#keys[0];
    if (!key) throw new ConfigError('CookieStore has no secret key');
    const iv = freshIv();
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from(`${VERSION}:${aad}`));
    const head = Buffer.allocUnsafe(8);
    head.writeDoubleBE(atime, 0);
    const body = Buffer.concat([
      Buffer.of(VERSION),
      iv,
      cipher.update(head),
      cipher.update(text, 'utf8'),
      cipher.final(),
      cipher.getAuthTag(),
    ]);
    return body.toString('base64url');
  }

  /**
   * Opens a cookie value sealed by {@link CookieStore.seal} under any of the keys. Returns the
   * session and `stale` (sealed with an older key: the next save re-seals it with the newest),
   * or undefined for anything that does not open (tampered, truncated, foreign key, garbage).
   * Never throws.
   */
  open(value: string, aad: string): (OpenedCookie & { stale: boolean }) | undefined {
    if (value.length < 4 || value.length > MAX_COOKIE_BYTES || !/^[\w-]+$/.test(value))
      return undefined;
    const raw = Buffer.from(value, 'base64url');
    if (raw.length < MIN_SEAL || raw[0] !== VERSION) return undefined;
    const iv = raw.subarray(1, 1 + IV_BYTES);
    const tag = raw.subarray(raw.length - TAG_BYTES);
    const sealed = raw.subarray(1 + IV_BYTES, raw.length - TAG_BYTES);
    const ad = Buffer.from(`${VERSION}:${aad}`);
    for (let i = 0; i < this.#keys.length; i++) {
      try {
        const decipher = createDecipheriv('aes-256-gcm', this.#keys[i] as Buffer, iv);
        decipher.setAAD(ad);
        decipher.setAuthTag(tag);
        const plain = Buffer.concat([decipher.update(sealed), decipher.final()]);
        const atime = plain.readDoubleBE(0);
        if (!Number.isFinite(atime)) return undefined;
        return { data: plain.toString('utf8', 8), atime, stale: i > 0 };
      } catch {
        // not this key (or not authentic): try the next
      }
    }
    return undefined;
  }

  // The record methods: the manager never calls them for this store (the session is in the
  // cookie). They hold nothing, so tools that iterate a store see an empty one.
  get(_key: string): StoredSession | undefined {
    return undefined;
  }
  set(_key: string, _record: StoredSession): void {}
  create(_key: string, _record: StoredSession): boolean {
    return true;
  }
  update(): StoredSession | undefined {
    return undefined;
  }
  touch(_key: string, _atime: number): void {}
  delete(_key: string): void {}
  async cleanup(_maxIdleSeconds: number, _onProgress?: CleanupProgress): Promise<number> {
    return 0;
  }
  async *keys(): AsyncIterable<string> {}
  async close(): Promise<void> {}
}
