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
 * User index: a session bound to a user keeps `u` (sha256 of the user) in its hash, and its key
 * is a member of the set `<prefix>user:<sha256(user)>`, whose expiry is kept no shorter than its
 * sessions'. On one node the SADD runs in the same script as the record write (the script's two
 * keys). On a Cluster the set and the record are in different slots, so the set is written first
 * in its own script, then the record: never a missing entry, at worst a left-over one.
 * `userSessions` keeps the members whose record still exists with that `u`, and SREMs the rest.
 *
 * `update` is optimistic: read `d a v`, run the mutator, write only if `v` is unchanged (a Lua
 * compare-and-set), else read again and retry. Atomic across processes and machines, on a shared
 * connection (unlike WATCH, which is per connection).
 *
 * A write answered with an error never lands later: Redis runs whatever reached its socket, even
 * after the client gave up (a paused or stalled server resumes and executes its backlog), so every
 * write script carries a deadline in the server's clock and refuses to run past it (`TIME` in the
 * script). The deadline is the command timeout less a grace for the reply's way back, converted
 * with the offset between this machine's clock and the server's, measured by `TIME` (again every
 * minute and after each reconnect).
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Logger } from '../core/config.js';
import { ConfigError, StoreError, StoreUnavailableError } from '../core/errors.js';
import type { Store, StoreCapabilities, StoredSession, StoreMutator } from '../core/store.js';
import { assertKey, isStoreKey } from './key.js';
import { KeyedMutex } from './keyed-mutex.js';
import { loadOptional } from './optional.js';
import { parseRedisStoreUrl, type RedisStoreOptions } from './redis-options.js';
import { SCRIPTS, type Script } from './redis-scripts.js';
import { LastWritten } from './written.js';

/**
 * A client of ioredis or iovalkey (`new Redis()`, `new Cluster()`): anything with
 * `call(command, ...args)`. Cluster clients also have `nodes('master')`, used by `keys()`.
 */
export interface RedisCallClient {
  call(command: string, ...args: (string | number)[]): Promise<unknown>;
  nodes?: (role?: 'master' | 'slave' | 'all') => RedisCallClient[];
}

/** A node-redis (`redis` / `@redis/client`, v4+) client from `createClient()`: `sendCommand(args)`. */
export interface RedisSendCommandClient {
  sendCommand(args: string[]): Promise<unknown>;
}

/** A Redis client the application already has: ioredis / iovalkey (Redis or Cluster), or node-redis (single node). */
export type RedisClientLike = RedisCallClient | RedisSendCommandClient;

export { type RedisStoreOptions, redisOptionsFromUrl } from './redis-options.js';

/** The command timeout of a store made without a SessionManager (its `store_timeout` default). */
const DEFAULT_COMMAND_TIMEOUT = 2000;
/** How much later than the manager's `store_timeout` the client gives a command up. */
const COMMAND_TIMEOUT_MARGIN_MS = 250;

/** Sets the command timeout of a client this store made, and of a Cluster client's nodes. */
function setCommandTimeout(client: OwnedClient, ms: number): void {
  if (client.options.redisOptions) {
    client.options.redisOptions.commandTimeout = ms;
    for (const node of client.nodes?.() ?? []) node.options.commandTimeout = ms;
  } else {
    client.options.commandTimeout = ms;
  }
}

const GET_FIELDS = ['d', 'a'];
const UPDATE_FIELDS = ['d', 'a', 'v'];

/** ms between two measures of the offset between this machine's clock and the server's. */
const CLOCK_REFRESH_MS = 60_000;
const userHash = (user: string) => createHash('sha256').update(user).digest('hex');

type Command = (args: (string | number)[]) => Promise<unknown>;
interface Connection {
  command: Command;
  scanTargets: () => Command[];
  owned?: OwnedClient;
  /** A Redis Cluster client: a script may only name keys of one slot. */
  cluster: boolean;
}

/**
 * Largest record (characters) saved by comparing its data inside Redis. The script carries the
 * expected text beside the new one; past this size that costs Redis more than the read it saves
 * (bench/kv.ts, 32 KB, 50 in flight: 4,592 vs 9,177 saves/s), so larger records take the read
 * and the version compare-and-set.
 */
const CAS_DATA_MAX = 16_384;

/** ioredis's refusals of a command while it has no connection. */
const NOT_CONNECTED = /Stream isn't writeable|Connection is closed|enableOfflineQueue/i;
/** Reply errors that mean "Redis cannot serve now" rather than "this request is wrong". */
const UNAVAILABLE_REPLY =
  /^(LOADING|BUSY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|READONLY|OOM|NOREPLICAS|MISCONF|WEBSESSION_LATE)\b/;

function isReplyError(err: unknown): boolean {
  // ioredis: ReplyError; node-redis: ErrorReply and its subclasses (SimpleError, BlobError)
  const names = ['ReplyError', 'ErrorReply', 'SimpleError', 'BlobError'];
  for (let c = err?.constructor; c && c !== Error && c !== Object; c = Object.getPrototypeOf(c)) {
    if (names.includes(c.name)) return true;
  }
  return names.includes((err as Error | null)?.name ?? '');
}

function commandOf(client: RedisClientLike): Command {
  if (typeof (client as RedisCallClient).call === 'function') {
    const c = client as RedisCallClient;
    return ([command, ...args]) => c.call(String(command), ...args);
  }
  if (typeof (client as RedisSendCommandClient).sendCommand === 'function') {
    const c = client as RedisSendCommandClient;
    return (args) => c.sendCommand(args.map(String));
  }
  throw new ConfigError(
    'RedisStore needs an ioredis/iovalkey client (call) or a node-redis client (sendCommand), or a redis:// URL',
  );
}

const randomVersion = () => randomBytes(9).toString('base64url');
const escapeGlob = (text: string) => text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);

/** What the store needs of the ioredis client it makes itself from a URL. */
interface OwnedClient {
  status: string;
  /** ioredis reads `commandTimeout` here at each command; a Cluster client has `redisOptions`. */
  options: { commandTimeout?: number; redisOptions?: { commandTimeout?: number } };
  nodes?(): { options: { commandTimeout?: number } }[];
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  once(event: string, listener: (...args: unknown[]) => void): unknown;
  quit(): Promise<unknown>;
  disconnect(): void;
}

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
  readonly #logger: Logger;
  readonly #mutex = new KeyedMutex();
  readonly #written = new LastWritten();
  readonly #client: Promise<Connection>;
  #ownedReady: Promise<void> | undefined;
  #everReady = false;
  #healthy = true;
  /** The owned client's last connection error, until it is ready again. */
  #connectError: Error | undefined;
  #closed = false;
  readonly #connectTimeout: number;
  /** `host:port` of the server the store connects to from a URL, for messages. */
  #where = '';
  /** ms after which a command is given up (the client's command timeout). */
  #commandTimeout: number;
  /** The command timeout came from the options, a URL or a given client: configure() keeps it. */
  readonly #commandTimeoutFixed: boolean;
  /** The manager's store_timeout (ms), when told: a write's deadline never outlasts it. */
  #storeTimeout = Infinity;
  /** The client this store made from a URL, once made. */
  #owned: OwnedClient | undefined;
  /** The server's clock less this machine's (ms), and the round trip it was measured over. */
  #clock: { offset: number; rtt: number; at: number } | undefined;
  #clockMeasure: Promise<void> | undefined;

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
    this.#connectTimeout = positiveInt('connectTimeout', options.connectTimeout ?? 1000);
    // A given ioredis client's own command timeout, when shorter, is when its caller gives up.
    const clientTimeout =
      typeof client === 'string'
        ? undefined
        : (client as { options?: { commandTimeout?: unknown } }).options?.commandTimeout;
    this.#commandTimeout = Math.min(
      positiveInt('commandTimeout', options.commandTimeout ?? DEFAULT_COMMAND_TIMEOUT),
      typeof clientTimeout === 'number' && clientTimeout > 0 ? clientTimeout : Infinity,
    );
    this.#commandTimeoutFixed =
      options.commandTimeout !== undefined || typeof clientTimeout === 'number';
    this.#logger = options.logger ?? {
      warn: (message, error) =>
        console.warn(message, error instanceof Error ? error.message : (error ?? '')),
    };
    if (typeof client === 'string') {
      this.#client = this.#connect(fromUrl!.connection, options);
    } else {
      const command = commandOf(client);
      const scanTargets = () =>
        typeof (client as RedisCallClient).nodes === 'function'
          ? (client as Required<RedisCallClient>).nodes('master').map((node) => commandOf(node))
          : [command];
      this.#client = Promise.resolve({
        command,
        scanTargets,
        cluster: typeof (client as RedisCallClient).nodes === 'function',
      });
      this.#everReady = true;
    }
    this.#client.catch(() => {}); // reported by the first operation
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
    const storeTimeout = options.store_timeout;
    if (storeTimeout !== undefined && storeTimeout > 0) this.#storeTimeout = storeTimeout;
    if (!this.#commandTimeoutFixed && storeTimeout !== undefined && storeTimeout > 0) {
      this.#commandTimeout = Math.round(storeTimeout) + COMMAND_TIMEOUT_MARGIN_MS;
      this.#clock = undefined; // the write deadlines' grace depends on it
      if (this.#owned) setCommandTimeout(this.#owned, this.#commandTimeout);
    }
  }

  async #connect(connection: string, options: RedisStoreOptions): Promise<Connection> {
    const ioredis = await loadOptional('ioredis', this.kind, () => import('ioredis'));
    const { Redis, Cluster } = ioredis;
    const url = new URL(connection);
    this.#where = ` at ${url.hostname || '127.0.0.1'}:${url.port || 6379}`;
    const commandTimeout = this.#commandTimeout;
    const common = {
      // While Redis is away, commands fail at once (→ 503) instead of queueing without bound,
      // and a command whose connection drops is not resent: the caller gets an error.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout,
      connectTimeout: this.#connectTimeout,
      // Reconnect forever, at most a second apart.
      retryStrategy: (times: number) => Math.min(50 * times, 1000),
    };
    let client: InstanceType<typeof Redis> | InstanceType<typeof Cluster>;
    if (options.cluster) {
      const tls = url.protocol === 'rediss:' ? { tls: {} } : {};
      client = new Cluster(
        [{ host: url.hostname || '127.0.0.1', port: Number(url.port || 6379) }],
        {
          enableOfflineQueue: false,
          clusterRetryStrategy: common.retryStrategy,
          redisOptions: {
            ...common,
            ...tls,
            ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
            ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
          },
        },
      );
    } else {
      client = new Redis(url.toString(), common);
    }
    const owned = client as unknown as OwnedClient;
    this.#owned = owned;
    // configure() may have changed it while the driver loaded.
    setCommandTimeout(owned, this.#commandTimeout);
    owned.on('error', (err: unknown) => {
      this.#connectError = err instanceof Error ? err : new Error(String(err));
      if (this.#healthy && this.#everReady)
        this.#logger.warn(
          `[websession] [redis] connection lost; requests get 503 until it is back`,
          err,
        );
      this.#healthy = false;
    });
    owned.on('ready', () => {
      this.#clock = undefined; // maybe another server (a failover): measure its clock again
      this.#connectError = undefined;
      if (!this.#healthy && this.#everReady)
        this.#logger.warn('[websession] [redis] connection restored');
      this.#healthy = true;
      this.#everReady = true;
    });
    // The first connection: ready, or its first attempt failed (refused, no such host), when a
    // command need not wait any longer to fail.
    this.#ownedReady = new Promise<void>((resolve) => {
      owned.once('ready', () => resolve());
      owned.once('error', () => resolve());
    });
    const call = (c: RedisCallClient): Command => commandOf(c);
    const command = call(client as unknown as RedisCallClient);
    const scanTargets = () =>
      options.cluster
        ? (client as InstanceType<typeof Cluster>)
            .nodes('master')
            .map((n) => call(n as unknown as RedisCallClient))
        : [command];
    return { command, scanTargets, owned, cluster: options.cluster === true };
  }

  #error(op: string, err: unknown): StoreError {
    if (err instanceof StoreError) return err;
    let message = (err as Error)?.message ?? String(err);
    // ioredis refuses a command while it is not connected ("Stream isn't writeable and
    // enableOfflineQueue options is false"): say why it is not, from its last connection error.
    if (NOT_CONNECTED.test(message))
      message = `cannot reach Redis${this.#where} (${this.#connectError?.message || (this.#everReady ? 'not connected' : `no connection within ${this.#connectTimeout} ms`)})`;
    if (isReplyError(err) && !UNAVAILABLE_REPLY.test(message)) {
      return new StoreError(this.kind, `${op} failed: ${message}`, { cause: err });
    }
    return new StoreUnavailableError(this.kind, `${op} failed: ${message}`, { cause: err });
  }

  async #clientFor(op: string): Promise<Connection> {
    if (this.#closed)
      throw new StoreUnavailableError(this.kind, `${op} failed: the store is closed`);
    let client: Connection;
    try {
      client = await this.#client;
    } catch (err) {
      throw this.#error(op, err);
    }
    if (!this.#everReady && this.#ownedReady) {
      // Only while the first connection is being made: later, a missing connection fails fast.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.#ownedReady,
        new Promise<void>((resolve) => (timer = setTimeout(resolve, this.#connectTimeout))),
      ]);
      clearTimeout(timer);
    }
    return client;
  }

  async #run(op: string, args: (string | number)[]): Promise<unknown> {
    const { command } = await this.#clientFor(op);
    try {
      return await command(args);
    } catch (err) {
      throw this.#error(op, err);
    }
  }

  async #script(
    op: string,
    s: Script,
    key: string | string[],
    args: (string | number)[],
  ): Promise<unknown> {
    // The deadline counts from now: waiting for the connection or the clock's measure uses it up.
    const started = Date.now();
    const { command } = await this.#clientFor(op);
    const keys = Array.isArray(key) ? key : [key];
    args = [...args, await this.#deadline(op, command, started)];
    try {
      return await command(['EVALSHA', s.sha, keys.length, ...keys, ...args]);
    } catch (err) {
      if (!/^NOSCRIPT/.test((err as Error)?.message ?? '')) throw this.#error(op, err);
    }
    try {
      return await command(['EVAL', s.text, keys.length, ...keys, ...args]);
    } catch (err) {
      throw this.#error(op, err);
    }
  }

  /**
   * The latest server time (ms) at which a write started at `started` may still run: when its
   * caller gives up (the command timeout, or the manager's store_timeout when shorter) less a
   * grace for the reply's way back (a quarter of that, at least four round trips, at most half),
   * in the server's clock. Counted from `started`, not from when the clock was measured: a first
   * write whose measure waited out a pause is past its deadline and is not sent at all.
   */
  async #deadline(op: string, command: Command, started: number): Promise<number> {
    const clock = this.#clock;
    if (!clock) await this.#measureClock(op, command);
    else if (Date.now() - clock.at > CLOCK_REFRESH_MS)
      this.#measureClock(op, command).catch(() => {}); // meanwhile, the last measure
    const { offset, rtt } = this.#clock!;
    const timeout = Math.min(this.#commandTimeout, this.#storeTimeout);
    const grace = Math.min(timeout / 2, Math.max(timeout / 4, 4 * rtt));
    const local = started + timeout - grace;
    if (Date.now() >= local)
      throw new StoreUnavailableError(
        this.kind,
        `${op} failed: Redis answered too late (${Date.now() - started} ms) for the write to be sent before its deadline; nothing was written`,
      );
    return Math.floor(local + offset);
  }

  /** Measures the server's clock against this machine's with TIME (one at a time). */
  #measureClock(op: string, command: Command): Promise<void> {
    this.#clockMeasure ??= (async () => {
      const sent = Date.now();
      let reply: unknown;
      try {
        reply = await command(['TIME']);
      } catch (err) {
        throw this.#error(op, err);
      }
      const received = Date.now();
      const [seconds, micros] = reply as [string, string];
      const server = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
      this.#clock = { offset: server - (sent + received) / 2, rtt: received - sent, at: received };
    })().finally(() => {
      this.#clockMeasure = undefined;
    });
    return this.#clockMeasure;
  }

  /** The key of the user index set of a user hash. */
  #userSet(hash: string): string {
    return `${this.prefix}user:${hash}`;
  }

  /**
   * The keys and trailing arguments that bind a record write to `user`. On one Redis node the
   * set is the script's second key, so the SADD is part of the record's atomic write. On a
   * Cluster the set lives in another slot: it is added to first (INDEX_SCRIPT, its own slot),
   * then the record is written, so an entry is never missing, only possibly left over (dropped
   * when read).
   */
  async #bind(
    op: string,
    k: string,
    key: string,
    user: string | undefined,
    ttl: number,
  ): Promise<{ keys: string[]; args: string[] }> {
    if (user === undefined) return { keys: [k], args: ['', ''] };
    const hash = userHash(user);
    const { cluster } = await this.#clientFor(op);
    if (!cluster) return { keys: [k, this.#userSet(hash)], args: [hash, key] };
    await this.#script(op, SCRIPTS.index, this.#userSet(hash), [key, ttl]);
    return { keys: [k], args: [hash, key] };
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
    const reply = (await this.#run('get', ['HMGET', k, ...GET_FIELDS])) as (string | null)[] | null;
    return toRecord(reply);
  }

  async set(key: string, record: StoredSession): Promise<void> {
    const k = this.#key(key);
    this.#written.note(key, undefined);
    const ttl = this.#remaining(record.atime);
    if (ttl <= 0) {
      await this.#run('set', ['DEL', k]); // already idle past the TTL: as if Redis expired it
      return;
    }
    const bound = await this.#bind('set', k, key, record.user, ttl);
    await this.#script('set', SCRIPTS.set, bound.keys, [
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
    if (ttl <= 0) return (await this.#run('create', ['EXISTS', k])) === 0;
    const bound = await this.#bind('create', k, key, record.user, ttl);
    const done = await this.#script('create', SCRIPTS.create, bound.keys, [
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
          const bound = await this.#bind('update', k, key, next.user, ttl);
          const done = await this.#script('update', SCRIPTS.casData, bound.keys, [
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
        const reply = (await this.#run('update', ['HMGET', k, ...UPDATE_FIELDS])) as
          | (string | null)[]
          | null;
        const current = toRecord(reply);
        const version = current ? (reply?.[2] ?? '') : '';
        const next = mutator(current && { ...current });
        if (next === undefined) return current;
        let done: unknown;
        if (next === null) {
          if (!current) return undefined;
          done = await this.#script('update', SCRIPTS.cas, k, [version, 'del', '', 0, '', 0]);
          if (Number(done) === 1) {
            this.#written.note(key, undefined);
            return undefined;
          }
        } else {
          const ttl = this.#remaining(next.atime);
          const op = ttl > 0 ? 'set' : 'del';
          const bound =
            ttl > 0
              ? await this.#bind('update', k, key, next.user, ttl)
              : { keys: [k], args: ['', ''] };
          done = await this.#script('update', SCRIPTS.cas, bound.keys, [
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
    const hash = await this.#script('touch', SCRIPTS.touch, k, [atime, ttl]);
    // The user's set must outlive the session it lists: extend it too (a second step, as the
    // set's name is only known now; a crash in between leaves it at most one touch short).
    if (typeof hash === 'string' && hash !== '' && ttl > 0)
      await this.#script('touch', SCRIPTS.index, this.#userSet(hash), ['', ttl]);
  }

  async delete(key: string): Promise<void> {
    this.#written.note(key, undefined);
    await this.#run('delete', ['DEL', this.#key(key)]);
  }

  /**
   * Keys of the sessions bound to `user`: the members of `<prefix>user:<sha256(user)>` whose
   * record still exists and is still bound to that user (`u`); the others (expired, deleted or
   * rebound sessions) are removed from the set as they are found.
   */
  async userSessions(user: string): Promise<string[]> {
    const hash = userHash(user);
    const set = this.#userSet(hash);
    const members = ((await this.#run('list user', ['SMEMBERS', set])) as unknown[]).map(String);
    const owners = await Promise.all(
      members.map((m) =>
        isStoreKey(m) ? this.#run('list user', ['HGET', this.prefix + m, 'u']) : null,
      ),
    );
    const live = members.filter((_, i) => owners[i] === hash);
    const dead = members.filter((_, i) => owners[i] !== hash);
    if (dead.length > 0) await this.#run('list user', ['SREM', set, ...dead]);
    return live;
  }

  /** Redis expires sessions by TTL: nothing to do. Returns 0. */
  async cleanup(_maxIdleSeconds: number): Promise<number> {
    return 0;
  }

  /** Every key under the prefix, by SCAN (on every master of a Cluster). */
  async *keys(): AsyncIterable<string> {
    const { scanTargets } = await this.#clientFor('keys');
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
          throw this.#error('keys', err);
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
      await this.#run('quarantine', ['RENAME', from, to]);
    } catch (err) {
      if (/no such key/i.test((err as Error)?.message ?? '')) return;
      throw err;
    }
    await this.#run('quarantine', ['PEXPIRE', to, this.#ttlMs]);
  }

  /** Closes the connection the store made from a URL; a client given by the app stays open. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const client = await this.#client.catch(() => undefined);
    const owned = client?.owned;
    if (!owned) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      owned.quit().catch(() => {}),
      new Promise((resolve) => (timer = setTimeout(resolve, 1000))),
    ]);
    clearTimeout(timer);
    owned.disconnect();
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
