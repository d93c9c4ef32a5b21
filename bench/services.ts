// The shared servers some rows need (PostgreSQL, MariaDB, Redis, web.py's Python): which are
// missing, each with the reason printed and its rows skipped.
import net from 'node:net';
import { has } from './loadgen.js';
import { MYSQL_URL, POSTGRES_URL, PYTHON, REDIS_URL, type Service } from './servers/index.js';

function reachable(url: string, port: number): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: u.hostname || '127.0.0.1', port: Number(u.port || port) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1500, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export async function missingServices(): Promise<Map<Service, string>> {
  const missing = new Map<Service, string>();
  if (!(await reachable(POSTGRES_URL, 5432)))
    missing.set('postgres', `PostgreSQL not reachable at ${POSTGRES_URL} (set POSTGRES_URL)`);
  if (!(await reachable(MYSQL_URL, 3306)))
    missing.set('mysql', `MySQL/MariaDB not reachable at ${MYSQL_URL} (set MYSQL_URL)`);
  if (!(await reachable(REDIS_URL, 6379)))
    missing.set('redis', `Redis not reachable at ${REDIS_URL} (set REDIS_URL)`);
  if (!has(PYTHON, ['-c', 'import web']))
    missing.set(
      'webpy',
      `web.py not importable by ${PYTHON} (apt-get install python3-webpy, or set WEBPY_PYTHON)`,
    );
  return missing;
}
