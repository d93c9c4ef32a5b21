// The peer on Fastify: @fastify/session with @fastify/cookie and its MemoryStore, the same counter.
import { count, loadUntyped, SECRET, type ServerSpec } from './common.js';

export const FASTIFY_SESSION: Record<string, ServerSpec> = {
  'peer-@fastify/session': {
    label: '@fastify/session + its MemoryStore',
    framework: 'fastify',
    store: 'memory',
    kind: 'peer',
    async start() {
      const Fastify = (await import('fastify')).default;
      const cookie = (await loadUntyped('@fastify/cookie')).default;
      const session = (await loadUntyped('@fastify/session')).default;
      const app = Fastify();
      await app.register(cookie);
      await app.register(session, {
        secret: SECRET,
        saveUninitialized: false,
        cookie: { secure: false },
      });
      const handler = async (request: import('fastify').FastifyRequest) => {
        const s = (
          request as unknown as {
            session: { get(k: string): unknown; set(k: string, v: unknown): void };
          }
        ).session;
        return count(
          request.url,
          () => s.get('count'),
          (v) => s.set('count', v),
        );
      };
      app.get('/', handler);
      app.get('/visit', handler);
      await app.listen({ port: 0, host: '127.0.0.1' });
      return { server: app.server };
    },
  },
};
