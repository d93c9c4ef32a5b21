// Issue 6 on every store, through the web layer and Express, over real HTTP on loopback: "disk
// full or read-only store → the request fails with a clear error and the previous record stays
// intact". For each store a session with data is saved while the store is healthy; then the store
// is made unable to write while it can still be read (test/helpers/store-faults.ts says how for
// each), and a request changes the session. It must answer 503 (the store-unavailable answer),
// report a StoreError that names the cause, keep the process up, serve reads, and leave the
// record as it was; once the store is writable again, a save works.
//
// MemoryStore is exempt: it lives in the process's own heap, so it has no disk to fill and
// no read-only mode; when the heap runs out the whole process fails, which no store can answer.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import express from 'express';
import {
  decodePayload,
  type SessionConfig,
  SessionManager,
  type Store,
  StoreError,
  storeKey,
} from 'websession';
import { session as expressSession, sessionOf } from 'websession/express';
import * as web from 'websession/web';
import { recordConsole } from '../helpers/console-capture.js';
import { httpGet, liveCookie } from '../helpers/http-client.js';
import { type StoreFault, storeKinds } from '../helpers/stores.js';

type Data = { user: string; [k: string]: unknown };
type Framework = 'web' | 'express';

const COOKIE = 'webpy_session_id';
const CONFIG: SessionConfig<Data> = { cleanup_interval: 0 };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// The store errors the web layer and the adapter print on purpose here, and lmdb's own report
// of a full disk through console.error (it prints before it rejects), are recorded instead of printed (each test
// checks its own errors through the manager's `error` event); any other line fails the file.
recordConsole(/^\[websession\] |^Error: No space left on device/);

// A rejection nobody handles, or an exception nobody catches, ends a Node process by default:
// the server would go down. They are recorded here and fail the test whose fault caused them.
// The test runner's own listeners are set aside meanwhile (and put back after): they would end
// the test at the first one, and hide what else the test found.
const stray: string[] = [];
const onRejection = (reason: unknown) =>
  stray.push(`unhandled rejection: ${reason instanceof Error ? reason.message : String(reason)}`);
const onException = (err: Error) => stray.push(`uncaught exception: ${err.message}`);
let runnerRejection: NodeJS.UnhandledRejectionListener[] = [];
let runnerException: NodeJS.UncaughtExceptionListener[] = [];

before(() => {
  runnerRejection = process.listeners('unhandledRejection');
  runnerException = process.listeners('uncaughtException');
  process.removeAllListeners('unhandledRejection');
  process.removeAllListeners('uncaughtException');
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
});
after(() => {
  process.off('unhandledRejection', onRejection);
  process.off('uncaughtException', onException);
  for (const listener of runnerRejection) process.on('unhandledRejection', listener);
  for (const listener of runnerException) process.on('uncaughtException', listener);
});

interface App {
  url: string;
  /** Store errors the manager reported (its `error` event). */
  errors: unknown[];
  close(): Promise<void>;
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    );
  });
}

/** `/set?user=…` changes the session, `/who` only reads it: on the web layer or on Express. */
async function startApp(framework: Framework, store: Store): Promise<App> {
  let manager: SessionManager<Data>;
  let server: Server;
  if (framework === 'web') {
    const app = web.application(['/set', 'SetUser', '/who', 'Who'], () => ({ SetUser, Who }));
    const session = web.session.Session<Data>(app, store, null, CONFIG);
    class SetUser {
      GET() {
        session.user = web.input().user ?? 'nobody';
        return 'ok';
      }
    }
    class Who {
      GET() {
        return session.get('user', 'nobody');
      }
    }
    manager = session.manager;
    server = createServer(app.listener());
  } else {
    manager = new SessionManager<Data>(store, CONFIG);
    const app = express();
    app.use(expressSession(manager));
    app.get('/set', (req, res) => {
      sessionOf<Data>(req).user = typeof req.query.user === 'string' ? req.query.user : 'nobody';
      res.send('ok');
    });
    app.get('/who', (req, res) => {
      res.send(sessionOf<Data>(req).get('user', 'nobody'));
    });
    server = createServer(app);
  }
  const errors: unknown[] = [];
  manager.on('error', (e) => errors.push(e.error));
  const url = await listen(server);
  return {
    url,
    errors,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await manager.close();
    },
  };
}

/** A GET answered, with the session cookie it set (not an expired one), if any. */
async function get(app: App, path: string, cookie?: string) {
  const answer = await httpGet(app.url + path, { cookie });
  return { ...answer, cookie: liveCookie(answer, COOKIE) };
}

const keyOf = (cookie: string) => storeKey(cookie.slice(COOKIE.length + 1).split('.')[0]!);

/** The record of a session and its decoded data, read straight from the store. */
async function stored(store: Store, cookie: string) {
  const record = await store.get(keyOf(cookie));
  return { text: record?.data, data: record && decodePayload(record.data).data };
}

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

async function run(kind: StoreFault, framework: Framework): Promise<void> {
  const made = await kind.make();
  const apps: App[] = [];
  const start = async (store: Store) => {
    const app = await startApp(framework, store);
    apps.push(app);
    return app;
  };
  const strayBefore = stray.length;
  // Every requirement is checked and all misses are reported together, so that one miss does
  // not hide the others (the requirement's parts are independent).
  const misses: string[] = [];
  const check = (ok: boolean, what: string) => {
    if (!ok) misses.push(what);
  };
  try {
    const healthy = await start(made.store);
    const first = await get(healthy, '/set?user=ann');
    assert.equal(first.status, 200, `healthy store: ${first.body}`);
    assert.ok(first.cookie, 'a session with data gets a cookie');
    const cookie = first.cookie;
    const saved = await stored(made.store, cookie);
    assert.deepEqual(saved.data, { user: 'ann' }, 'saved while healthy');

    const faulty = await made.break();
    const app = faulty === made.store ? healthy : await start(faulty);

    const change = await get(app, '/set?user=bob', cookie);
    check(
      change.status === 503 && change.body.startsWith('503'),
      `the change answers 503, got ${change.status} ${JSON.stringify(change.body.slice(0, 120))}`,
    );
    const error = app.errors[0];
    check(
      error instanceof StoreError,
      `the manager reports a StoreError, got ${error === undefined ? 'none' : `${(error as Error).constructor?.name}: ${errorText(error)}`}`,
    );
    check(
      kind.cause.test(errorText(error)),
      `the error names the cause (${kind.cause}), got ${JSON.stringify(errorText(error))}`,
    );

    const visitor = await get(app, '/set?user=eve');
    check(
      visitor.status === 503 && visitor.body.startsWith('503'),
      `a new visitor's first save answers 503, got ${visitor.status} ${JSON.stringify(visitor.body.slice(0, 120))}`,
    );
    const read = await get(app, '/who', cookie);
    check(
      read.status === 200 && read.body === 'ann',
      `a request that only reads still answers 200 ann, got ${read.status} ${JSON.stringify(read.body.slice(0, 120))}`,
    );

    const kept = await stored(made.store, cookie);
    check(kept.text === saved.text, 'the previous record is byte for byte as it was');
    check(
      kept.data?.user === 'ann',
      `the previous data is intact, got ${JSON.stringify(kept.data)}`,
    );

    await made.heal();
    const again = await get(healthy, '/set?user=carol', cookie);
    check(
      again.status === 200,
      `once writable, the save answers 200, got ${again.status} ${JSON.stringify(again.body.slice(0, 120))}`,
    );
    const recovered = await stored(made.store, cookie);
    check(
      recovered.data?.user === 'carol',
      `once writable, the save is stored, got ${JSON.stringify(recovered.data)}`,
    );
    check((await get(healthy, '/who', cookie)).body === 'carol', 'and read back through the app');
  } finally {
    for (const app of apps) await app.close().catch(() => {});
    await sleep(50); // a late rejection of the store's own promises shows up here
    await made.teardown();
  }
  const strays = stray.slice(strayBefore);
  check(strays.length === 0, `the process stays up, got ${strays.length}: ${strays.join('; ')}`);
  assert.deepEqual(misses, [], `${kind.name} through ${framework} (${kind.fault})`);
}

// A fault whose native code writes to stderr (out of console's reach) runs in a child process:
// this file again, narrowed by FAULT_CHILD to that one fault and framework, its stderr piped
// and checked against what the fault is known to print.
const CHILD = process.env.FAULT_CHILD;
const childKey = (kind: StoreFault, framework: Framework) => `${kind.name} through ${framework}`;

async function runInChild(kind: StoreFault, framework: Framework): Promise<void> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--conditions=websession-src',
      // TAP, as Node 20 prints by default (Node 24 prints spec): the summary line checked below.
      '--test-reporter=tap',
      fileURLToPath(import.meta.url),
    ],
    {
      // Without the runner's NODE_TEST_CONTEXT, the child reports as a program of its own (TAP).
      env: { ...process.env, NODE_TEST_CONTEXT: '', FAULT_CHILD: childKey(kind, framework) },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const [code] = await once(child, 'close');
  assert.equal(code, 0, `the child's test passes:\n${stdout}\n${stderr}`);
  assert.match(stdout, /# pass 1\n/, `the child ran its one test:\n${stdout}`);
  const report = new RegExp(kind.nativeStderr!.source, 'g');
  assert.ok(stderr.match(report), `the native report of the fault went to stderr: ${stderr}`);
  assert.equal(stderr.replace(report, ''), '', 'and nothing else did');
}

const kinds = (await storeKinds()).flatMap((kind) => kind.faults);

describe('a full or read-only store, on every store, through the web layer and Express', () => {
  for (const kind of kinds) {
    describe(kind.name, { skip: kind.skip }, () => {
      for (const framework of ['web', 'express'] as const) {
        if (CHILD !== undefined && CHILD !== childKey(kind, framework)) continue;
        it(`through ${framework}: a change answers 503, the previous record stays, a save works once writable (${kind.fault})`, () =>
          kind.nativeStderr && CHILD === undefined
            ? runInChild(kind, framework)
            : run(kind, framework));
      }
    });
  }
});
