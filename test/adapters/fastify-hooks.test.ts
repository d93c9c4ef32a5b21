// The Fastify plugin's hooks on both paths they take: a store that answers at once (MemoryStore:
// no promise between the hooks) and one that answers with promises (DiskStore). A session is
// loaded, saved and read back; a save that fails with an error that is not a store failure (a
// session over max_size) goes to Fastify's error handler as a 500, the record stays as it was, and
// the server serves on.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { DiskStore, MemoryStore, type Store } from 'websession';
import { fastifySession, sessionOf } from 'websession/fastify';
import { tempDirs } from '../helpers/temp-dirs.js';

const tempDir = tempDirs('fastify-hooks');
const MAX_SIZE = 2000;

type Data = { name: string; blob: string };

async function app(store: Store): Promise<FastifyInstance> {
  const fastify = Fastify();
  await fastify.register(fastifySession, {
    store,
    config: { secret_key: 'f'.repeat(32), cleanup_interval: 0, max_size: MAX_SIZE },
  });
  fastify.get('/login', async (request) => {
    sessionOf<Data>(request).name = 'ann';
    return 'in';
  });
  fastify.get('/who', async (request) => sessionOf<Data>(request).get('name', 'nobody'));
  fastify.get('/big', (request, reply) => {
    sessionOf<Data>(request).blob = 'x'.repeat(MAX_SIZE * 2);
    reply.send('big');
  });
  return fastify;
}

const STORES: [string, () => Promise<Store>][] = [
  ['MemoryStore (answers at once)', async () => new MemoryStore()],
  ['DiskStore (answers with promises)', async () => new DiskStore(await tempDir())],
];

for (const [label, makeStore] of STORES) {
  describe(`websession/fastify hooks: ${label}`, () => {
    it('loads, saves and reads back a session, with its cookie and cache headers', async () => {
      const store = await makeStore();
      const fastify = await app(store);
      try {
        const login = await fastify.inject({ url: '/login' });
        assert.equal(login.statusCode, 200);
        const setCookie = login.headers['set-cookie'];
        assert.equal(typeof setCookie, 'string');
        assert.equal(login.headers['cache-control'], 'private, no-store');
        const cookie = String(setCookie).split(';')[0] as string;
        const who = await fastify.inject({ url: '/who', headers: { cookie } });
        assert.equal(who.body, 'ann');
        assert.equal(who.headers.vary, 'Cookie', 'the answer read the session');
        assert.equal(who.headers['set-cookie'], undefined, 'no cookie for a known session');
      } finally {
        await fastify.close();
        await store.close();
      }
    });

    it("a save over max_size is Fastify's 500, the record unchanged, and the server serves on", async () => {
      const store = await makeStore();
      const fastify = await app(store);
      try {
        const login = await fastify.inject({ url: '/login' });
        const cookie = String(login.headers['set-cookie']).split(';')[0] as string;
        const big = await fastify.inject({ url: '/big', headers: { cookie } });
        assert.equal(big.statusCode, 500);
        assert.notEqual(big.body, 'big', 'a failed save is not answered as a success');
        assert.match(big.body, /max_size/, "Fastify's error answer names the cause");
        const who = await fastify.inject({ url: '/who', headers: { cookie } });
        assert.equal(who.statusCode, 200);
        assert.equal(who.body, 'ann', 'the stored session is the one saved before');
      } finally {
        await fastify.close();
        await store.close();
      }
    });
  });
}
