/**
 * `websession/web`: the web.py-style layer. Import it as `web` and write web.py:
 *
 * @example
 * import * as web from 'websession/web';
 * const app = web.application(['/', 'Index'], () => ({ Index }));
 * const session = web.session.Session(app, web.session.DiskStore('sessions'));
 * class Index { GET() { return session.get('logged_in', false) ? 'in' : 'out'; } }
 * if (web.isMain(import.meta)) app.run();
 * @module
 */

export { Database, type DatabaseParams, database } from '../stores/db/index.js';
export { parseAddress } from './address.js';
export { Application, application, Browser } from './application.js';
export { config, type WebConfig } from './config.js';
export { ctx, getContext, type RequestContext, tryGetContext } from './ctx.js';
export { debugerror, escapeHtml } from './debugerror.js';
export { loadhook, unloadhook } from './hooks.js';
export {
  badrequest,
  forbidden,
  found,
  HTTPError,
  internalerror,
  nomethod,
  notfound,
  Redirect,
  redirect,
  seeother,
  tempredirect,
  unauthorized,
} from './http.js';
export type { AppResponse, RequestOptions } from './in-process-request.js';
export { isMain } from './is-main.js';
export { cookies, data, header, input, type SetCookieOptions, setcookie } from './request.js';
export * as session from './session-namespace.js';
export type {
  ErrorRenderer,
  HandlerClass,
  HandlerInstance,
  Handlers,
  NextHandler,
  Processor,
  RawRequest,
  RawResponse,
} from './types.js';
