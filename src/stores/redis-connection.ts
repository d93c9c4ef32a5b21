/**
 * RedisStore's connection: it sends commands and scripts, turns failures into StoreErrors (503
 * when Redis cannot serve now), reports an outage and its end once each, and gives every write
 * a deadline.
 *
 * A write answered with an error never lands later: Redis runs whatever reached its socket, even
 * after the client gave up (a paused or stalled server resumes and executes its backlog), so every
 * write script carries a deadline in the server's clock and refuses to run past it (`TIME` in the
 * script). The deadline is the command timeout less a grace for the reply's way back, converted
 * with the offset between this machine's clock and the server's, measured by `TIME` (again every
 * minute and after each reconnect).
 * @module
 */
import type { Logger } from '../core/config.js';
import { StoreError, StoreUnavailableError } from '../core/errors.js';
import {
  type Command,
  type Connection,
  givenConnection,
  type OwnedClient,
  ownedConnection,
  type RedisClientLike,
  setCommandTimeout,
} from './redis-client.js';
import type { Script } from './redis-scripts.js';
import { ServerClock, writeDeadline } from './server-clock.js';

/** How much later than the manager's `store_timeout` the client gives a command up. */
const COMMAND_TIMEOUT_MARGIN_MS = 250;

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

/** What a RedisConnection is made with (the numbers checked by the store). */
export interface RedisConnectionSettings {
  /** The connection URL the store makes its own client for, when it is given no client. */
  connection?: string;
  /** Connect as a Redis Cluster client (a client the store makes). */
  cluster?: boolean;
  logger: Logger;
  connectTimeout: number;
  /** ms after which a command is given up, unless a given client gives up sooner. */
  commandTimeout: number;
  /** The command timeout was given in the options: configure() keeps it. */
  commandTimeoutGiven: boolean;
}

export class RedisConnection {
  readonly #kind = 'redis';
  readonly #logger: Logger;
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
  readonly #clock = new ServerClock();

  /** Uses `client`, or with none makes one for `settings.connection`. */
  constructor(client: RedisClientLike | undefined, settings: RedisConnectionSettings) {
    this.#connectTimeout = settings.connectTimeout;
    // A given ioredis client's own command timeout, when shorter, is when its caller gives up.
    const clientTimeout = (client as { options?: { commandTimeout?: unknown } } | undefined)
      ?.options?.commandTimeout;
    this.#commandTimeout = Math.min(
      settings.commandTimeout,
      typeof clientTimeout === 'number' && clientTimeout > 0 ? clientTimeout : Infinity,
    );
    this.#commandTimeoutFixed = settings.commandTimeoutGiven || typeof clientTimeout === 'number';
    this.#logger = settings.logger;
    if (client === undefined) {
      this.#client = this.#connect(settings.connection!, settings.cluster === true);
    } else {
      this.#client = Promise.resolve(givenConnection(client));
      this.#everReady = true;
    }
    this.#client.catch(() => {}); // reported by the first operation
  }

  /**
   * Takes the manager's `store_timeout` (ms): a write's deadline never outlasts it, and unless
   * the command timeout was given, the client's timer is set a little later than it.
   */
  configure(storeTimeout: number | undefined): void {
    if (storeTimeout !== undefined && storeTimeout > 0) this.#storeTimeout = storeTimeout;
    if (!this.#commandTimeoutFixed && storeTimeout !== undefined && storeTimeout > 0) {
      this.#commandTimeout = Math.round(storeTimeout) + COMMAND_TIMEOUT_MARGIN_MS;
      this.#clock.forget(); // the write deadlines' grace depends on it
      if (this.#owned) setCommandTimeout(this.#owned, this.#commandTimeout);
    }
  }

  async #connect(connection: string, cluster: boolean): Promise<Connection> {
    const url = new URL(connection);
    const settings = {
      commandTimeout: () => this.#commandTimeout,
      connectTimeout: this.#connectTimeout,
      cluster,
    };
    return ownedConnection(url, settings, (owned) => {
      this.#where = ` at ${url.hostname || '127.0.0.1'}:${url.port || 6379}`;
      this.#owned = owned;
      // configure() may have changed it while the driver loaded.
      setCommandTimeout(owned, this.#commandTimeout);
      this.#watch(owned);
    });
  }

  /** Follows the owned client's connection: an outage and its end are reported once each. */
  #watch(owned: OwnedClient): void {
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
      this.#clock.forget(); // maybe another server (a failover): measure its clock again
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
  }

  /** The StoreError for a failed operation `op`: unavailable (503) unless the request is wrong. */
  error(op: string, err: unknown): StoreError {
    if (err instanceof StoreError) return err;
    let message = (err as Error)?.message ?? String(err);
    // ioredis refuses a command while it is not connected ("Stream isn't writeable and
    // enableOfflineQueue options is false"): say why it is not, from its last connection error.
    if (NOT_CONNECTED.test(message))
      message = `cannot reach Redis${this.#where} (${this.#connectError?.message || (this.#everReady ? 'not connected' : `no connection within ${this.#connectTimeout} ms`)})`;
    if (isReplyError(err) && !UNAVAILABLE_REPLY.test(message)) {
      return new StoreError(this.#kind, `${op} failed: ${message}`, { cause: err });
    }
    return new StoreUnavailableError(this.#kind, `${op} failed: ${message}`, { cause: err });
  }

  /** The connection, once made (while the first is being made, up to the connect timeout). */
  async clientFor(op: string): Promise<Connection> {
    if (this.#closed)
      throw new StoreUnavailableError(this.#kind, `${op} failed: the store is closed`);
    let client: Connection;
    try {
      client = await this.#client;
    } catch (err) {
      throw this.error(op, err);
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

  /** Sends one command for the operation `op`. */
  async run(op: string, args: (string | number)[]): Promise<unknown> {
    const { command } = await this.clientFor(op);
    try {
      return await command(args);
    } catch (err) {
      throw this.error(op, err);
    }
  }

  /** Runs the write script `s` on `key` (or keys) with `args`, and its deadline last. */
  async script(
    op: string,
    s: Script,
    key: string | string[],
    args: (string | number)[],
  ): Promise<unknown> {
    // The deadline counts from now: waiting for the connection or the clock's measure uses it up.
    const started = Date.now();
    const { command } = await this.clientFor(op);
    const keys = Array.isArray(key) ? key : [key];
    args = [...args, await this.#deadline(op, command, started)];
    try {
      return await command(['EVALSHA', s.sha, keys.length, ...keys, ...args]);
    } catch (err) {
      if (!/^NOSCRIPT/.test((err as Error)?.message ?? '')) throw this.error(op, err);
    }
    try {
      return await command(['EVAL', s.text, keys.length, ...keys, ...args]);
    } catch (err) {
      throw this.error(op, err);
    }
  }

  /**
   * The latest server time (ms) at which a write started at `started` may still run
   * ({@link writeDeadline} of the command timeout, or of the manager's store_timeout when
   * shorter), in the server's clock measured with `TIME`. A first write whose measure waited out
   * a pause is past its deadline and is not sent at all.
   */
  async #deadline(op: string, command: Command, started: number): Promise<number> {
    const { offset, rtt } = await this.#clock.offset(async () => {
      let reply: unknown;
      try {
        reply = await command(['TIME']);
      } catch (err) {
        throw this.error(op, err);
      }
      const [seconds, micros] = reply as [string, string];
      return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    });
    const local = writeDeadline(started, Math.min(this.#commandTimeout, this.#storeTimeout), rtt);
    if (Date.now() >= local)
      throw new StoreUnavailableError(
        this.#kind,
        `${op} failed: Redis answered too late (${Date.now() - started} ms) for the write to be sent before its deadline; nothing was written`,
      );
    return Math.floor(local + offset);
  }

  /** Closes the client the store made; a client given by the app stays open. */
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
