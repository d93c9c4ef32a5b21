/**
 * Express's response prototype held before the first request (see {@link holdExpressResponses}),
 * for the Express middleware and the express-session one.
 * @module
 */
import { createRequire } from 'node:module';
import { holdPrototype } from './hold.js';

/**
 * Holds the responses of the Express this package resolves (the application's, unless it has
 * two copies) from now on, rather than from the first request: middleware registered before the
 * session that keeps the response's methods (compression) keeps the held ones from the very
 * first request. Another copy's responses are held from their first request.
 */
export function holdExpressResponses(): void {
  try {
    const express = createRequire(import.meta.url)('express') as { response?: object };
    if (express.response) holdPrototype(express.response);
  } catch {
    // Not resolvable from here: each application's responses are held from its first request.
  }
}
