/**
 * The Redis clients RedisStore talks through: one the application gives (ioredis, iovalkey or
 * node-redis), reduced to a function that sends one command, or an ioredis client the store
 * makes itself from a `redis://` URL.
 * @module
 */
import { ConfigError } from '../core/errors.js';
import { loadOptional } from './optional.js';

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

/** Sends one command (its name first) and answers Redis's reply. */
export type Command = (args: (string | number)[]) => Promise<unknown>;

/** What the store sends its commands through. */
export interface Connection {
  command: Command;
  scanTargets: () => Command[];
  owned?: OwnedClient;
  /** A Redis Cluster client: a script may only name keys of one slot. */
  cluster: boolean;
}

/** What the store needs of the ioredis client it makes itself from a URL. */
export interface OwnedClient {
  status: string;
  /** ioredis reads `commandTimeout` here at each command; a Cluster client has `redisOptions`. */
  options: { commandTimeout?: number; redisOptions?: { commandTimeout?: number } };
  nodes?(): { options: { commandTimeout?: number } }[];
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  once(event: string, listener: (...args: unknown[]) => void): unknown;
  quit(): Promise<unknown>;
  disconnect(): void;
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

/** The connection of a client the application gave (left open by the store). */
export function givenConnection(client: RedisClientLike): Connection {
  const command = commandOf(client);
  const scanTargets = () =>
    typeof (client as RedisCallClient).nodes === 'function'
      ? (client as Required<RedisCallClient>).nodes('master').map((node) => commandOf(node))
      : [command];
  return { command, scanTargets, cluster: typeof (client as RedisCallClient).nodes === 'function' };
}

/** Sets the command timeout of a client this store made, and of a Cluster client's nodes. */
export function setCommandTimeout(client: OwnedClient, ms: number): void {
  if (client.options.redisOptions) {
    client.options.redisOptions.commandTimeout = ms;
    for (const node of client.nodes?.() ?? []) node.options.commandTimeout = ms;
  } else {
    client.options.commandTimeout = ms;
  }
}

/**
 * Makes an ioredis client (a Cluster client with `cluster`) for the connection URL `url`, with
 * the driver loaded on first use: the store owns it (and closes it). `adopt` is handed the client
 * as soon as it is made, before it can emit anything.
 */
export async function ownedConnection(
  url: URL,
  settings: { commandTimeout: () => number; connectTimeout: number; cluster: boolean },
  adopt: (owned: OwnedClient) => void,
): Promise<Connection> {
  const ioredis = await loadOptional('ioredis', 'redis', () => import('ioredis'));
  const { Redis, Cluster } = ioredis;
  const common = {
    // While Redis is away, commands fail at once (→ 503) instead of queueing without bound,
    // and a command whose connection drops is not resent: the caller gets an error.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: settings.commandTimeout(),
    connectTimeout: settings.connectTimeout,
    // Reconnect forever, at most a second apart.
    retryStrategy: (times: number) => Math.min(50 * times, 1000),
  };
  let client: InstanceType<typeof Redis> | InstanceType<typeof Cluster>;
  if (settings.cluster) {
    const tls = url.protocol === 'rediss:' ? { tls: {} } : {};
    client = new Cluster([{ host: url.hostname || '127.0.0.1', port: Number(url.port || 6379) }], {
      enableOfflineQueue: false,
      clusterRetryStrategy: common.retryStrategy,
      redisOptions: {
        ...common,
        ...tls,
        ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
        ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
      },
    });
  } else {
    client = new Redis(url.toString(), common);
  }
  const owned = client as unknown as OwnedClient;
  adopt(owned);
  const call = (c: RedisCallClient): Command => commandOf(c);
  const command = call(client as unknown as RedisCallClient);
  const scanTargets = () =>
    settings.cluster
      ? (client as InstanceType<typeof Cluster>)
          .nodes('master')
          .map((n) => call(n as unknown as RedisCallClient))
      : [command];
  return { command, scanTargets, owned, cluster: settings.cluster };
}
