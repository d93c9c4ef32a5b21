/**
 * Where the web layer logs a store failure it answers 503: through the logger of the session
 * manager that `web.session.Session(app, …)` set up for the application, else on the console.
 * Kept apart from the application object so that it adds nothing to its public shape.
 * @module
 */
import type { Logger } from '../core/config.js';

const loggers = new WeakMap<object, Logger>();

const consoleLogger: Logger = { warn: (message) => console.error(message) };

/** Makes `logger` (the session manager's) the one for `app`'s store failures. */
export function setStoreFailureLogger(app: object, logger: Logger): void {
  loggers.set(app, logger);
}

/** The logger for `app`'s store failures. */
export function storeFailureLogger(app: object): Logger {
  return loggers.get(app) ?? consoleLogger;
}
