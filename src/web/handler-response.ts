/**
 * A request's response from what its handler returned (or threw): the body, the status and
 * headers the handler set on `web.ctx`, HTML unless it said otherwise, no body for HEAD.
 * @module
 */
import type { RequestContext } from './ctx.js';
import { errorResponse, type FailingApplication } from './error-response.js';
import { EMPTY, toBuffer } from './response-body.js';
import type { RawResponse } from './types.js';

/** The response of a handler that returned `value`. */
export function handlerResponse(
  value: unknown,
  context: RequestContext,
  app: FailingApplication,
): RawResponse {
  let body: Buffer;
  try {
    body = toBuffer(value);
  } catch (err) {
    return errorResponse(err, context, app);
  }
  const headers = context.headers;
  let typed = false;
  for (let i = 0; i < headers.length && !typed; i++)
    typed = (headers[i] as [string, string])[0].toLowerCase() === 'content-type';
  if (!typed) headers.push(['Content-Type', 'text/html; charset=utf-8']);
  return { status: context.status, headers, body: context.method === 'HEAD' ? EMPTY : body };
}
