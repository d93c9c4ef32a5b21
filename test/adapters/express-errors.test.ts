import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import express from 'express';
import { MemoryStore, StoreUnavailableError } from 'websession';
import { session, sessionErrors, sessionOf } from 'websession/express';
import { SpyStore } from '../helpers/spy-store.js';

describe('websession/express sessionErrors()', () => {
  it('answers 503 for a store failure raised inside a handler, and passes other errors on', async () => {
    const store = new SpyStore(new MemoryStore());
    const app = express();
    app.use(session(store, { cleanup_interval: 0 }));
    app.get('/count', async (req, res) => {
      const data = await sessionOf(req).update((s) => {
        s.count = ((s.count as number | undefined) ?? 0) + 1;
      });
      res.type('text').send(String(data.count));
    });
    app.get('/boom', () => {
      throw new Error('not a store error');
    });
    app.use(sessionErrors());
    app.use(
      (
        _err: unknown,
        _req: express.Request,
        res: express.Response,
        _next: express.NextFunction,
      ) => {
        res.status(418).send('other');
      },
    );
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const first = await fetch(`${base}/count`);
      assert.equal(await first.text(), '1');
      const cookie = first.headers.get('set-cookie')!.split(';')[0]!;
      // The load succeeds; the update inside the handler fails.
      const realUpdate = store.update.bind(store);
      store.update = () => Promise.reject(new StoreUnavailableError('memory', 'simulated outage'));
      const down = await fetch(`${base}/count`, { headers: { cookie } });
      assert.equal(down.status, 503);
      assert.match(await down.text(), /session store is unavailable/);
      store.update = realUpdate;
      assert.equal(await (await fetch(`${base}/count`, { headers: { cookie } })).text(), '2');
      const other = await fetch(`${base}/boom`);
      assert.equal(other.status, 418);
    } finally {
      server.close();
    }
  });
});
