/**
 * The options of a RedisStore, and the ones a `redis://` / `rediss://` store URL carries
 * (`?prefix=sess:&ttl=3600&cluster=1&commandTimeout=1000&connectTimeout=1000`). Read here for
 * `new RedisStore(url)` and for url.ts alike, so a parameter means the same everywhere.
 * @module
 */
import type { Logger } from '../core/config.js';
import { ConfigError } from '../core/errors.js';
import { flag, parseUrl, positive, refuseUnknown, shown } from './url-params.js';

/** Options of {@link RedisStore}. */
export interface RedisStoreOptions {
  /** Prefix of every key. Default `websession:`. A prefix with `{…}` would put all keys in one Cluster slot: avoid. */
  prefix?: string;
  /**
   * Seconds of idleness after which Redis drops a session (its TTL, counted from the stored
   * atime). Set it to the SessionManager's `timeout`. Default: the timeout given to
   * `configure()`, else 86400 (the default timeout).
   */
  ttlSeconds?: number;
  /** Tries of `update`'s compare-and-set before it gives up with a StoreError. Default 100. */
  maxRetries?: number;
  /** COUNT hint of SCAN in `keys()`. Default 1000. */
  scanCount?: number;
  /** Where connection loss and recovery are reported (once per outage). Default console. */
  logger?: Logger;
  /**
   * Only when the store makes its client from a URL: ms a command may take before it fails
   * (Redis stalled). Default: the SessionManager's `store_timeout` (given through `configure()`),
   * so that one setting governs; 2000 without a manager. Set it only to give up on Redis sooner.
   */
  commandTimeout?: number;
  /** Only when the store makes its client from a URL: ms to wait for a connection. Default 1000. */
  connectTimeout?: number;
  /** Only when the store makes its client from a URL: connect as a Redis Cluster client, seeded by the URL's host. */
  cluster?: boolean;
}

/** The query parameters a Redis store URL takes. */
export const REDIS_URL_PARAMS: readonly string[] = [
  'prefix',
  'ttl',
  'cluster',
  'commandTimeout',
  'connectTimeout',
];

/**
 * What a Redis store URL, already parsed and its parameter names checked, gives: the connection
 * URL (without the store's parameters) and the options its parameters set.
 */
export function redisUrlSpec(
  raw: string,
  url: URL,
): { connection: string; options: RedisStoreOptions } {
  const options: RedisStoreOptions = {};
  const prefix = url.searchParams.get('prefix');
  if (prefix !== null) options.prefix = prefix;
  const ttl = positive(raw, url, 'ttl');
  if (ttl !== undefined) options.ttlSeconds = ttl;
  const commandTimeout = positive(raw, url, 'commandTimeout');
  if (commandTimeout !== undefined) options.commandTimeout = commandTimeout;
  const connectTimeout = positive(raw, url, 'connectTimeout');
  if (connectTimeout !== undefined) options.connectTimeout = connectTimeout;
  if (flag(raw, url, 'cluster')) options.cluster = true;
  const connection = new URL(url.href);
  connection.search = '';
  return { connection: connection.href, options };
}

/**
 * Reads a Redis store URL: the connection URL and the {@link RedisStoreOptions} it carries.
 * @throws ConfigError for anything but a well-formed `redis://` / `rediss://` store URL
 */
export function parseRedisStoreUrl(raw: string): {
  connection: string;
  options: RedisStoreOptions;
} {
  if (typeof raw !== 'string' || !/^rediss?:/i.test(raw))
    throw new ConfigError(
      `bad Redis URL ${JSON.stringify(shown(raw))}: expected redis:// or rediss://`,
    );
  const { url, scheme } = parseUrl(raw);
  refuseUnknown(raw, url, scheme, REDIS_URL_PARAMS);
  return redisUrlSpec(raw, url);
}

/** The {@link RedisStoreOptions} a store URL carries (an unknown parameter is a ConfigError). */
export function redisOptionsFromUrl(raw: string): RedisStoreOptions {
  return parseRedisStoreUrl(raw).options;
}
