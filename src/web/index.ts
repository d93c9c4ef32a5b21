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
export {
  Application,
  Browser,
  application,
  isMain,
  loadhook,
  unloadhook,
  parseAddress,
  type AppResponse,
  type HandlerClass,
  type HandlerInstance,
  type Handlers,
  type NextHandler,
  type Processor,
  type RawRequest,
  type RawResponse,
  type RequestOptions,
} from './application.js';
export { config, type WebConfig } from './config.js';
export { ctx, getContext, tryGetContext, type RequestContext } from './ctx.js';
export {
  HTTPError,
  Redirect,
  badrequest,
  forbidden,
  found,
  internalerror,
  nomethod,
  notfound,
  redirect,
  seeother,
  tempredirect,
  unauthorized,
} from './http.js';
export { cookies, data, header, input, setcookie, type SetCookieOptions } from './request.js';
export * as session from './session-namespace.js';
