// The example runner's servers: the same code `npm run example -- <framework> --store <url>`
// serves (examples/frameworks/<framework>.ts, its Prometheus metrics included), started as the
// runner starts it. Their session rows request `/count` (`session.update()`). One difference
// from the runner: they get the session config of every other websession row (signed cookies,
// no cleanup timer), so that an example row and its minimal row differ by code only.
import type { Server } from 'node:http';
import type { StoreOrSealer } from 'websession';
import type { ExampleOptions } from '../../examples/frameworks/shared.js';
import {
  countKeys,
  type Framework,
  openStore,
  SESSION_CONFIG,
  type ServerSpec,
  type StoreKind,
} from './common.js';

type Starter = (store: StoreOrSealer, options: ExampleOptions) => Promise<Server>;

/** Loads examples/frameworks/<framework>.ts, as the runner's FRAMEWORKS table does. */
async function starter(framework: Framework): Promise<Starter> {
  const url = new URL(`../../examples/frameworks/${framework}.js`, import.meta.url);
  return ((await import(url.href)) as { start: Starter }).start;
}

function example(framework: Framework, storeKind: StoreKind, path: string): ServerSpec {
  return {
    label: `the example runner's ${framework} app + ${storeKind}${path === '/count' ? ', `/count`' : ''}`,
    framework,
    store: storeKind,
    kind: 'ours',
    path,
    async start(tmp) {
      const start = await starter(framework);
      const store = await openStore(storeKind, tmp, `example_${framework}`);
      const options = { host: '127.0.0.1', port: 0, session: SESSION_CONFIG };
      const server = await start(store, options);
      return {
        server,
        ...('keys' in store ? { store } : {}),
        records: () => countKeys(store),
        close: () => store.close(),
      };
    },
  };
}

export const EXAMPLES: Record<string, ServerSpec> = {};
for (const framework of ['node', 'express', 'fastify', 'hono', 'koa', 'web'] as const)
  EXAMPLES[`example-${framework}`] = example(framework, 'memory', '/count');
// web.py's example routes on a DiskStore, as `npm run example -- web --store disk:<folder>`
// serves them: its new-visitor row (`/` reads `logged_in`) and its row of sessions in rotation
// (`/count`), see bench/rows.ts.
EXAMPLES['example-web-disk'] = { ...example('web', 'disk', '/'), sessionRow: false };
