// The debug error page: readable and escaped in debug mode, never shown otherwise.
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import * as web from 'websession/web';
import { captureConsole } from '../helpers/console-capture.js';

const saved = web.config.debug;
afterEach(() => {
  web.config.debug = saved;
});

function makeApp() {
  const app = web.application(['/login', 'Login', '/fail/(.*)', 'Fail'], () => ({ Login, Fail }));
  const session = web.session.Session(app, web.session.MemoryStore());
  class Login {
    GET() {
      session.logged_in = true;
      return 'ok';
    }
  }
  class Fail {
    GET(what: string) {
      session.api_token = 'topsecret-value';
      throw new Error(`boom <script>alert(${JSON.stringify(what)})</script>`);
    }
  }
  return app;
}

async function failingRequest(app: web.Application) {
  const b = app.browser();
  await b.open('/login');
  return b.open('/fail/%3Cimg%3E', { headers: { 'X-Probe': '<b>"probe"</b>' } });
}

describe('debug error page', () => {
  test('debug mode: stack, request, headers and session keys, all escaped', async () => {
    web.config.debug = true;
    const app = makeApp();
    const { result: r, printed } = await captureConsole(() => failingRequest(app));
    assert.equal(r.statusCode, 500);
    // The server's log gets the request line and the stack (unescaped: it is not HTML).
    assert.equal(printed.length, 1);
    assert.match(printed[0]!, /^GET \/fail\/<img>: Error: boom <script>/);
    assert.match(printed[0]!, /debugerror\.test\.ts:\d+/);
    assert.match(r.headers['Content-Type'] ?? '', /^text\/html/);
    // The error and its stack, escaped: no markup from the error or the request gets through.
    assert.ok(
      r.data.includes('boom &#60;script&#62;alert(&#34;&#60;img&#62;&#34;)&#60;/script&#62;'),
    );
    assert.ok(!r.data.includes('<script>'), 'nothing unescaped');
    assert.ok(!r.data.includes('<img>'), 'the path is escaped');
    assert.match(r.data, /Traceback/);
    assert.match(r.data, /debugerror\.test\.ts:\d+/, 'the stack points at the handler');
    // The request.
    assert.ok(r.data.includes('<th>method</th><td>GET</td>'));
    assert.ok(r.data.includes('<th>path</th><td>/fail/&#60;img&#62;</td>'));
    assert.ok(r.data.includes('<th>x-probe</th><td>&#60;b&#62;&#34;probe&#34;&#60;/b&#62;</td>'));
    // Cookie names are shown, their values (the session id) are not.
    assert.ok(r.data.includes('webpy_session_id=…'));
    // Session keys, never values.
    assert.match(r.data, /logged_in\napi_token|api_token\nlogged_in/);
    assert.ok(!r.data.includes('topsecret-value'), 'no session value is shown');
  });

  test('the cookie value never appears on the page', async () => {
    web.config.debug = true;
    const app = makeApp();
    const b = app.browser();
    await b.open('/login');
    const id = b.cookies.get('webpy_session_id');
    assert.ok(id && id.length > 20);
    const { result: r, printed } = await captureConsole(() => b.open('/fail/x'));
    assert.equal(r.statusCode, 500);
    assert.equal(printed.length, 1);
    assert.ok(!printed[0]!.includes(id), 'nor in the log');
    assert.ok(!r.data.includes(id), 'the session id is masked');
  });

  test('not in debug mode: a plain 500, nothing of the error shown', async () => {
    web.config.debug = false;
    const app = makeApp();
    const { result: r, printed } = await captureConsole(() => failingRequest(app));
    assert.equal(r.statusCode, 500);
    assert.match(r.headers['Content-Type'] ?? '', /^text\/plain/);
    assert.equal(r.data, 'internal server error');
    // The stack goes to the server's log only.
    assert.equal(printed.length, 1);
    assert.match(printed[0]!, /^Error: boom <script>alert\("<img>"\)<\/script>\n\s+at Fail\.GET/);
    // Even when set by hand, the page is never rendered outside debug mode.
    app.errorRenderer = web.debugerror;
    const { result: again, printed: printedAgain } = await captureConsole(() =>
      failingRequest(app),
    );
    assert.equal(again.data, 'internal server error');
    assert.equal(printedAgain.length, 1);
  });

  test('HTTP answers are not errors: a 404 stays a 404 in debug mode', async () => {
    web.config.debug = true;
    const app = makeApp();
    const r = await app.request('/nowhere');
    assert.equal(r.statusCode, 404);
    assert.ok(!r.data.includes('Traceback'));
  });

  test('escapeHtml escapes the five characters', () => {
    assert.equal(
      web.escapeHtml(`<a href="x" title='y'>&</a>`),
      '&#60;a href=&#34;x&#34; title=&#39;y&#39;&#62;&#38;&#60;/a&#62;',
    );
  });
});
