/**
 * The debug-mode code reloader behind `app.run()`: a supervised restart that keeps every session.
 *
 * With `web.config.debug` on, the process the user starts becomes a small supervisor (a
 * `node:cluster` primary). It forks the same program as a child that serves, watches the
 * application's source files, and on a change forks a new child with the new code. The listening
 * socket stays with the supervisor the whole time, so no connection is refused during a swap:
 * 1. the new child loads the code and listens (a syntax error makes it exit: the supervisor logs
 *    it, the old child keeps serving and shows the error in a banner on its pages);
 * 2. the old child stops accepting, finishes its requests, hands the contents of its in-process
 *    stores (MemoryStore) to the supervisor and exits;
 * 3. the new child receives those contents, then answers the requests it was holding.
 * DiskStore, DBStore, ShelfStore and RedisStore keep their data outside the process anyway.
 * @module
 */
import cluster, { type Worker } from 'node:cluster';
import { type FSWatcher, readdirSync, statSync, watch } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Store, StoredSession } from '../stores/store.js';
import { withReloadErrorBanner } from './debugerror.js';
import { announce } from './listen.js';
import type { RawResponse } from './types.js';

/** Environment marker of a child started by the reloader. */
const CHILD_ENV = 'WEBSESSION_RELOADER_CHILD';
/** Longest wait for a new child to listen before it counts as failed. */
const START_TIMEOUT_MS = 30_000;
/** Longest wait for a retiring child to finish its requests and hand over its stores. */
const RETIRE_TIMEOUT_MS = 10_000;
/** Changes closer together than this make one reload. */
const DEBOUNCE_MS = 40;

/** Files whose change triggers a reload. */
const SOURCE_EXTENSIONS = new Set([
  '.ts',
  '.tsx',
  '.mts',
  '.cts',
  '.js',
  '.jsx',
  '.mjs',
  '.cjs',
  '.json',
]);
/** Folders never watched (besides dot-folders and store folders). */
const IGNORED_DIRS = new Set(['node_modules', 'dist', 'build', 'coverage', 'sessions']);

type Snapshot = Record<string, [string, StoredSession][]>;
type Message =
  | { websession: 'loaded' }
  | { websession: 'start'; entry: string }
  | { websession: 'retire' }
  | { websession: 'snapshot'; stores: Snapshot }
  | { websession: 'restore'; stores: Snapshot }
  | { websession: 'reload-error'; error: string };

function isMessage(value: unknown): value is Message {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { websession?: unknown }).websession === 'string'
  );
}

const log = (text: string): void => console.error(`[websession] reloader: ${text}`);

// ---------------------------------------------------------------------------------------------
// What survives a reload

/** In-process stores whose contents are handed to the next child, by registration order. */
const handover = new Map<string, Store>();
/** Folders of stores (DiskStore…) not worth watching. */
const ignoredPaths = new Set<string>();

/**
 * Marks a store for the reloader: a MemoryStore's contents are handed over to the next process
 * on every reload; a store folder is left out of the watch. Called by `web.session.Session()`.
 */
export function keepAcrossReloads(store: Store): void {
  const dir = (store as { dir?: unknown }).dir;
  if (typeof dir === 'string') ignoredPaths.add(path.resolve(dir));
  if (store.kind !== 'memory') return;
  for (const kept of handover.values()) if (kept === store) return;
  handover.set(`store-${handover.size}`, store);
}

async function exportStores(): Promise<Snapshot> {
  const out: Snapshot = {};
  for (const [name, store] of handover) {
    const records: [string, StoredSession][] = [];
    for await (const key of store.keys()) {
      const record = await store.get(key);
      if (record) records.push([key, record]);
    }
    out[name] = records;
  }
  return out;
}

async function importStores(snapshot: Snapshot): Promise<void> {
  for (const [name, records] of Object.entries(snapshot)) {
    const store = handover.get(name);
    if (!store) continue;
    for (const [key, record] of records) await store.set(key, record);
  }
}

// ---------------------------------------------------------------------------------------------
// Roles

/** True in a child started by the reloader. */
export function isReloaderChild(): boolean {
  return cluster.isWorker && process.env[CHILD_ENV] === '1';
}

/** True where `app.run()` in debug mode must become the supervisor. */
export function shouldSupervise(): boolean {
  return cluster.isPrimary && process.env[CHILD_ENV] === undefined;
}

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * The serving child's side: holds requests until the previous child's stores are handed over,
 * retires on the supervisor's word, and shows a failed reload's error on its pages.
 */
export class ReloaderChild {
  static #instance: ReloaderChild | undefined;
  #ready: Promise<void>;
  #isReady = false;
  #markReady: () => void = () => {};
  #retiring = false;
  readonly #servers = new Set<Server>();
  readonly #inFlight = new Set<ServerResponse>();
  #queue: Promise<void> = Promise.resolve();
  /** The error of the newest code, while it fails to load. */
  reloadError: string | undefined;

  /** The one instance of this process (several `app.run()` share it). */
  static get(): ReloaderChild {
    ReloaderChild.#instance ??= new ReloaderChild();
    return ReloaderChild.#instance;
  }

  private constructor() {
    this.#ready = new Promise<void>((resolve) => {
      this.#markReady = () => {
        this.#isReady = true;
        resolve();
      };
    });
    // Nothing to receive: serve at once. Otherwise wait for `restore` (bounded, in case).
    if (handover.size === 0) this.#markReady();
    else {
      setTimeout(() => {
        if (!this.#isReady) log('no store handover arrived: serving with empty in-memory stores');
        this.#markReady();
      }, RETIRE_TIMEOUT_MS + 5000).unref();
    }
    // One message at a time: a `retire` must wait for a `restore` still being imported.
    process.on('message', (message: unknown) => {
      if (!isMessage(message)) return;
      this.#queue = this.#queue
        .then(() => this.#onMessage(message))
        .catch((err: unknown) => log(`message ${message.websession} failed: ${String(err)}`));
    });
  }

  /** Wraps the application's listener: held until ready, `Connection: close` once retiring. */
  wrap(listener: Listener): Listener {
    return (req, res) => {
      if (this.#retiring) res.setHeader('Connection', 'close');
      else {
        // Begun before the retire: answered with `Connection: close` if the retire comes first.
        this.#inFlight.add(res);
        res.once('close', () => this.#inFlight.delete(res));
      }
      if (this.#isReady) listener(req, res);
      else void this.#ready.then(() => listener(req, res));
    };
  }

  /** Response transform: the failed-reload banner on HTML pages. */
  readonly transform = (response: RawResponse): RawResponse =>
    this.reloadError === undefined ? response : withReloadErrorBanner(response, this.reloadError);

  /** A server this child serves on (added once it listens). */
  attach(server: Server): void {
    this.#servers.add(server);
  }

  async #onMessage(message: Message): Promise<void> {
    if (message.websession === 'reload-error') this.reloadError = message.error;
    else if (message.websession === 'restore') {
      try {
        await importStores(message.stores);
      } catch (err) {
        log(`could not restore the in-memory sessions: ${String(err)}`);
      }
      this.#markReady();
    } else if (message.websession === 'retire') await this.#retire();
  }

  async #retire(): Promise<void> {
    if (this.#retiring) return;
    this.#retiring = true;
    // Requests being answered close their connection after the answer (the client is told so);
    // idle kept-alive connections are closed now, so the next request meets the new child.
    for (const res of this.#inFlight) if (!res.headersSent) res.setHeader('Connection', 'close');
    await Promise.all(
      [...this.#servers].map(
        (server) =>
          new Promise<void>((resolve) => {
            const timer = setTimeout(() => {
              server.closeAllConnections();
              resolve();
            }, RETIRE_TIMEOUT_MS - 2000);
            server.close(() => {
              clearTimeout(timer);
              resolve();
            });
            server.closeIdleConnections();
          }),
      ),
    );
    let stores: Snapshot = {};
    try {
      stores = await exportStores();
    } catch (err) {
      log(`could not hand over the in-memory sessions: ${String(err)}`);
    }
    process.send?.({ websession: 'snapshot', stores } satisfies Message, () => process.exit(0));
  }
}

// ---------------------------------------------------------------------------------------------
// The supervisor

/** Options of {@link supervise}. */
export interface SuperviseOptions {
  host: string;
  port: number;
  /** Folders to watch; default the folder of the program's entry file. */
  watch?: readonly string[] | undefined;
}

interface Child {
  worker: Worker;
  /** Its bootstrap is loaded and listens for `start`. */
  loaded: boolean;
  /** Told to load the application (a spare waits, warm, until then). */
  started: boolean;
  /** When the change that started it was seen (ms). */
  since: number;
  listening: boolean;
  /** Killed on purpose (superseded, retired or spare no longer needed): its exit is no failure. */
  dismissed: boolean;
  /** Last output on stderr, to report a failed start. */
  stderr: string;
  /** When it started serving. */
  servingSince: number;
}

/** The program a child runs: a bootstrap that preloads, then imports the entry when told. */
function bootstrapPath(): string {
  const self = fileURLToPath(import.meta.url);
  return path.join(path.dirname(self), `reload-child${path.extname(self)}`);
}

let supervising: Promise<never> | undefined;

/**
 * Runs the supervisor: forks the serving child, watches the sources and swaps children on
 * change. The returned promise never settles (the supervisor runs until the process ends).
 */

export function supervise(options: SuperviseOptions): Promise<never> {
  // A second `app.run()` in the program: its server runs in the children, like the first one's.
  if (supervising) return supervising;
  const entry = process.argv[1] ? path.resolve(process.argv[1]) : undefined;
  if (!entry) return Promise.reject(new Error('[websession] the reloader needs a program file'));
  const roots = options.watch && options.watch.length > 0 ? options.watch : [path.dirname(entry)];
  new Supervisor(options, entry, roots).start();
  supervising = new Promise<never>(() => {});
  return supervising;
}

class Supervisor {
  readonly #options: SuperviseOptions;
  readonly #entry: string;
  readonly #roots: readonly string[];
  #current: Child | undefined;
  #next: Child | undefined;
  /** A child with Node, the TypeScript loader and this library loaded, waiting for a change. */
  #spare: Child | undefined;
  #handingOver = false;
  #pending: string | undefined;
  #announced = false;
  #timer: NodeJS.Timeout | undefined;
  #changed = new Set<string>();
  #firstChangeAt = 0;

  constructor(options: SuperviseOptions, entry: string, roots: readonly string[]) {
    this.#options = options;
    this.#entry = entry;
    this.#roots = roots;
  }

  start(): void {
    // Children accept from the shared socket themselves. With round-robin the supervisor would
    // accept and pass each connection on, and one passed to a child as it exits would be lost.
    cluster.schedulingPolicy = cluster.SCHED_NONE;
    cluster.setupPrimary({ exec: bootstrapPath(), args: process.argv.slice(2), silent: true });
    for (const root of this.#roots) watchSources(root, (file) => this.#onChange(file));
    const stop = (code: number) => () => {
      for (const child of [this.#current, this.#next, this.#spare]) {
        child?.worker.process.kill('SIGTERM');
      }
      process.exit(code);
    };
    process.once('SIGINT', stop(130));
    process.once('SIGTERM', stop(143));
    this.#launch(Date.now());
  }

  #onChange(file: string): void {
    if (this.#changed.size === 0) this.#firstChangeAt = Date.now();
    this.#changed.add(file);
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      const files = [...this.#changed].map((f) => path.relative(process.cwd(), f) || f);
      this.#changed.clear();
      this.#reload(files.join(', '), this.#firstChangeAt);
    }, DEBOUNCE_MS);
  }

  #reload(what: string, since: number): void {
    if (this.#handingOver) {
      this.#pending = what;
      return;
    }
    log(`${what} changed: reloading`);
    if (this.#next) {
      // Newer code supersedes a child still starting.
      this.#dismiss(this.#next);
      this.#next = undefined;
    }
    this.#launch(since);
  }

  #dismiss(child: Child): void {
    child.dismissed = true;
    child.worker.process.kill('SIGKILL');
  }

  /** Forks a child that loads Node, the loader and this library, then waits for `start`. */
  #fork(): Child {
    const worker = cluster.fork({ [CHILD_ENV]: '1' });
    const child: Child = {
      worker,
      loaded: false,
      started: false,
      since: 0,
      listening: false,
      dismissed: false,
      stderr: '',
      servingSince: 0,
    };
    worker.process.stdout?.on('data', (chunk: Buffer) => process.stdout.write(chunk));
    worker.process.stderr?.on('data', (chunk: Buffer) => {
      process.stderr.write(chunk);
      if (!child.listening) child.stderr = (child.stderr + chunk.toString('utf8')).slice(-8000);
    });
    worker.on('message', (message: unknown) => {
      if (!isMessage(message) || message.websession !== 'loaded') return;
      child.loaded = true;
      if (child.started) this.#sendStart(child);
    });
    worker.once('listening', (address: { address?: string | null; port: number }) => {
      child.listening = true;
      if (this.#next !== child || child.dismissed) return;
      if (!this.#announced) {
        this.#announced = true;
        announce(address.address ?? this.#options.host, address.port);
        log(`debug mode: watching ${this.#roots.join(', ')} for changes`);
      }
      void this.#promote(child);
    });
    // 'close' comes after the child's output is read, so the error text is complete.
    worker.process.once('close', (code, signal) => this.#onExit(child, code, signal));
    return child;
  }

  /** Starts the application in the spare (or a new child) as the next server. */
  #launch(since: number): void {
    const child = this.#spare && !this.#spare.dismissed ? this.#spare : this.#fork();
    this.#spare = undefined;
    child.started = true;
    child.since = since;
    child.stderr = '';
    this.#next = child;
    const send = () =>
      child.worker.send({ websession: 'start', entry: this.#entry } satisfies Message);
    if (child.worker.isConnected()) send();
    else child.worker.once('online', send);
    setTimeout(() => {
      if (child.listening || child.dismissed || this.#next !== child) return;
      child.stderr += `\n(no server listening ${START_TIMEOUT_MS / 1000} s after start)`;
      child.worker.process.kill('SIGKILL');
    }, START_TIMEOUT_MS).unref();
  }

  #sendStart(child: Child): void {
    if (child.worker.isConnected()) {
      child.worker.send({ websession: 'start', entry: this.#entry } satisfies Message);
    }
  }

  /** Keeps one warm spare ready for the next change (forked when nothing else is starting). */
  #refillSpare(): void {
    if (!this.#spare && !this.#next && !this.#handingOver) this.#spare = this.#fork();
  }

  async #promote(child: Child): Promise<void> {
    this.#next = undefined;
    const old = this.#current;
    this.#current = child;
    this.#handingOver = true;
    const stores = old ? await this.#retire(old) : {};
    if (!child.dismissed && child.worker.isConnected()) {
      child.worker.send({ websession: 'restore', stores } satisfies Message);
      child.servingSince = Date.now();
      if (old) log(`reloaded: new code serving ${Date.now() - child.since} ms after the change`);
    }
    this.#handingOver = false;
    if (this.#pending !== undefined) {
      const what = this.#pending;
      this.#pending = undefined;
      this.#reload(what, Date.now());
    } else {
      this.#refillSpare();
    }
  }

  #retire(old: Child): Promise<Snapshot> {
    old.dismissed = true;
    return new Promise<Snapshot>((resolve) => {
      const done = (stores: Snapshot) => {
        clearTimeout(timer);
        old.worker.off('message', onMessage);
        old.worker.process.off('exit', onExit);
        resolve(stores);
      };
      const onMessage = (message: unknown) => {
        if (isMessage(message) && message.websession === 'snapshot') done(message.stores);
      };
      const onExit = () => done({});
      const timer = setTimeout(() => {
        log('the old server did not stop in time: in-memory sessions not handed over');
        old.worker.process.kill('SIGKILL');
        done({});
      }, RETIRE_TIMEOUT_MS);
      old.worker.on('message', onMessage);
      old.worker.process.once('exit', onExit);
      if (old.worker.isConnected()) old.worker.send({ websession: 'retire' } satisfies Message);
      else done({});
    });
  }

  #onExit(child: Child, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.#spare === child) this.#spare = undefined;
    if (child.dismissed || !child.started) return;
    const how = signal ? `signal ${signal}` : `code ${code}`;
    if (!child.listening) {
      if (this.#next === child) this.#next = undefined;
      const error =
        stripAnsi(child.stderr).trim() || `the server process exited with ${how} before listening`;
      if (this.#current) {
        log(`reload failed (exit ${how}): still serving the last good code until a file changes`);
        if (this.#current.worker.isConnected()) {
          this.#current.worker.send({ websession: 'reload-error', error } satisfies Message);
        }
      } else {
        log(`the server failed to start (exit ${how}): waiting for a file to change`);
      }
      this.#refillSpare();
      return;
    }
    if (this.#current === child) {
      this.#current = undefined;
      // A child that dies right after starting would only die again: wait for a change then.
      const quick = Date.now() - child.servingSince < 2000;
      log(
        `the server process exited with ${how}${quick ? ': waiting for a file to change' : ': restarting it'}`,
      );
      if (!quick && !this.#next) this.#launch(Date.now());
    }
  }
}

function stripAnsi(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: terminal colour codes are control characters
  return text.replace(/\u001b\[[0-9;]*[A-Za-z]/g, '');
}

// ---------------------------------------------------------------------------------------------
// Watching

function isIgnoredDir(dir: string): boolean {
  const name = path.basename(dir);
  return name.startsWith('.') || IGNORED_DIRS.has(name) || ignoredPaths.has(dir);
}

function isSource(file: string): boolean {
  const name = path.basename(file);
  return !name.startsWith('.') && SOURCE_EXTENSIONS.has(path.extname(name));
}

/**
 * Watches source files under `root` (one watcher per folder, skipping node_modules, dist, dot
 * folders and store folders; new folders are picked up) and calls `onChange` with a changed
 * file's path. Folders are watched rather than files so that editors' save-by-rename is seen.
 * @returns a function that stops watching.
 */
export function watchSources(root: string, onChange: (file: string) => void): () => void {
  const watchers = new Map<string, FSWatcher>();
  const top = path.resolve(root);
  const add = (dir: string): void => {
    // The root is watched whatever its name; below it, ignored folders are skipped.
    if (watchers.has(dir) || (dir !== top && isIgnoredDir(dir))) return;
    let entries: import('node:fs').Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    try {
      const watcher = watch(dir, (_event, name) => {
        if (!name) return;
        const full = path.join(dir, name.toString());
        if (isSource(full)) onChange(full);
        else if (!watchers.has(full)) {
          try {
            if (statSync(full).isDirectory()) add(full);
          } catch {
            // gone already
          }
        }
      });
      watcher.on('error', () => {
        watcher.close();
        watchers.delete(dir);
      });
      watchers.set(dir, watcher);
    } catch {
      return;
    }
    for (const entry of entries) if (entry.isDirectory()) add(path.join(dir, entry.name));
  };
  add(top);
  return () => {
    for (const watcher of watchers.values()) watcher.close();
    watchers.clear();
  };
}
