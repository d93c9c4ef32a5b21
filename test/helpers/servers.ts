// External servers for integration tests: URLs from the environment, with this machine's
// defaults. Outside CI a missing server skips with the reason as the runner's skip message;
// under CI=true it fails. Pools opened here stay quiet: an idle connection the server drops is
// the pool's business, not an error to print.
import net from 'node:net';
import mysql from 'mysql2/promise';
import pg from 'pg';

export const POSTGRES_URL = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const MYSQL_URL = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0';

export const IN_CI = process.env.CI === 'true' || process.env.CI === '1';

/** True when a TCP connection to the URL's host and port opens within `ms`. */
export function reachable(url: string, defaultPort: number, ms = 1500): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({
      host: u.hostname || '127.0.0.1',
      port: Number(u.port || defaultPort),
    });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(ms, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Returns a skip reason (for a test's `skip` option, which the runner prints) when the server
 * is down outside CI, false when it is up. Under CI=true a missing server throws, failing the
 * run (never a silent skip).
 */
export async function serverSkip(
  name: string,
  url: string,
  defaultPort: number,
): Promise<string | false> {
  if (await reachable(url, defaultPort)) return false;
  const reason = `${name} not reachable at ${url} (set ${name.toUpperCase()}_URL)`;
  if (IN_CI) throw new Error(`CI=true but ${reason}`);
  return reason;
}

/** A pg Pool on `url` whose idle-connection errors are ignored. */
export function postgresPool(url = POSTGRES_URL, options: pg.PoolConfig = {}): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: 4, ...options });
  pool.on('error', () => {});
  return pool;
}

/** A mysql2 pool on `url` (utf8mb4) whose idle-connection errors are ignored. */
export function mysqlPool(url = MYSQL_URL, connectionLimit = 4): mysql.Pool {
  const pool = mysql.createPool({ uri: url, connectionLimit, charset: 'utf8mb4' });
  pool.pool.on('error', () => {});
  return pool;
}
