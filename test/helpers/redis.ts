// Redis helpers for tests: prefix cleanup and a private redis-server to stop and restart.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './example-process.js';
import { IN_CI, REDIS_URL, reachable } from './servers.js';

const REDIS_SERVER = process.env.REDIS_SERVER ?? '/usr/bin/redis-server';
/** Skip reason of tests that start a redis-server of their own: none in CI (a missing one fails). */
export const privateRedisSkip: string | false =
  existsSync(REDIS_SERVER) || IN_CI
    ? false
    : `no redis-server at ${REDIS_SERVER} (set REDIS_SERVER)`;

/** Appends query parameters to a Redis URL. */
export const redisUrlWith = (params: string, url = REDIS_URL) =>
  `${url}${url.includes('?') ? '&' : '?'}${params}`;

/** Deletes every key under `prefix` (test cleanup). */
export async function dropPrefix(prefix: string, url = REDIS_URL): Promise<void> {
  const redis = new Redis(url);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/**
 * A redis-server of the test's own (never the shared one), on a free loopback port, with an
 * append-only file fsynced on every write in a temp folder, so a restart keeps every write.
 */
export class PrivateRedis {
  port = 0;
  dir = '';
  proc: ChildProcess | undefined;

  /** `extraArgs` go to redis-server after the defaults, e.g. `['--cluster-enabled', 'yes']`. */
  constructor(readonly extraArgs: string[] = []) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}/0`;
  }

  async start(): Promise<void> {
    if (!this.port) this.port = await freePort();
    if (!this.dir) this.dir = await mkdtemp(join(tmpdir(), 'websession-redis-'));
    const proc = spawn(
      process.env.REDIS_SERVER ?? 'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--dir',
        this.dir,
        '--daemonize',
        'no',
        ...this.extraArgs,
      ],
      { stdio: 'ignore' },
    );
    this.proc = proc;
    for (let i = 0; i < 100 && proc.exitCode === null; i++) {
      if (await reachable(this.url, this.port, 200)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`redis-server on port ${this.port} did not start`);
  }

  /** Freezes the server: connections stay open, nothing is answered. */
  pause(): void {
    this.proc?.kill('SIGSTOP');
  }

  resume(): void {
    this.proc?.kill('SIGCONT');
  }

  /** Kills the server outright (its append-only file keeps what it acknowledged). */
  async kill(): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGCONT');
    proc.kill('SIGKILL');
    await once(proc, 'exit');
  }

  async destroy(): Promise<void> {
    await this.kill();
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }
}
