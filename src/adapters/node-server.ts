/**
 * What `@hono/node-server` passes a fetch handler after the request (Hono's `c.env`): node's own
 * request and response. Read from there, the headers cost less than through the fetch `Request`,
 * which node-server builds in full only when something asks for its headers.
 * @module
 */
import type { HeaderBag } from '../core/proxy.js';

/** The request's headers as node parsed them, when `env` is node-server's; else undefined. */
export function nodeIncomingHeaders(env: unknown): HeaderBag | undefined {
  const incoming = (env as { incoming?: { headers?: unknown } } | null | undefined)?.incoming;
  const headers = incoming?.headers;
  return typeof headers === 'object' && headers !== null ? (headers as HeaderBag) : undefined;
}

/** Node's response, when `env` is node-server's (`addSessionHeadersOnWrite` checks what it is). */
export function nodeOutgoing(env: unknown): unknown {
  return (env as { outgoing?: unknown } | null | undefined)?.outgoing;
}
