// The server children: each row's server in its own process (./servers/child.ts), pinned to
// CPU 0, talked to over IPC; and the sessions the measured requests carry, made over HTTP.
import { type ChildProcess, execFileSync, fork } from 'node:child_process';
import { join } from 'node:path';
import { TASKSET } from './loadgen.js';
import { opts, TMP } from './options.js';
import { SCALE_ENV } from './servers/common.js';
import { SERVERS, type ServerSpec } from './servers/index.js';
import { writeSessionCookies } from './session-cookies.js';

export interface Child {
  id: string;
  /** The process that serves (web.py's Python, else the child itself). */
  pid: number;
  spec: ServerSpec;
  proc: ChildProcess;
  url: string;
  request(message: object): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

const ENTRY = new URL('servers/child.ts', import.meta.url).pathname;

function pin(pid: number, cpu: number): void {
  if (TASKSET)
    execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
}

/** Starts server `id` in a child process (its data under a folder named by `tag`). */
export async function startServer(id: string, tag: string): Promise<Child> {
  const spec = SERVERS[id]!;
  const proc = fork(ENTRY, [id, join(TMP, `${id}-${tag}`)], {
    // The scale part collects garbage after seeding (see `seed` in servers/child.ts), so that a
    // measurement is of the store at that size, not of the seeding's garbage.
    execArgv: opts.scale ? [...process.execArgv, '--expose-gc'] : process.execArgv,
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    env: tag === 'scale' ? { ...process.env, [SCALE_ENV]: '1' } : process.env,
  });
  const queue: ((m: Record<string, unknown>) => void)[] = [];
  const first = new Promise<Record<string, unknown>>((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`${id}: server exited with ${code}`)));
    queue.push(resolve);
  });
  proc.on('message', (m) => queue.shift()?.(m as Record<string, unknown>));
  const hello = await first;
  if (hello.error) throw new Error(`${id}: ${hello.error}`);
  pin(proc.pid!, 0);
  if (hello.pid !== proc.pid) pin(hello.pid as number, 0);
  const request = (message: object) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      queue.push((m) => (m.error ? reject(new Error(`${id}: ${m.error}`)) : resolve(m)));
      proc.send(message);
    });
  return {
    id,
    spec,
    proc,
    pid: hello.pid as number,
    url: `http://127.0.0.1:${hello.port}`,
    request,
    async stop() {
      if (proc.exitCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.send({ op: 'close' });
      // Closing empties what a shared server keeps (a million Redis keys after --scale takes
      // a while): wait for it rather than leave them behind. The timer is unref'd: once the
      // child has exited it must not hold the bench open for the rest of the five minutes.
      await Promise.race([exited, new Promise((r) => setTimeout(r, 300_000).unref())]);
      if (proc.exitCode === null) proc.kill('SIGKILL');
    },
  };
}

/** `count` sessions made over HTTP on `path`, their cookies written one per line to a file. */
export function sessionCookies(url: string, path: string, id: string, count: number) {
  const file = join(TMP, `cookies-${id.replace(/[^a-z0-9.-]+/gi, '_')}.txt`);
  return writeSessionCookies(url, path, id, count, file);
}
