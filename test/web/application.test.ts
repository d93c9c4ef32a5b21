import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as web from 'websession/web';
import { captureConsole } from '../helpers/console-capture.js';

describe('web.application', () => {
  class Index {
    GET() {
      return 'index';
    }
  }
  class Hello {
    GET(name: string, n?: string) {
      return `hello ${name}${n ? ` #${n}` : ''}`;
    }
    POST(name: string) {
      const i = web.input({ tags: [] as string[] });
      return `posted ${name} ${String(i.x)} ${JSON.stringify(i.tags)}`;
    }
  }
  class Go {
    GET() {
      throw web.seeother('/target?x=1');
    }
  }
  class Relative {
    GET() {
      throw web.found('sibling');
    }
  }
  class Boom {
    GET() {
      throw new Error('kaboom');
    }
  }
  class Ctx {
    GET() {
      web.header('Content-Type', 'text/plain');
      web.setcookie('flavor', 'oat', { expires: 60 });
      web.ctx.status = '201 Created';
      return JSON.stringify({
        method: web.ctx.method,
        path: web.ctx.path,
        query: web.ctx.query,
        home: web.ctx.home,
        ip: web.ctx.ip,
        cookies: web.cookies(),
      });
    }
  }
  const urls = [
    '/',
    'Index',
    '/hello/([a-z]+)(?:/(\\d+))?',
    'Hello',
    '/go',
    'Go',
    '/a/b',
    'Relative',
    '/boom',
    'Boom',
    '/ctx',
    Ctx,
  ];
  const app = web.application(urls, () => ({ Index, Hello, Go, Relative, Boom }));

  it('maps regexes to handler classes, groups to arguments', async () => {
    assert.equal((await app.request('/')).data, 'index');
    assert.equal((await app.request('/hello/ann')).data, 'hello ann');
    assert.equal((await app.request('/hello/ann/3')).data, 'hello ann #3');
  });

  it('anchors patterns: no partial matches', async () => {
    assert.equal((await app.request('/hello/ann/x')).statusCode, 404);
    assert.equal((await app.request('/index')).status, '404 Not Found');
  });

  it('answers 405 with Allow for a missing method, and HEAD falls back to GET', async () => {
    const r = await app.request('/', { method: 'POST' });
    assert.equal(r.status, '405 Method Not Allowed');
    assert.equal(r.headers.Allow, 'GET');
    const head = await app.request('/hello/ann', { method: 'HEAD' });
    assert.equal(head.statusCode, 200);
    assert.equal(head.data, '');
  });

  it('reads input from query and url-encoded body', async () => {
    const r = await app.request('/hello/bo?tags=a&tags=b', { method: 'POST', data: { x: '1' } });
    assert.equal(r.data, 'posted bo 1 ["a","b"]');
  });

  it('seeother answers 303 with an absolute Location, as web.py', async () => {
    const r = await app.request('/go', { host: 'example.org:8080' });
    assert.equal(r.status, '303 See Other');
    assert.equal(r.headers.Location, 'http://example.org:8080/target?x=1');
    const rel = await app.request('/a/b', { host: 'h' });
    assert.equal(rel.status, '302 Found');
    assert.equal(rel.headers.Location, 'http://h/a/sibling');
  });

  it('turns an unexpected error into a plain 500 outside debug mode', async () => {
    const { result: r, printed } = await captureConsole(() => app.request('/boom'));
    assert.equal(r.statusCode, 500);
    assert.equal(r.data, 'internal server error');
    assert.doesNotMatch(r.data, /kaboom/);
    assert.equal(printed.length, 1);
    assert.match(printed[0]!, /kaboom/, 'the server log has the error');
  });

  it('exposes ctx, headers, cookies and setcookie', async () => {
    const r = await app.request('/ctx?q=1', {
      headers: { Cookie: 'a=1; b=two' },
      ip: '10.1.2.3',
      host: 'h:1',
    });
    assert.equal(r.status, '201 Created');
    assert.equal(r.headers['Content-Type'], 'text/plain');
    assert.match(r.headers['Set-Cookie'] ?? '', /^flavor=oat; Max-Age=60; Path=\/; Expires=/);
    assert.deepEqual(JSON.parse(r.data), {
      method: 'GET',
      path: '/ctx',
      query: '?q=1',
      home: 'http://h:1',
      ip: '10.1.2.3',
      cookies: { a: '1', b: 'two' },
    });
  });

  it('runs processors around the handler in order, hooks included', async () => {
    const seen: string[] = [];
    const a2 = web.application(['/', 'Index'], { Index });
    a2.add_processor(async (handler) => {
      seen.push('outer-in');
      try {
        return await handler();
      } finally {
        seen.push('outer-out');
      }
    });
    a2.add_processor(web.loadhook(() => seen.push('load')));
    a2.add_processor(web.unloadhook(() => seen.push('unload')));
    assert.equal((await a2.request('/')).data, 'index');
    assert.deepEqual(seen, ['outer-in', 'load', 'unload', 'outer-out']);
  });

  it('refuses a malformed url list', () => {
    assert.throws(() => web.application(['/', 'Index', '/x'] as string[]), TypeError);
  });

  it('isMain tells the entry module, named with or without its extension', () => {
    const saved = process.argv[1];
    try {
      process.argv[1] = '/srv/app/main.ts';
      assert.equal(web.isMain({ url: 'file:///srv/app/main.ts' }), true);
      assert.equal(web.isMain({ url: 'file:///srv/app/other.ts' }), false);
      process.argv[1] = '/srv/app/main';
      assert.equal(web.isMain({ url: 'file:///srv/app/main.ts' }), true);
      assert.equal(web.isMain({ url: 'file:///srv/app/mainx.ts' }), false);
    } finally {
      process.argv[1] = saved as string;
    }
  });

  it('parses run() addresses like web.py', () => {
    assert.deepEqual(web.parseAddress(undefined), { host: '0.0.0.0', port: 8080 });
    assert.deepEqual(web.parseAddress('8089'), { host: '0.0.0.0', port: 8089 });
    assert.deepEqual(web.parseAddress('127.0.0.1:8089'), { host: '127.0.0.1', port: 8089 });
    assert.deepEqual(web.parseAddress('[::1]:80'), { host: '::1', port: 80 });
    assert.equal(web.parseAddress('nope'), undefined);
    assert.equal(web.parseAddress('1.2.3.4:99999'), undefined);
  });

  it('run() prints where it listens: every interface also names the local URL to open', async () => {
    const app = web.application(['/', 'Index'], () => ({ Index }));
    const ports: number[] = [];
    const { printed } = await captureConsole(async () => {
      for (const address of ['0.0.0.0:0', '127.0.0.1:0']) {
        const server = await app.run(address);
        ports.push((server.address() as { port: number }).port);
        server.close();
      }
    });
    const [everywhere, local] = printed;
    const [port1, port2] = ports;
    assert.equal(printed.length, 2);
    assert.equal(
      everywhere,
      `http://0.0.0.0:${port1}/ (every interface; on this machine: http://localhost:${port1}/)`,
    );
    assert.equal(local, `http://127.0.0.1:${port2}/`);
  });
});

describe('web.application: HTTP answers thrown from a handler', () => {
  class Moved {
    GET() {
      throw web.redirect('/new/place?x=1');
    }
  }
  class Found {
    GET() {
      throw web.found('https://elsewhere.example/p');
    }
  }
  class Missing {
    GET(what: string) {
      web.header('X-Looked-For', what);
      throw what === 'default' ? web.notfound() : web.notfound(`no ${what} here`);
    }
  }
  class Bad {
    GET() {
      throw web.badrequest();
    }
    POST() {
      throw web.badrequest('missing field "name"');
    }
  }
  class Custom {
    GET() {
      throw new web.HTTPError(418, { 'Content-Type': 'text/plain', 'X-Tea': 'earl grey' }, 'short');
    }
    POST() {
      throw new web.HTTPError('429 Slow Down', { 'Retry-After': '7' }, 'too many');
    }
  }
  const app = web.application(
    [
      '/moved',
      'Moved',
      '/found',
      'Found',
      '/missing/(\\w+)',
      'Missing',
      '/bad',
      'Bad',
      '/custom',
      'Custom',
    ],
    { Moved, Found, Missing, Bad, Custom },
  );

  it('web.redirect answers 301 Moved Permanently with an absolute Location and no body', async () => {
    const r = await app.request('/moved', { host: 'example.org' });
    assert.equal(r.status, '301 Moved Permanently');
    assert.equal(r.statusCode, 301);
    assert.equal(r.headers.Location, 'http://example.org/new/place?x=1');
    assert.equal(r.data, '');
    const https = await app.request('/moved', { host: 'example.org', https: true });
    assert.equal(https.headers.Location, 'https://example.org/new/place?x=1');
  });

  it('web.found answers 302 Found, an absolute URL kept as it is', async () => {
    const r = await app.request('/found', { host: 'example.org' });
    assert.equal(r.status, '302 Found');
    assert.equal(r.statusCode, 302);
    assert.equal(r.headers.Location, 'https://elsewhere.example/p');
    assert.equal(r.data, '');
  });

  it('web.notfound() answers 404 with its message, keeping headers set before the throw', async () => {
    const r = await app.request('/missing/default');
    assert.equal(r.status, '404 Not Found');
    assert.equal(r.data, 'not found');
    assert.equal(r.headers['Content-Type'], 'text/html');
    assert.equal(r.headers['X-Looked-For'], 'default');
    assert.equal(r.headers.Location, undefined);
    const custom = await app.request('/missing/cheese');
    assert.equal(custom.statusCode, 404);
    assert.equal(custom.data, 'no cheese here');
  });

  it('web.badrequest() answers 400 Bad Request, with its message or a given one', async () => {
    const r = await app.request('/bad');
    assert.equal(r.status, '400 Bad Request');
    assert.equal(r.data, 'bad request');
    assert.equal(r.headers['Content-Type'], 'text/html');
    const posted = await app.request('/bad', { method: 'POST', data: { x: '1' } });
    assert.equal(posted.statusCode, 400);
    assert.equal(posted.data, 'missing field "name"');
  });

  it('throw new web.HTTPError(status, headers, data): that status, those headers, that body', async () => {
    const r = await app.request('/custom');
    assert.equal(r.status, '418 Unknown', 'a code without a known reason phrase');
    assert.equal(r.statusCode, 418);
    assert.equal(r.headers['Content-Type'], 'text/plain');
    assert.equal(r.headers['X-Tea'], 'earl grey');
    assert.equal(r.data, 'short');
    const line = await app.request('/custom', { method: 'POST', data: '' });
    assert.equal(line.status, '429 Slow Down', 'a full status line is kept as it is');
    assert.equal(line.statusCode, 429);
    assert.equal(line.headers['Retry-After'], '7');
    assert.equal(line.data, 'too many');
    const head = await app.request('/custom', { method: 'HEAD' });
    assert.equal(head.statusCode, 418);
    assert.equal(head.data, '', 'no body for HEAD');
  });
});
