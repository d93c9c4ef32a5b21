// Runs the example runner (examples/run.ts) in a child process, for multi-process tests.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { LOGGED_IN, LOGGED_OUT } from '../../examples/frameworks/shared.js';
import { CookieClient } from './http-client.js';

const RUNNER = fileURLToPath(new URL('../../examples/run.ts', import.meta.url));

/** A free TCP port on 127.0.0.1 (free when asked; good enough for tests). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

export interface ExampleProcess {
  /** `http://127.0.0.1:<port>` */
  base: string;
  child: ChildProcess;
  /** Everything the process wrote to stderr so far. */
  stderr(): string;
  /** Everything it wrote to stdout and stderr so far, as it came. */
  output(): string;
  /** Ends the process (its whole group when started detached) and waits for it. */
  stop(): Promise<void>;
}

/** tsx's loader, resolved from here: a child started in a temp folder cannot find `tsx` there. */
const TSX = import.meta.resolve('tsx');
/**
 * A process that has neither printed its URL nor exited after this long is hung: only a hang
 * detector (a start takes seconds even on a busy machine), so that the child is stopped.
 */
const START_MS = 150_000;

export interface StartOptions {
  /** Working directory (relative store paths such as the default `disk:./sessions` land here). */
  cwd?: string;
  /** Pass `--listen 127.0.0.1:<free port>` (the default); false leaves the runner's default. */
  listen?: boolean;
}

export interface ProcessOptions {
  cwd?: string | undefined;
  env?: NodeJS.ProcessEnv;
  /** In a process group of its own, ended as a whole (a supervisor and its children). */
  detached?: boolean;
}

/**
 * Spawns `node --import tsx --conditions=websession-src <file> ...args` and waits until it prints
 * its `http://host:port/` URL; `base` is that URL without the trailing slash. Its output is
 * kept for the test (never printed).
 */
export async function startProcess(
  file: string,
  args: string[],
  options: ProcessOptions = {},
): Promise<ExampleProcess> {
  const child = spawn(
    process.execPath,
    ['--import', TSX, '--conditions=websession-src', file, ...args],
    {
      cwd: options.cwd,
      env: options.env ?? process.env,
      detached: options.detached ?? false,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let err = '';
  let all = '';
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  const stop = async () => {
    if (gone()) return;
    const exited = once(child, 'exit');
    if (options.detached && child.pid) process.kill(-child.pid, 'SIGKILL');
    else child.kill('SIGTERM');
    await exited;
  };
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
    all += chunk;
  });
  const base = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`${file} printed no URL in ${START_MS} ms: ${all}`));
    }, START_MS);
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      all += chunk;
      const m = /(http:\/\/\S+?)\/?\s/.exec(all);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${file} exited with ${code} before listening: ${all}`));
    });
  });
  return { base, child, stderr: () => err, output: () => all, stop };
}

/**
 * Starts `npm run example -- <framework> --store <store> --listen 127.0.0.1:<port>` and waits
 * until it listens. An undefined `store` leaves the runner's default (`disk:./sessions`).
 */
export async function startExample(
  store: string | undefined,
  framework = 'web',
  options: StartOptions = {},
): Promise<ExampleProcess> {
  const args = [framework];
  if (store !== undefined) args.push('--store', store);
  if (options.listen !== false) args.push('--listen', `127.0.0.1:${await freePort()}`);
  return startProcess(RUNNER, args, { cwd: options.cwd });
}

/** The web.py example, examples/webpy/sessions.ts. */
export const WEBPY_EXAMPLE = fileURLToPath(
  new URL('../../examples/webpy/sessions.ts', import.meta.url),
);

/**
 * Starts the web.py example as `npm start -- 127.0.0.1:<port>` does, in `cwd` (its
 * `DiskStore('sessions')` is `<cwd>/sessions`), and waits until it listens.
 */
export async function startWebpyExample(cwd: string, port?: number): Promise<ExampleProcess> {
  return startProcess(WEBPY_EXAMPLE, [`127.0.0.1:${port ?? (await freePort())}`], { cwd });
}

/**
 * Two example processes on one store URL: a session made through one is read, changed (also
 * by concurrent requests to both) and killed through the other. Assertions throw on failure.
 */
export async function checkSharedStore(
  store: string,
  assert: typeof import('node:assert/strict'),
): Promise<void> {
  const [a, b] = await Promise.all([startExample(store), startExample(store)]);
  try {
    const user = new CookieClient();
    const login = await user.get(`${a.base}/login`);
    assert.equal(login.status, 303);
    assert.ok(user.cookie, 'A set a session cookie');
    assert.equal((await user.get(`${b.base}/`)).body, LOGGED_IN, 'B reads the session A made');
    assert.equal((await user.get(`${b.base}/count`)).body, '1');
    assert.equal((await user.get(`${a.base}/count`)).body, '2', 'A sees the change B made');
    // 20 concurrent increments, alternating processes: none lost.
    const counts = await Promise.all(
      Array.from({ length: 20 }, (_, i) => user.get(`${(i % 2 ? a : b).base}/count`)),
    );
    assert.deepEqual(
      counts.map((r) => Number(r.body)).sort((x, y) => x - y),
      Array.from({ length: 20 }, (_, i) => i + 3),
    );
    assert.equal((await user.get(`${b.base}/count`)).body, '23');
    const cookie = user.cookie;
    assert.equal((await user.get(`${b.base}/kill`)).body, 'killed');
    assert.equal(user.cookie, undefined, 'the kill expired the cookie');
    user.cookie = cookie; // replay the old cookie: the session is gone for A too
    assert.equal((await user.get(`${a.base}/`)).body, LOGGED_OUT);
    assert.equal(
      (await user.get(`${a.base}/count`)).body,
      '1',
      'a fresh session, not the killed one',
    );
    assert.notEqual(user.cookie, cookie);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
}
