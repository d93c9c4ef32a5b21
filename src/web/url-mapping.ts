/**
 * web.py's URL mapping: `urls` pairs a regex with a handler class (or its name in `handlers`);
 * the first regex that matches the whole path picks the class, and its method named after the
 * request's answers, with the regex's groups as arguments.
 * @module
 */
import type { RequestContext } from './ctx.js';
import { nomethod, notfound } from './http.js';
import type { HandlerClass, Handlers } from './types.js';

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'] as const;

/** An application's `urls`, checked once, and the handler each request goes to. */
export class UrlMapping {
  readonly #mapping: [RegExp, string | HandlerClass][] = [];
  readonly #handlers: Handlers | (() => Handlers);

  constructor(urls: readonly (string | HandlerClass)[], handlers: Handlers | (() => Handlers)) {
    if (!Array.isArray(urls) || urls.length % 2 !== 0) {
      throw new TypeError('[websession] urls must be a flat list of (pattern, handler) pairs');
    }
    for (let i = 0; i < urls.length; i += 2) {
      const pattern = urls[i];
      const target = urls[i + 1];
      if (typeof pattern !== 'string')
        throw new TypeError(`[websession] url pattern at ${i} must be a string`);
      if (typeof target !== 'string' && typeof target !== 'function') {
        throw new TypeError(`[websession] url handler at ${i + 1} must be a class name or a class`);
      }
      this.#mapping.push([new RegExp(`^${pattern}$`), target]);
    }
    this.#handlers = handlers;
  }

  #resolve(target: string | HandlerClass): HandlerClass | undefined {
    if (typeof target === 'function') return target;
    const handlers = typeof this.#handlers === 'function' ? this.#handlers() : this.#handlers;
    const cls = Object.hasOwn(handlers, target) ? handlers[target] : undefined;
    return typeof cls === 'function' ? cls : undefined;
  }

  /** Runs the handler the path maps to; its result as it comes (a value or a promise). */
  dispatch(context: RequestContext): unknown {
    for (const [regex, target] of this.#mapping) {
      const m = regex.exec(context.path);
      if (!m) continue;
      const cls = this.#resolve(target);
      if (!cls) throw new Error(`[websession] no handler class named ${JSON.stringify(target)}`);
      const instance = new cls() as Record<string, unknown>;
      let method = context.method;
      if (typeof instance[method] !== 'function' && method === 'HEAD') method = 'GET';
      const fn = instance[method];
      if (typeof fn !== 'function')
        throw nomethod(METHODS.filter((name) => typeof instance[name] === 'function'));
      if (m.length === 1) return (fn as () => unknown).call(instance);
      const args = m.slice(1).map((g) => (g === undefined ? undefined : decodeURIComponent(g)));
      return (fn as (...a: unknown[]) => unknown).apply(instance, args);
    }
    throw notfound();
  }
}
