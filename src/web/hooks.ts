/**
 * web.py's `loadhook` and `unloadhook`: processors that run a function before or after each
 * request.
 * @module
 */
import type { Processor } from './types.js';

/** A processor that runs `fn` before each request (web.py's `web.loadhook`). */
export function loadhook(fn: () => unknown): Processor {
  return async (handler) => {
    await fn();
    return handler();
  };
}

/** A processor that runs `fn` after each request, even a failed one (web.py's `web.unloadhook`). */
export function unloadhook(fn: () => unknown): Processor {
  return async (handler) => {
    try {
      return await handler();
    } finally {
      await fn();
    }
  };
}
