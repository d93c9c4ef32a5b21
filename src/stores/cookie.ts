/**
 * CookieStore: the session sealed in the cookie itself, no server state. The value is the codec
 * text encrypted and authenticated with AES-256-GCM under a subkey derived with HKDF from the
 * newest secret key and a random 128-bit salt carried in the cookie (a fresh random IV per
 * seal); older keys still open old cookies. A process draws a fresh salt at start and after
 * every 2^31 seals, so no subkey ever seals more than half of the 2^32 messages NIST SP 800-38D
 * allows under one key with random 96-bit IVs; any process with the secret opens any cookie. The
 * seal carries
 * the last-access time (the creation time is in the payload's metadata), so the idle and absolute
 * timeouts hold without a server.
 *
 * It is a sealer (`CookieSealer`), not a record store: it goes where a store goes, and the
 * manager, seeing a sealer, runs the sealed-cookie cycle, which calls {@link CookieStore.open} at
 * load and {@link CookieStore.seal} at commit.
 *
 * What cannot hold without a server: no list of a user's sessions and no log out everywhere
 * (those calls throw), `kill()` clears only this browser's cookie (a copy of the cookie kept
 * elsewhere stays valid until it expires), and two concurrent requests of one browser each send
 * back their own cookie: the last response wins.
 * @module
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { MAX_COOKIE_BYTES } from '../core/cookie.js';
import { ConfigError } from '../core/errors.js';
import type { CookieSealer } from '../core/sealer.js';
import type { StoredSession } from '../core/store.js';

export { MAX_COOKIE_BYTES };

/**
 * Format version, first byte of every seal and part of the authenticated data. 2: with a subkey
 * salt; 1 (one key for every seal, no salt) still opens.
 */
const VERSION = 2;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const SALT_BYTES = 16;
/** The bytes before the ciphertext, by version: the version byte, (v2: the salt,) the IV. */
const HEADER: Readonly<Record<number, number>> = { 1: 1 + IV_BYTES, 2: 1 + SALT_BYTES + IV_BYTES };
const HKDF_INFO = 'websession cookie store v1 aes-256-gcm';
const SUBKEY_INFO = 'websession cookie store v2 aes-256-gcm subkey';
/** Seals under one subkey before the next is drawn: 2^31, half of NIST's 2^32 for random IVs. */
export const SEALS_PER_SUBKEY = 2 ** 31;
/** Subkeys of other processes' salts kept, once a cookie under them opened. */
const SUBKEY_CACHE = 256;

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

/** Writes a fresh random IV, never handed out twice, into `out` at `at`; returns it (a view of `out`). */
function writeFreshIv(out: Buffer, at: number): Buffer {
  if (ivAt + IV_BYTES > ivPool.length) {
    ivPool = randomBytes(IV_BYTES * IV_BATCH);
    ivAt = 0;
  }
  ivPool.copy(out, at, ivAt, ivAt + IV_BYTES);
  ivAt += IV_BYTES;
  return out.subarray(at, at + IV_BYTES);
}

function deriveKey(secret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, '', HKDF_INFO, 32));
}

/** The subkey of a (derived) key and a salt. */
function deriveSubkey(key: Buffer, salt: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', key, salt, SUBKEY_INFO, 32));
}

/** The subkey this process seals with, and how many seals it made. */
interface Sealing {
  salt: Buffer;
  key: Buffer;
  seals: number;
}

/**
 * Cookie values sealed or opened lately that are kept (the least recently used goes first): a
 * browser sends back the value it was last given, so each active browser needs one, for as long
 * as it takes the process to make this many seals. About 300 bytes each.
 */
const RECENT_VALUES = 4096;

/** A cookie value known to open: what it holds, for the cookie name it was sealed for. */
interface KnownSeal {
  data: string;
  atime: number;
  aad: string;
  stale: boolean;
}

/**
 * Keeps the session in the cookie, encrypted. Give it to the manager (or any adapter) as any
 * store; the secret keys are the config's `secret_key` unless given here.
 *
 * @example
 * const manager = new SessionManager(new CookieStore(), { secret_key: process.env.SESSION_KEY });
 */
export class CookieStore implements CookieSealer {
  readonly kind = 'cookie';
  #keys: Buffer[] = [];
  /** The keys came from a manager's config (not from the options): another manager must agree. */
  #keysFromManager = false;
  /** The subkey seals are made with now (drawn on first use and every SEALS_PER_SUBKEY seals). */
  #sealing: Sealing | undefined;
  /** Subkeys by key index and salt (hex) that opened a cookie: no HKDF per request for them. */
  readonly #subkeys = new LRUCache<string, Buffer>({ max: SUBKEY_CACHE });
  /** The additional authenticated data of each cookie name, made once. */
  readonly #aad = new Map<string, Buffer>();
  /**
   * Values this store sealed or opened lately, by value, at most RECENT_VALUES. The browser sends
   * back the value it was last given: it opens from here without a decryption. Only values that
   * were sealed here or opened authentic are kept, and a hit needs the very same string, so
   * nothing opens here that would not open by decrypting it.
   */
  readonly #recent = new LRUCache<string, KnownSeal>({ max: RECENT_VALUES });

  constructor(options: CookieStoreOptions = {}) {
    if (options.secret_keys !== undefined) this.#setKeys(options.secret_keys);
  }

  #setKeys(keys: string | readonly string[]): void {
    this.#keys = CookieStore.#derive(keys);
    this.#sealing = undefined;
    this.#subkeys.clear();
    this.#recent.clear();
  }

  /** The subkey to seal with: a fresh salt at first use and after SEALS_PER_SUBKEY seals. */
  #sealingKey(key: Buffer): Sealing {
    let sealing = this.#sealing;
    if (!sealing || sealing.seals >= SEALS_PER_SUBKEY) {
      const salt = randomBytes(SALT_BYTES);
      sealing = { salt, key: deriveSubkey(key, salt), seals: 0 };
      this.#sealing = sealing;
    }
    sealing.seals++;
    return sealing;
  }

  /** How many seals the current subkey has made (for tests and metrics). */
  get sealsUnderSubkey(): number {
    return this.#sealing?.seals ?? 0;
  }

  static #derive(keys: string | readonly string[]): Buffer[] {
    const list = typeof keys === 'string' ? [keys] : [...keys];
    for (const k of list)
      if (typeof k !== 'string' || k.length < 32)
        throw new ConfigError(
          'each CookieStore secret key must be a string of at least 32 characters',
        );
    return list.map(deriveKey);
  }

  /** True once the store has keys to seal with. */
  get hasKeys(): boolean {
    return this.#keys.length > 0;
  }

  /**
   * Told the manager's config: takes its secret keys when none were given to the store. A second
   * manager whose secret keys differ from those the store took from the first is refused: the
   * store would otherwise seal its sessions with the first one's key, silently.
   */
  configure(options: { timeout: number; secret_keys?: readonly string[] }): void {
    const given = options.secret_keys;
    if (this.#keysFromManager && given && given.length > 0) {
      const derived = CookieStore.#derive(given);
      const same =
        derived.length === this.#keys.length &&
        derived.every((k, i) => k.equals(this.#keys[i] as Buffer));
      if (!same)
        throw new ConfigError(
          'this CookieStore already seals with the secret_key of another SessionManager: give each manager with its own secret_key its own CookieStore (or give the store its secret_keys)',
        );
    }
    if (this.#keys.length === 0 && given && given.length > 0) {
      this.#setKeys(given);
      this.#keysFromManager = true;
    }
    if (this.#keys.length === 0)
      throw new ConfigError(
        'CookieStore needs a secret key (secret_key in the session config, at least 32 characters): it encrypts the session with it',
      );
  }

  /** `<version>:<cookie name>`, the additional authenticated data of a seal, as bytes. */
  #aadOf(aad: string, version = VERSION): Buffer {
    const tag = `${version}:${aad}`;
    let bytes = this.#aad.get(tag);
    if (bytes === undefined) {
      bytes = Buffer.from(tag);
      if (this.#aad.size < 16) this.#aad.set(tag, bytes);
    }
    return bytes;
  }

  /**
   * Seals codec text and its access time into a cookie value (base64url). `aad` binds the seal
   * to its cookie name: a value moved to another cookie does not open.
   */
  seal(text: string, atime: number, aad: string): string {
    const key = this.#keys[0];
    if (!key) throw new ConfigError('CookieStore has no secret key');
    const sealing = this.#sealingKey(key);
    // Version, salt, IV, then the ciphertext of (access time, text), then the tag: in place.
    const textBytes = Buffer.byteLength(text, 'utf8');
    const header = HEADER[VERSION] as number;
    const out = Buffer.allocUnsafe(header + 8 + textBytes + TAG_BYTES);
    out[0] = VERSION;
    sealing.salt.copy(out, 1);
    const iv = writeFreshIv(out, 1 + SALT_BYTES);
    const cipher = createCipheriv('aes-256-gcm', sealing.key, iv);
    cipher.setAAD(this.#aadOf(aad));
    const plain = Buffer.allocUnsafe(8 + textBytes);
    plain.writeDoubleBE(atime, 0);
    plain.write(text, 8, 'utf8');
    let at = header;
    at += cipher.update(plain).copy(out, at);
    at += cipher.final().copy(out, at);
    cipher.getAuthTag().copy(out, at);
    const value = out.toString('base64url');
    this.#recent.set(value, { data: text, atime, aad, stale: false });
    return value;
  }

  /**
   * Opens a cookie value sealed by {@link CookieStore.seal} under any of the keys. Returns the
   * session and `stale` (sealed with an older key: the next save re-seals it with the newest),
   * or undefined for anything that does not open (tampered, truncated, foreign key, garbage).
   * Never throws.
   */
  open(value: string, aad: string): (OpenedCookie & { stale: boolean }) | undefined {
    const known = this.#recent.get(value);
    if (known !== undefined && known.aad === aad)
      return { data: known.data, atime: known.atime, stale: known.stale };
    if (value.length < 4 || value.length > MAX_COOKIE_BYTES) return undefined;
    const raw = Buffer.from(value, 'base64url');
    const version = raw[0] as number;
    const header = HEADER[version];
    // Version, header, 8-byte access time (inside the ciphertext), tag.
    if (header === undefined || raw.length < header + 8 + TAG_BYTES) return undefined;
    // Only the one encoding seal() writes: the decoder skips foreign characters and spare
    // trailing bits, so other spellings of the same bytes would open too.
    if (raw.toString('base64url') !== value) return undefined;
    const salt = version === 1 ? undefined : raw.subarray(1, 1 + SALT_BYTES);
    const iv = raw.subarray(header - IV_BYTES, header);
    const tag = raw.subarray(raw.length - TAG_BYTES);
    const sealed = raw.subarray(header, raw.length - TAG_BYTES);
    const ad = this.#aadOf(aad, version);
    for (let i = 0; i < this.#keys.length; i++) {
      try {
        const key = this.#keys[i] as Buffer;
        const cacheKey = salt && `${i}:${salt.toString('hex')}`;
        const subkey = salt && (this.#subkeys.get(cacheKey as string) ?? deriveSubkey(key, salt));
        const decipher = createDecipheriv('aes-256-gcm', subkey ?? key, iv);
        decipher.setAAD(ad);
        decipher.setAuthTag(tag);
        const plain = decipher.update(sealed);
        // final() throws when the tag does not match: nothing of `plain` is used before it.
        decipher.final();
        const atime = plain.readDoubleBE(0);
        if (!Number.isFinite(atime)) return undefined;
        // Authentic: its subkey is kept (bounded), so the next cookie of that salt skips HKDF.
        if (subkey && cacheKey && !this.#subkeys.has(cacheKey)) this.#subkeys.set(cacheKey, subkey);
        const opened = { data: plain.toString('utf8', 8), atime, stale: i > 0 || version === 1 };
        this.#recent.set(value, { ...opened, aad });
        return opened;
      } catch {
        // not this key (or not authentic): try the next
      }
    }
    return undefined;
  }

  /** Holds nothing to release (there so that code closing its store closes this one too). */
  async close(): Promise<void> {}
}
