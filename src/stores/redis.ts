/**
 * RedisStore: sessions in Redis (or Valkey), shared by every app server that points at it.
 *
 * Each session is one hash `<prefix><store key>` with fields `d` (codec text), `a` (atime, ms)
 * and `v` (a random version token, new on every write). Redis expires it by itself (PEXPIRE at
 * atime + ttl), so `cleanup` costs nothing. Every operation is one round trip on one key:
 * get = HMGET; set, touch and the conditional write of `update` are small Lua scripts (EVALSHA,
 * falling back to EVAL once per connection after a script-cache flush), so they are atomic, and
 * every command names exactly one key, which is what Redis Cluster needs: no hash tags required.
 *
 * `update` is optimistic: read `d a v`, run the mutator, write only if `v` is unchanged (a Lua
 * compare-and-set), else read again and retry. Atomic across processes and machines, on a shared
 * connection (unlike WATCH, which is per connection).
 *
 * Beside this file: the connection, its errors and write deadlines (redis-connection.ts, with
 * the server's clock in server-clock.ts and the clients in redis-client.ts), the scripts
 * (redis-scripts.ts) and the user index (redis-users.ts).
 * @module
 */
import { randomBytes } from 'node:crypto';
import { ConfigError, StoreError } from '../core/errors.js';
import type { Store, StoreCapabilities, StoredSession, StoreMutator } from '../core/store.js';
import { assertKey, isStoreKey } from './key.js';
import { KeyedMutex } from './keyed-mutex.js';
import type { RedisClientLike } from './redis-client.js';
import { RedisConnection } from './redis-connection.js';
import { parseRedisStoreUrl, type RedisStoreOptions } from './redis-options.js';
import { SCRIPTS } from './redis-scripts.js';
import { RedisUserIndex } from './redis-users.js';
import { LastWritten } from './written.js';

export type { RedisCallClient, RedisClientLike, RedisSendCommandClient } from './redis-client.js';
export { type RedisStoreOptions, redisOptionsFromUrl } from './redis-options.js';

/** The command timeout of a store made without a SessionManager (its `store_timeout` default). */
const DEFAULT_COMMAND_TIMEOUT = 2000;

const GET_FIELDS = ['d', 'a'];
const UPDATE_FIELDS = ['d', 'a', 'v'];

/**
 * Largest record (characters) saved by comparing its data inside Redis. The script carries the
 * expected text beside the new one; past this size that costs Redis more than the read it saves
 * (bench/kv.ts, 32 KB, 50 in flight: 4,592 vs 9,177 saves/s), so larger records take the read
 * and the version compare-and-set.
 */
const CAS_DATA_MAX = 16_384;

const randomVersion = () => randomBytes(9).toString('base64url');
const escapeGlob = (text: string) => text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);

/**
 * Sessions in Redis, expired by Redis TTL.
 *
 * @example
 * const store = new RedisStore('redis://127.0.0.1:6379/0?prefix=sess:', { ttlSeconds: 3600 });
 * // or with a client the app already has (not closed by the store):
 * const store = new RedisStore(new Redis(), { prefix: 'sess:' });
 */
export class RedisStore implements Store {
  readonly kind = 'redis';
  readonly capabilities: StoreCapabilities = { lock: 'cross-process', nativeTtl: true };
  /** The key prefix. */
  readonly prefix: string;
  #ttlMs: number;
  readonly #ttlExplicit: boolean;
  readonly #maxRetries: number;
  readonly #scanCount: number;
  readonly #mutex = new KeyedMutex();
  readonly #written = new LastWritten();
  readonly #redis: RedisConnection;
  readonly #users: RedisUserIndex;

  /**
   * @param client a `redis://` / `rediss://` URL (the store makes an ioredis client and closes it
   *   in `close()`), or a client the application already has (left open by `close()`).
   */
  constructor(client: RedisClientLike | string, options: RedisStoreOptions = {}) {
    // A URL's parameters (`?prefix=…&ttl=…`, read in url.ts as for every store URL) are the
    // defaults; options given here win.
    const fromUrl = typeof client === 'string' ? parseRedisStoreUrl(client) : undefined;
    if (fromUrl) options = { ...fromUrl.options, ...options };
    const prefix = options.prefix ?? 'websession:';
    if (typeof prefix !== 'string') throw new ConfigError('RedisStore prefix must be a string');
    this.prefix = prefix;
    const ttl = options.ttlSeconds ?? 86400;
    if (!Number.isFinite(ttl) || ttl <= 0)
      throw new ConfigError('RedisStore ttlSeconds must be a positive number');
    this.#ttlMs = Math.round(ttl * 1000);
    this.#ttlExplicit = options.ttlSeconds !== undefined;
    this.#maxRetries = positiveInt('maxRetries', options.maxRetries ?? 100);
    this.#scanCount = positiveInt('scanCount', options.scanCount ?? 1000);
    const connectTimeout = positiveInt('connectTimeout', options.connectTimeout ?? 1000);
    const commandTimeout = positiveInt(
      'commandTimeout',
      options.commandTimeout ?? DEFAULT_COMMAND_TIMEOUT,
    );
    this.#redis = new RedisConnection(typeof client === 'string' ? undefined : client, {
      connection: fromUrl?.connection,
      cluster: options.cluster,
      logger: options.logger ?? {
        warn: (message, error) =>
          console.warn(message, error instanceof Error ? error.message : (error ?? '')),
      },
      connectTimeout,
      commandTimeout,
      commandTimeoutGiven: options.commandTimeout !== undefined,
    });
    this.#users = new RedisUserIndex(this.#redis, prefix);
  }

  /** The idle timeout (seconds) Redis expires sessions after. */
  get ttlSeconds(): number {
    return this.#ttlMs / 1000;
  }

  /**
   * Takes the SessionManager's idle timeout as the TTL, unless `ttlSeconds` was given, and its
   * `store_timeout` as the command timeout, unless `commandTimeout` was given (the optional
   * `Store.configure`, which the manager calls at construction). The client's timer is set a
   * little later than the manager's, so that the request's 503 comes from `store_timeout` and
   * names it; the client then gives the command up.
   */
  configure(options: { timeout: number; store_timeout?: number }): void {
    if (!this.#ttlExplicit && Number.isFinite(options.timeout) && options.timeout > 0)
      this.#ttlMs = Math.round(options.timeout * 1000);
    this.#redis.configure(options.store_timeout);
  }

  #key(key: string): string {
    assertKey(key, this.kind);
    return this.prefix + key;
  }

  /** ms left before a record of this atime expires (≤ 0: already expired). */
  #remaining(atime: number): number {
    return Math.floor(atime + this.#ttlMs - Date.now());
  }

  async get(key: string): Promise<StoredSession | undefined> {
    const k = this.#key(key);
    const reply = (await this.#redis.run('get', ['HMGET', k, ...GET_FIELDS])) as
      | (string | null)[]
      | null;
    return toRecord(reply);
  }

  async set(key: string, record: StoredSession): Promise<void> {
    const k = this.#key(key);
    this.#written.note(key, undefined);
    const ttl = this.#remaining(record.atime);
    if (ttl <= 0) {
      await this.#redis.run('set', ['DEL', k]); // already idle past the TTL: as if Redis expired it
      return;
    }
    const bound = await this.#users.bind('set', k, key, record.user, ttl);
    await this.#redis.script('set', SCRIPTS.set, bound.keys, [
      record.data,
      record.atime,
      randomVersion(),
      ttl,
      ...bound.args,
    ]);
  }

  async create(key: string, record: StoredSession): Promise<boolean> {
    const k = this.#key(key);
    this.#written.note(key, undefined);
    const ttl = this.#remaining(record.atime);
    // Already idle past the TTL: as if Redis expired it at once (nothing to write).
    if (ttl <= 0) return (await this.#redis.run('create', ['EXISTS', k])) === 0;
    const bound = await this.#users.bind('create', k, key, record.user, ttl);
    const done = await this.#redis.script('create', SCRIPTS.create, bound.keys, [
      record.data,
      record.atime,
      randomVersion(),
      ttl,
      ...bound.args,
    ]);
    return Number(done) === 1;
  }

  async update(
    key: string,
    mutator: StoreMutator,
    expected?: StoredSession,
  ): Promise<StoredSession | undefined> {
    const k = this.#key(key);
    return this.#mutex.run(key, async () => {
      if (expected && expected.data.length <= CAS_DATA_MAX) {
        // One round trip: write only if the stored data is still the data the caller read (or
        // what this process wrote since, when the caller read before that write).
        const basis = this.#written.basis(key, expected);
        const next = mutator({ ...basis });
        const ttl = next ? this.#remaining(next.atime) : 0;
        if (next && ttl > 0) {
          const bound = await this.#users.bind('update', k, key, next.user, ttl);
          const done = await this.#redis.script('update', SCRIPTS.casData, bound.keys, [
            basis.data,
            'set',
            next.data,
            next.atime,
            randomVersion(),
            ttl,
            ...bound.args,
          ]);
          if (Number(done) === 1) {
            this.#written.note(key, next);
            return { data: next.data, atime: next.atime };
          }
        }
      }
      for (let attempt = 0; attempt < this.#maxRetries; attempt++) {
        const reply = (await this.#redis.run('update', ['HMGET', k, ...UPDATE_FIELDS])) as
          | (string | null)[]
          | null;
        const current = toRecord(reply);
        const version = current ? (reply?.[2] ?? '') : '';
        const next = mutator(current && { ...current });
        if (next === undefined) return current;
        let done: unknown;
        if (next === null) {
          if (!current) return undefined;
          done = await this.#redis.script('update', SCRIPTS.cas, k, [version, 'del', '', 0, '', 0]);
          if (Number(done) === 1) {
            this.#written.note(key, undefined);
            return undefined;
          }
        } else {
          const ttl = this.#remaining(next.atime);
          const op = ttl > 0 ? 'set' : 'del';
          const bound =
            ttl > 0
              ? await this.#users.bind('update', k, key, next.user, ttl)
              : { keys: [k], args: ['', ''] };
          done = await this.#redis.script('update', SCRIPTS.cas, bound.keys, [
            version,
            op,
            next.data,
            next.atime,
            randomVersion(),
            Math.max(ttl, 1),
            ...bound.args,
          ]);
          if (Number(done) === 1) {
            const stored = ttl > 0 ? { data: next.data, atime: next.atime } : undefined;
            this.#written.note(key, stored);
            return stored;
          }
        }
        // Another process wrote in between: read again, after a short random pause.
        if (attempt > 0)
          await new Promise((resolve) =>
            setTimeout(resolve, Math.random() * Math.min(2 * attempt, 50)),
          );
      }
      throw new StoreError(
        this.kind,
        `update of ${key.slice(0, 12)}… gave up after ${this.#maxRetries} conflicting writes`,
      );
    });
  }

  async touch(key: string, atime: number): Promise<void> {
    const k = this.#key(key);
    const ttl = this.#remaining(atime);
    const hash = await this.#redis.script('touch', SCRIPTS.touch, k, [atime, ttl]);
    // The user's set must outlive the session it lists: extend it too (a second step, as the
    // set's name is only known now; a crash in between leaves it at most one touch short).
    if (typeof hash === 'string' && hash !== '' && ttl > 0)
      await this.#users.extend('touch', hash, ttl);
  }

  async delete(key: string): Promise<void> {
    this.#written.note(key, undefined);
    await this.#redis.run('delete', ['DEL', this.#key(key)]);
  }

  /**
   * Keys of the sessions bound to `user`: the members of `<prefix>user:<sha256(user)>` whose
   * record still exists and is still bound to that user (`u`); the others (expired, deleted or
   * rebound sessions) are removed from the set as they are found.
   */
  async userSessions(user: string): Promise<string[]> {
    return this.#users.sessions(user);
  }

  /** Redis expires sessions by TTL: nothing to do. Returns 0. */
  async cleanup(_maxIdleSeconds: number): Promise<number> {
    return 0;
  }

  /** Every key under the prefix, by SCAN (on every master of a Cluster). */
  async *keys(): AsyncIterable<string> {
    const { scanTargets } = await this.#redis.clientFor('keys');
    const pattern = `${escapeGlob(this.prefix)}*`;
    const seen = new Set<string>();
    for (const command of scanTargets()) {
      let cursor = '0';
      do {
        let reply: [string, string[]];
        try {
          reply = (await command(['SCAN', cursor, 'MATCH', pattern, 'COUNT', this.#scanCount])) as [
            string,
            string[],
          ];
        } catch (err) {
          throw this.#redis.error('keys', err);
        }
        cursor = String(reply[0]);
        for (const full of reply[1]) {
          const key = String(full).slice(this.prefix.length);
          // SCAN may return a key twice; the set holds keys of this scan only.
          if (isStoreKey(key) && !seen.has(key)) {
            seen.add(key);
            yield key;
          }
        }
      } while (cursor !== '0');
    }
  }

  /**
   * The key {@link RedisStore.quarantine} renames a record to: `<prefix>quarantine:{<prefix><key>}`
   * (the braces keep it in the record's Cluster slot), or `<prefix>quarantine:<key>` when the
   * prefix carries its own hash tag. Outside `keys()`, which lists store keys only.
   */
  quarantineKey(key: string): string {
    const full = this.#key(key);
    return full.includes('{')
      ? `${this.prefix}quarantine:${key}`
      : `${this.prefix}quarantine:{${full}}`;
  }

  /**
   * Moves a record that failed to decode aside: RENAME to {@link RedisStore.quarantineKey}, so it
   * is no longer served, with a fresh TTL (kept for inspection for one idle timeout, then Redis
   * drops it).
   */
  async quarantine(key: string): Promise<void> {
    const from = this.#key(key);
    const to = this.quarantineKey(key);
    try {
      await this.#redis.run('quarantine', ['RENAME', from, to]);
    } catch (err) {
      if (/no such key/i.test((err as Error)?.message ?? '')) return;
      throw err;
    }
    await this.#redis.run('quarantine', ['PEXPIRE', to, this.#ttlMs]);
  }

  /** Closes the connection the store made from a URL; a client given by the app stays open. */
  async close(): Promise<void> {
    await this.#redis.close();
  }
}

function toRecord(reply: (string | null)[] | null): StoredSession | undefined {
  const data = reply?.[0];
  if (data === null || data === undefined) return undefined;
  const atime = Number(reply?.[1]);
  return { data: String(data), atime: Number.isFinite(atime) ? atime : 0 };
}

function positiveInt(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1)
    throw new ConfigError(`RedisStore ${name} must be a positive integer`);
  return value;
}
