// A framework's test app (test/apps/<name>/) built and started as a user would run it: copied
// to a temp folder whose node_modules holds websession as an installed package (package.json and
// a dist/ transpiled for this run) beside links to the repository's packages; built with the
// framework's own command; started as a child process that prints its port.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { cp, mkdir, readdir, readlink, symlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';

const ROOT = resolve(import.meta.dirname, '../..');

/** What a command printed, and how it ended. */
export interface Ran {
  code: number | null;
  output: string;
}

/** Runs `command` in `cwd` to its end. */
export function run(
  command: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = {},
): Promise<Ran> {
  return new Promise((done) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, ...env } });
    let output = '';
    child.stdout.on('data', (b: Buffer) => {
      output += b;
    });
    child.stderr.on('data', (b: Buffer) => {
      output += b;
    });
    child.on('error', (err) => done({ code: -1, output: `${output}${err.message}` }));
    child.on('close', (code) => done({ code, output }));
  });
}

/** The repository's node_modules folder (the worktree's is a link to the main checkout's). */
async function repoModules(): Promise<string> {
  const link = join(ROOT, 'node_modules');
  try {
    return resolve(ROOT, await readlink(link));
  } catch {
    return link;
  }
}

/**
 * Copies test/apps/`name` into `dir`/app (nothing it built: no `build/`, `.next/`), with a
 * node_modules of links to the repository's packages and websession installed from a dist/
 * compiled now from src/. Returns the app's folder.
 */
export async function appCopy(name: string, dir: string): Promise<string> {
  const app = join(dir, 'app');
  const source = join(ROOT, 'test', 'apps', name);
  await cp(source, app, {
    recursive: true,
    filter: (path) => !/[/\\](node_modules|build|\.next)([/\\]|$)/.test(path.slice(source.length)),
  });
  const modules = join(app, 'node_modules');
  await mkdir(modules);
  const repo = await repoModules();
  for (const entry of await readdir(repo)) {
    if (entry === 'websession') continue;
    await symlink(join(repo, entry), join(modules, entry));
  }
  const installed = join(modules, 'websession');
  await mkdir(installed);
  await cp(join(ROOT, 'package.json'), join(installed, 'package.json'));
  // The package's dist/ as `npm run build` makes it, less the .d.ts files the JavaScript apps do
  // not read: esbuild, file by file (the sources are written for isolated transpiling), in a
  // second where tsc takes a minute on a busy machine.
  const sources = (await readdir(join(ROOT, 'src'), { recursive: true }))
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(ROOT, 'src', f));
  await build({
    entryPoints: sources,
    outdir: join(installed, 'dist'),
    outbase: join(ROOT, 'src'),
    format: 'esm',
    platform: 'node',
    target: 'node20',
    logLevel: 'error',
  });
  return app;
}

/** An answer of a test app, redirects not followed. */
export interface Page {
  status: number;
  body: string;
  setCookies: string[];
}

/** A server started by {@link startServer}. */
export interface Started {
  url: string;
  /** GET `path`, with `cookie` (a `name=value` pair) if given. */
  get(path: string, cookie?: string): Promise<Page>;
  /** Everything it printed so far. */
  output(): string;
  /** Stops it (SIGTERM, then SIGKILL) and waits for it to exit. */
  close(): Promise<void>;
}

/**
 * Starts `command` in `cwd` and waits for the output that names its port (the first group of
 * `port`), or rejects with its output when it exits first.
 */
export function startServer(
  command: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  port: RegExp,
): Promise<Started> {
  const child: ChildProcess = spawn(command, args, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(killer);
    }
  };
  return new Promise((done, fail) => {
    const onData = (b: Buffer) => {
      output += b;
      const found = port.exec(output)?.[1];
      if (found !== undefined) {
        child.off('exit', onExit);
        const url = `http://127.0.0.1:${found}`;
        done({
          url,
          get: (path, cookie) => getPage(url + path, cookie),
          output: () => output,
          close,
        });
      }
    };
    const onExit = (code: number | null) =>
      fail(new Error(`${command} ${args.join(' ')} exited (${code}) before listening:\n${output}`));
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
    child.once('error', fail);
  });
}

/** The path of a file of an installed package (a bin script to run with this Node). */
export async function packageFile(pkg: string, relative: string): Promise<string> {
  return join(await repoModules(), pkg, relative);
}

async function getPage(url: string, cookie: string | undefined): Promise<Page> {
  const res = await fetch(url, { redirect: 'manual', headers: cookie ? { cookie } : {} });
  return { status: res.status, body: await res.text(), setCookies: res.headers.getSetCookie() };
}

/** The `name=value` pair of a Set-Cookie value. */
export const cookiePair = (setCookie: string) => setCookie.split(';')[0]!;

/**
 * The story every framework app tells, its pages saying `You are (not) logged in`: `/login`
 * (answered `redirect`) gives a browser-session cookie and a new id at each login, the old one
 * dead; 64 parallel `/count` of one session answer 1 to 64; `/logout` expires the cookie.
 */
export async function loginCountLogout(app: Started, redirect: number): Promise<void> {
  const page = await app.get('/');
  assert.equal(page.status, 200);
  assert.match(page.body, /You are not logged in/);
  assert.deepEqual(page.setCookies, [], 'a visitor gets no cookie');

  const login = await app.get('/login');
  assert.equal(login.status, redirect);
  assert.equal(login.setCookies.length, 1, JSON.stringify(login.setCookies));
  assert.match(login.setCookies[0]!, /^webpy_session_id=[0-9a-f]{64};.*HttpOnly/i);
  assert.doesNotMatch(login.setCookies[0]!, /Max-Age/i, 'not remembered: a browser-session cookie');
  const cookie = cookiePair(login.setCookies[0]!);
  assert.match((await app.get('/', cookie)).body, /You are logged in/);

  const relogin = await app.get('/login', cookie);
  const renewed = cookiePair(relogin.setCookies[0]!);
  assert.notEqual(renewed, cookie, 'login gives a new id');
  assert.match((await app.get('/', cookie)).body, /You are not logged in/, 'the old id is dead');

  const counts = await Promise.all(Array.from({ length: 64 }, () => app.get('/count', renewed)));
  assert.deepEqual(
    counts.map((c) => c.status),
    counts.map(() => 200),
  );
  assert.deepEqual(
    counts.map((c) => Number(c.body)).sort((a, b) => a - b),
    Array.from({ length: 64 }, (_, i) => i + 1),
  );

  const logout = await app.get('/logout', renewed);
  assert.equal(logout.status, redirect);
  assert.match(logout.setCookies[0] ?? '', /^webpy_session_id=;.*Max-Age=0/i);
  assert.match((await app.get('/', renewed)).body, /You are not logged in/);
}

/** "Remember me": `/login?remember=1` gives a 30-day cookie, which `/logout` expires. */
export async function rememberedLogin(app: Started): Promise<string> {
  const login = await app.get('/login?remember=1');
  assert.match(login.setCookies[0] ?? '', /Max-Age=2592000/);
  return cookiePair(login.setCookies[0]!);
}
