// Another method on a GET-only route answers 405 Method Not Allowed with an Allow header, as
// web.py does (its nomethod), on every framework of the example runner; a path that is no route
// is a 404 whatever the method.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { startExample } from './helpers/example-process.js';
import { sessionFiles } from './helpers/session-files.js';

const FRAMEWORKS = ['web', 'node', 'express', 'fastify', 'hono', 'koa', 'fetch'];
const ROUTES = ['/', '/login', '/logout', '/count', '/kill', '/metrics'];

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('example runner: 405 for another method on a route', () => {
  for (const framework of FRAMEWORKS) {
    it(`${framework}: POST, PUT, DELETE, PATCH on every route answer 405 with Allow: GET, run no handler, set no cookie`, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'websession-405-'));
      dirs.push(dir);
      const app = await startExample(`disk:${join(dir, 'sessions')}`, framework);
      try {
        for (const path of ROUTES) {
          for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
            const res = await fetch(`${app.base}${path}`, { method, redirect: 'manual' });
            const what = `${framework} ${method} ${path}`;
            assert.equal(res.status, 405, what);
            assert.equal(res.headers.get('allow'), 'GET', what);
            assert.equal(res.headers.get('set-cookie'), null, `${what}: no session made`);
            await res.body?.cancel();
          }
        }
        const files = await sessionFiles(join(dir, 'sessions'));
        assert.deepEqual(files, [], 'POST /login logged nobody in');
        for (const method of ['GET', 'POST']) {
          const res = await fetch(`${app.base}/nowhere`, { method });
          assert.equal(res.status, 404, `${framework} ${method} /nowhere`);
          await res.body?.cancel();
        }
        const head = await fetch(`${app.base}/`, { method: 'HEAD' });
        assert.equal(head.status, 200, `${framework} HEAD / is served by GET`);
      } finally {
        await app.stop();
      }
    });
  }
});
