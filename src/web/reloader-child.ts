/**
 * The serving child's side of the debug-mode reloader: holds requests until the previous
 * child's stores are handed over, retires on the supervisor's word (finishing its requests and
 * handing over its own stores), and shows a failed reload's error on its pages.
 * @module
 */
import cluster from 'node:cluster';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { withReloadErrorBanner } from './debugerror.js';
import { expectsHandover, exportStores, importStores, type Snapshot } from './reloader-handover.js';
import { CHILD_ENV, isMessage, log, type Message, RETIRE_TIMEOUT_MS } from './reloader-protocol.js';
import type { RawResponse } from './types.js';

/** True in a child started by the reloader. */
export function isReloaderChild(): boolean {
  return cluster.isWorker && process.env[CHILD_ENV] === '1';
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
    if (!expectsHandover()) this.#markReady();
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
