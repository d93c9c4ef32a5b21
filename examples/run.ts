// The example runner: npm run example -- <framework> --store <store-url> --listen <host:port>

import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { parseArgs } from 'node:util';
import { ConfigError, CookieStore, type StoreOrSealer, storeFromUrl } from 'websession';
import { parseAddress } from 'websession/web';
import type { ExampleOptions } from './frameworks/shared.js';

type Starter = (store: StoreOrSealer, options: ExampleOptions) => Promise<Server>;

/** Frameworks the runner knows, loaded only when chosen. */
export const FRAMEWORKS: Record<string, () => Promise<{ start: Starter }>> = {
  web: () => import('./frameworks/web.js'),
  node: () => import('./frameworks/node.js'),
  express: () => import('./frameworks/express.js'),
  fastify: () => import('./frameworks/fastify.js'),
  hono: () => import('./frameworks/hono.js'),
  koa: () => import('./frameworks/koa.js'),
  fetch: () => import('./frameworks/fetch.js'),
};

const USAGE = `usage: npm run example -- <framework> --store <store-url> --listen <host:port>
  frameworks: ${Object.keys(FRAMEWORKS).join(', ')}
  store URLs: memory:, cookie: (sealed in the cookie), disk:./sessions (default), sqlite:./sessions.db,
              postgres://user@host/db?table=sessions, mysql://root@127.0.0.1/test?table=sessions,
              shelf:./sessions.shelf, redis://127.0.0.1:6379/0?prefix=sess:
  listen:     127.0.0.1:8080 (default)`;

function fail(message: string): never {
  console.error(`example: ${message}`);
  process.exit(2);
}

async function main(): Promise<void> {
  let parsed: ReturnType<
    typeof parseArgs<{
      options: {
        store: { type: 'string' };
        listen: { type: 'string' };
        help: { type: 'boolean'; short: 'h' };
      };
      allowPositionals: true;
    }>
  >;
  try {
    parsed = parseArgs({
      args: process.argv.slice(2),
      options: {
        store: { type: 'string' },
        listen: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
    });
  } catch (err) {
    fail(`${(err as Error).message}\n${USAGE}`);
  }
  if (parsed.values.help) {
    console.log(USAGE);
    return;
  }
  const [framework, ...extra] = parsed.positionals;
  if (!framework) fail(`no framework given\n${USAGE}`);
  if (extra.length > 0) fail(`unexpected argument ${JSON.stringify(extra[0])}\n${USAGE}`);
  const load = Object.hasOwn(FRAMEWORKS, framework) ? FRAMEWORKS[framework] : undefined;
  if (!load)
    fail(
      `unknown framework ${JSON.stringify(framework)} (known: ${Object.keys(FRAMEWORKS).join(', ')})`,
    );
  const listen = parsed.values.listen ?? '127.0.0.1:8080';
  const address = /:/.test(listen) ? parseAddress(listen) : undefined;
  if (!address) fail(`bad --listen address ${JSON.stringify(listen)}: expected HOST:PORT`);
  let store: StoreOrSealer;
  try {
    store = await storeFromUrl(parsed.values.store ?? 'disk:./sessions');
    await store.ready?.(); // a missing table or driver stops here, with what to do
    if (store instanceof CookieStore && !store.hasKeys) {
      // The examples pass no session config: the key comes from WEBSESSION_SECRET, else one
      // drawn for this run (its cookies then open only until the example stops).
      const secret = process.env.WEBSESSION_SECRET;
      if (!secret)
        console.error(
          'example: cookie: sealed with a random key for this run (set WEBSESSION_SECRET, 32+ characters, to keep sessions across restarts)',
        );
      store = new CookieStore({ secret_keys: secret || randomBytes(32).toString('base64url') });
    }
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message.replace(/^\[websession\] /, ''));
    fail(`cannot open store: ${(err as Error).message}`);
  }
  const { start } = await load();
  try {
    await start(store, { host: address.host, port: address.port });
  } catch (err) {
    fail(`cannot listen on ${listen}: ${(err as Error).message}`);
  }
}

await main();
