/**
 * An application served by node:http: each request, read from its socket (its client address
 * and protocol as `web.config.trust_proxy` allows), goes to the application, and its response
 * is written back.
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Awaitable, isPromise } from '../core/awaitable.js';
import { clientAddress, isSecureRequest } from '../core/proxy.js';
import { config } from './config.js';
import { statusCode } from './http.js';
import { readBody } from './read-body.js';
import type { RawRequest, RawResponse } from './types.js';

/** Handles one request: answers at once when it can, else with a promise that never rejects. */
type Handle = (raw: RawRequest) => Awaitable<RawResponse>;

/** Changes a response before it is sent. */
type Transform = (response: RawResponse) => RawResponse;

/** A `(req, res)` listener for `http.createServer` that answers through `handle`. */
export function nodeListener(
  handle: Handle,
  transform?: Transform,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => readBody(req, res, (body) => respond(handle, req, res, body, transform));
}

function respond(
  handle: Handle,
  req: IncomingMessage,
  res: ServerResponse,
  body: Buffer,
  transform: Transform | undefined,
): void {
  const trust = config.trust_proxy;
  const socket = req.socket;
  const encrypted = 'encrypted' in socket && Boolean((socket as { encrypted?: boolean }).encrypted);
  const handled = handle({
    method: req.method ?? 'GET',
    url: req.url ?? '/',
    headers: req.headers,
    lowerCaseHeaders: true,
    body,
    ip: clientAddress(socket.remoteAddress, req.headers, trust) ?? '',
    https: isSecureRequest(encrypted, req.headers, trust),
  });
  if (isPromise(handled)) handled.then((r) => send(res, r, transform));
  else send(res, handled, transform);
}

function send(res: ServerResponse, handled: RawResponse, transform: Transform | undefined): void {
  if (res.destroyed) return;
  const response = transform ? transform(handled) : handled;
  const status = response.status;
  const code = statusCode(status);
  const message = status.slice(String(code).length).trim() || undefined;
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of response.headers) {
    const existing = out[name];
    if (existing === undefined) out[name] = value;
    else out[name] = Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  out['Content-Length'] = String(response.body.length);
  res.writeHead(code, message, out);
  res.end(response.body);
}
