/**
 * RedisStore's user index: a session bound to a user keeps `u` (sha256 of the user) in its hash,
 * and its key is a member of the set `<prefix>user:<sha256(user)>`, whose expiry is kept no
 * shorter than its sessions'. On one node the SADD runs in the same script as the record write
 * (the script's two keys). On a Cluster the set and the record are in different slots, so the set
 * is written first in its own script, then the record: never a missing entry, at worst a
 * left-over one. `sessions` keeps the members whose record still exists with that `u`, and SREMs
 * the rest.
 * @module
 */
import { createHash } from 'node:crypto';
import { isStoreKey } from './key.js';
import type { RedisConnection } from './redis-connection.js';
import { SCRIPTS } from './redis-scripts.js';

const userHash = (user: string) => createHash('sha256').update(user).digest('hex');

export class RedisUserIndex {
  readonly #redis: RedisConnection;
  readonly #prefix: string;

  constructor(redis: RedisConnection, prefix: string) {
    this.#redis = redis;
    this.#prefix = prefix;
  }

  /** The key of the user index set of a user hash. */
  #userSet(hash: string): string {
    return `${this.#prefix}user:${hash}`;
  }

  /**
   * The keys and trailing arguments that bind a record write to `user`. On one Redis node the
   * set is the script's second key, so the SADD is part of the record's atomic write. On a
   * Cluster the set lives in another slot: it is added to first (INDEX_SCRIPT, its own slot),
   * then the record is written, so an entry is never missing, only possibly left over (dropped
   * when read).
   */
  async bind(
    op: string,
    k: string,
    key: string,
    user: string | undefined,
    ttl: number,
  ): Promise<{ keys: string[]; args: string[] }> {
    if (user === undefined) return { keys: [k], args: ['', ''] };
    const hash = userHash(user);
    const { cluster } = await this.#redis.clientFor(op);
    if (!cluster) return { keys: [k, this.#userSet(hash)], args: [hash, key] };
    await this.#redis.script(op, SCRIPTS.index, this.#userSet(hash), [key, ttl]);
    return { keys: [k], args: [hash, key] };
  }

  /** Keeps the set of the user hash `hash` for `ttl` ms at least (a session of it was touched). */
  async extend(op: string, hash: string, ttl: number): Promise<void> {
    await this.#redis.script(op, SCRIPTS.index, this.#userSet(hash), ['', ttl]);
  }

  /**
   * Keys of the sessions bound to `user`: the members of its set whose record still exists and is
   * still bound to that user (`u`); the others are removed from the set as they are found.
   */
  async sessions(user: string): Promise<string[]> {
    const hash = userHash(user);
    const set = this.#userSet(hash);
    const redis = this.#redis;
    const members = ((await redis.run('list user', ['SMEMBERS', set])) as unknown[]).map(String);
    const owners = await Promise.all(
      members.map((m) =>
        isStoreKey(m) ? redis.run('list user', ['HGET', this.#prefix + m, 'u']) : null,
      ),
    );
    const live = members.filter((_, i) => owners[i] === hash);
    const dead = members.filter((_, i) => owners[i] !== hash);
    if (dead.length > 0) await redis.run('list user', ['SREM', set, ...dead]);
    return live;
  }
}
