/**
 * What `@hono/node-server` passes a fetch handler after the request (Hono's `c.env`): node's own
 * request and response. Read from there, the headers cost less than through the fetch `Request`,
 * which node-server builds in full only when something asks for its headers.
 * @module
 */
import type { ServerResponse } from 'node:http';
import type { HeaderBag } from '../core/proxy.js';

/** The request's headers as node parsed them, when `env` is node-server's; else undefined. */
export function nodeIncomingHeaders(env: unknown): HeaderBag | undefined {
  const incoming = (env as { incoming?: { headers?: unknown } } | null | undefined)?.incoming;
  const headers = incoming?.headers;
  return typeof headers === 'object' && headers !== null ? (headers as HeaderBag) : undefined;
}

/** Node's response, when `env` is node-server's and nothing was written to it yet. */
export function unsentNodeResponse(env: unknown): ServerResponse | undefined {
  const outgoing = (env as { outgoing?: { headersSent?: unknown; writeHead?: unknown } } | null)
    ?.outgoing;
  return outgoing?.headersSent === false && typeof outgoing.writeHead === 'function'
    ? (outgoing as ServerResponse)
    : undefined;
}
