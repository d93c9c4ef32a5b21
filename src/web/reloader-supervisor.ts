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
 *    stores (MemoryStore) to the supervisor and exits (see reloader-child.ts);
 * 3. the new child receives those contents, then answers the requests it was holding.
 * @module
 */
import cluster, { type Worker } from 'node:cluster';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { announce } from './listen.js';
import type { Snapshot } from './reloader-handover.js';
import { CHILD_ENV, isMessage, log, type Message, RETIRE_TIMEOUT_MS } from './reloader-protocol.js';
import { watchSources } from './reloader-watcher.js';

/** Longest wait for a new child to listen before it counts as failed. */
const START_TIMEOUT_MS = 30_000;
/** Changes closer together than this make one reload. */
const DEBOUNCE_MS = 40;

/** True where `app.run()` in debug mode must become the supervisor. */
export function shouldSupervise(): boolean {
  return cluster.isPrimary && process.env[CHILD_ENV] === undefined;
}

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
  return path.join(path.dirname(self), `reloader-child-program${path.extname(self)}`);
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
