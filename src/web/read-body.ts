/**
 * A request's body read from its socket, up to `web.config.max_body`.
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { config } from './config.js';
import { EMPTY } from './response-body.js';

/**
 * Reads `req`'s body and calls `onBody` with it. A body over `config.max_body` is answered 413
 * and a broken stream 400 on `res`, and `onBody` is not called.
 */
export function readBody(
  req: IncomingMessage,
  res: ServerResponse,
  onBody: (body: Buffer) => void,
): void {
  // A request without a body (most GETs) is handled at once, without reading the stream.
  const length = req.headers['content-length'];
  if ((length === undefined || length === '0') && req.headers['transfer-encoding'] === undefined) {
    onBody(EMPTY);
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  req.on('data', (chunk: Buffer) => {
    if (over) return;
    size += chunk.length;
    if (size > config.max_body) {
      over = true;
      res
        .writeHead(413, { 'Content-Type': 'text/plain', Connection: 'close' })
        .end('payload too large');
      return;
    }
    chunks.push(chunk);
  });
  req.on('end', () => {
    if (!over) onBody(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks));
  });
  req.on('error', () => {
    if (!res.headersSent) res.writeHead(400).end();
  });
}
