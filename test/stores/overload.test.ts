// A slow store turns excess work away: with Redis frozen behind a proxy the test controls, the
// requests past `store_max_in_flight` are answered 503 with Retry-After at once, while the calls
// in flight wait; when Redis answers again, those complete.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { withSession } from '../../src/adapters/node.js';
import { RedisStore, SessionManager, StoreBusyError } from '../../src/index.js';
import { sessionMetrics } from '../../src/metrics.js';
import { dropPrefix } from '../helpers/redis.js';
import { REDIS_URL, serverSkip } from '../helpers/servers.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

const skip = await serverSkip('redis', REDIS_URL, 6379);
const CAP = 8;
const prefix = `overload-${randomBytes(4).toString('hex')}:`;

describe('store_max_in_flight with a stalled store', { skip }, () => {
  let proxy: TcpProxy;
  let store: RedisStore;
  let manager: SessionManager<{ count?: number }>;
  let server: Server;
  let base: string;
  const warnings: string[] = [];

  before(async () => {
    const target = new URL(REDIS_URL);
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 6379) });
    store = new RedisStore(`redis://127.0.0.1:${proxy.port}/0?prefix=${prefix}`);
    manager = new SessionManager(store, {
      store_max_in_flight: CAP,
      store_timeout: 10_000,
      cleanup_interval: 0,
      logger: { warn: (m) => warnings.push(m) },
    });
    server = createServer(
      withSession(manager, (_req, res, session) => {
        session.count = (session.count ?? 0) + 1;
        res.end(String(session.count));
      }),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    proxy?.thaw();
    await new Promise((r) => server?.close(r));
    await manager?.close();
    await store?.close();
    await proxy?.close();
    await dropPrefix(prefix);
  });

  it('answers 503 with Retry-After at once past the cap, and serves the calls in flight when the store is back', async () => {
    const metrics = sessionMetrics(manager);
    const first = await fetch(`${base}/`);
    assert.equal(first.status, 200);
    const cookie = first.headers.get('set-cookie')!.split(';')[0]!;

    proxy.freeze();
    const requests = Array.from({ length: 5 * CAP }, () =>
      fetch(`${base}/`, { headers: { cookie } }).then(async (res) => ({
        status: res.status,
        retryAfter: res.headers.get('retry-after'),
        body: await res.text(),
      })),
    );
    // Every request past the cap is answered while the store is still frozen.
    const settled: { status: number; retryAfter: string | null }[] = [];
    for (const r of requests) void r.then((x) => settled.push(x));
    for (let i = 0; i < 500 && settled.length < 4 * CAP; i++)
      await new Promise((r) => setTimeout(r, 10));
    assert.equal(settled.length, 4 * CAP, 'the requests past the cap were answered at once');
    for (const r of settled) {
      assert.equal(r.status, 503);
      assert.equal(r.retryAfter, '1');
    }
    assert.match(metrics.text(), new RegExp(`_store_busy_total\\{store="redis"\\} ${4 * CAP}\\n`));

    proxy.thaw();
    const all = await Promise.all(requests);
    const served = all.filter((r) => r.status === 200);
    assert.equal(served.length, CAP, 'the calls in flight completed once the store answered');
    for (const r of served) assert.ok(Number(r.body) >= 2, r.body);
    metrics.close();
  });

  it('refuses in the manager without a store call: the error says why', async () => {
    const first = await fetch(`${base}/`);
    const cookie = first.headers.get('set-cookie')!.split(';')[0]!;
    proxy.freeze();
    const info = { cookie, ip: '127.0.0.1', secure: false };
    const held = Array.from({ length: CAP }, async () => manager.load(info));
    await assert.rejects(
      async () => manager.load(info),
      (err: unknown) => {
        assert.ok(err instanceof StoreBusyError);
        assert.match((err as Error).message, /store_max_in_flight/);
        return true;
      },
    );
    proxy.thaw();
    await Promise.allSettled(held);
  });
});
