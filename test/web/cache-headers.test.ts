// Cache headers of the web layer: Cache-Control private, no-store with the session cookie (unless
// the application set its own), Vary: Cookie when the handler read the session (appended to the
// application's Vary, never twice).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryStore } from 'websession';
import * as web from 'websession/web';

function makeApp() {
  const app = web.application(
    ['/set', 'SetIt', '/own', 'Own', '/read', 'Read', '/static', 'Static'],
    () => ({ SetIt, Own, Read, Static }),
  );
  const session = web.session.Session(app, new MemoryStore(), null, { cleanup_interval: 0 });
  class SetIt {
    GET() {
      session.x = 1;
      return 'set';
    }
  }
  class Own {
    GET() {
      web.header('Cache-Control', 'no-cache');
      web.header('Vary', 'Accept-Encoding');
      session.x = 2;
      return String(session.x);
    }
  }
  class Read {
    GET() {
      web.header('Vary', 'Accept, cookie');
      return String(session.get('x', 0));
    }
  }
  class Static {
    GET() {
      return 'static';
    }
  }
  return app;
}

describe('web layer: cache headers', () => {
  it('a response that sets the cookie is private, no-store; one that read the session varies on Cookie', async () => {
    const app = makeApp();
    const set = await app.request('/set');
    assert.match(set.headers['Set-Cookie'] ?? '', /^webpy_session_id=/);
    assert.equal(set.headers['Cache-Control'], 'private, no-store');
    assert.equal(set.headers.Vary, undefined, 'the handler only wrote');

    const own = await app.request('/own');
    assert.equal(own.headers['Cache-Control'], 'no-cache', "the application's Cache-Control stays");
    assert.equal(own.headers.Vary, 'Accept-Encoding, Cookie');

    const read = await app.request('/read');
    assert.equal(read.headers.Vary, 'Accept, cookie', 'Cookie is not named twice');
    assert.equal(read.headers['Cache-Control'], undefined);

    const plain = await app.request('/static');
    assert.equal(plain.headers['Cache-Control'], undefined);
    assert.equal(plain.headers.Vary, undefined);
  });
});
