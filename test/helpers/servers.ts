// External servers for integration tests: URLs from the environment, with this machine's
// defaults. Outside CI a missing server skips with a printed reason; under CI=true it fails.
import net from 'node:net';

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
 * Returns a skip reason when the server is down outside CI, false when it is up.
 * Under CI=true a missing server throws, failing the run (never a silent skip).
 */
export async function serverSkip(
  name: string,
  url: string,
  defaultPort: number,
): Promise<string | false> {
  if (await reachable(url, defaultPort)) return false;
  const reason = `${name} not reachable at ${url} (set ${name.toUpperCase()}_URL)`;
  if (IN_CI) throw new Error(`CI=true but ${reason}`);
  console.log(`# SKIP ${reason}`);
  return reason;
}
