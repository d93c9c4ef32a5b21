/**
 * The processors around every request (web.py's `app.add_processor`): each gets `handler()`, the
 * rest of the chain, and the last one's `handler()` runs the request's handler.
 * @module
 */
import type { Awaitable } from '../core/awaitable.js';
import type { RequestContext } from './ctx.js';
import type { Processor } from './types.js';

/** An application's processors, in the order they wrap the handler (the first outermost). */
export class ProcessorChain {
  readonly #processors: Processor[] = [];
  readonly #named = new Map<string, Processor>();
  readonly #innermost: (context: RequestContext) => unknown;

  /** @param innermost what the last processor's `handler()` runs: the request's handler. */
  constructor(innermost: (context: RequestContext) => unknown) {
    this.#innermost = innermost;
  }

  /** Adds `processor` inside the ones there. */
  add(processor: Processor): void {
    this.#processors.push(processor);
  }

  /** Adds `processor` under `name`, or puts it in place of the one registered under it before. */
  set(name: string, processor: Processor): void {
    const old = this.#named.get(name);
    const index = old ? this.#processors.indexOf(old) : -1;
    if (index >= 0) this.#processors[index] = processor;
    else this.#processors.push(processor);
    this.#named.set(name, processor);
  }

  /** Runs the request through the chain; a value when everything answered at once. */
  run(context: RequestContext): Awaitable<unknown> {
    return this.#run(context, 0);
  }

  /** Processor `index` around the rest; a value when everything answered at once. */
  #run(context: RequestContext, index: number): Awaitable<unknown> {
    const processor = this.#processors[index];
    if (!processor) return this.#innermost(context);
    let called = false;
    return processor(() => {
      if (called)
        return Promise.reject(new Error('[websession] a processor called handler() twice'));
      called = true;
      try {
        return this.#run(context, index + 1);
      } catch (err) {
        return Promise.reject(err);
      }
    });
  }
}
