// Store-failure warnings are rate-limited: during an outage the first failure is logged at once,
// then one line per interval counts the rest; a quiet interval ends the outage. Checked on the
// log itself and through the Hono adapter with a store that is down. Timers are Node's mock
// timers, so the 10 s intervals take no time.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { Hono } from 'hono';
import { type Logger, MemoryStore, StoreBusyError, StoreUnavailableError } from 'websession';
import { type SessionEnv, session } from 'websession/hono';
import { FAILURE_LOG_INTERVAL_MS, logStoreFailure } from '../../src/core/failure-log.js';

/** A logger that keeps its lines. */
function recorder(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, warn: (message) => lines.push(message) };
}

const refused = (n = 0) => new StoreUnavailableError('memory', `connection refused (${n})`);

/** A MemoryStore that is down: every read fails as an unreachable server's would. */
class DownStore extends MemoryStore {
  override get(): Promise<never> {
    return Promise.reject(refused());
  }
}

const COUNT_LINE =
  /^\[websession\] \[memory\] ([\d,]+) more store failures? in the last 10 s \(last: (.*)\)$/;

describe('store-failure log', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
  afterEach(() => mock.timers.reset());

  it('logs the first failure at once, then one line counting the rest of the interval', () => {
    const logger = recorder();
    for (let i = 0; i < 2001; i++) logStoreFailure(logger, refused(i));
    assert.deepEqual(logger.lines, ['[websession] [memory] connection refused (0)']);
    mock.timers.tick(FAILURE_LOG_INTERVAL_MS);
    assert.equal(logger.lines.length, 2);
    assert.deepEqual(COUNT_LINE.exec(logger.lines[1] ?? '')?.slice(1), [
      '2,000',
      'connection refused (2000)',
    ]);
  });

  it('after a quiet interval, the next failure is logged at once again', () => {
    const logger = recorder();
    logStoreFailure(logger, refused(1));
    logStoreFailure(logger, refused(2));
    mock.timers.tick(FAILURE_LOG_INTERVAL_MS);
    mock.timers.tick(FAILURE_LOG_INTERVAL_MS);
    assert.equal(logger.lines.length, 2, 'nothing to count in the quiet interval');
    logStoreFailure(logger, refused(3));
    assert.equal(logger.lines.length, 3);
    assert.equal(logger.lines[2], '[websession] [memory] connection refused (3)');
    mock.timers.tick(FAILURE_LOG_INTERVAL_MS);
    assert.equal(logger.lines.length, 3, 'a lone failure has no count line');
  });

  it('a long outage gives one count line per interval', () => {
    const logger = recorder();
    logStoreFailure(logger, refused());
    for (let interval = 0; interval < 3; interval++) {
      for (let i = 0; i < 5; i++) logStoreFailure(logger, refused());
      mock.timers.tick(FAILURE_LOG_INTERVAL_MS);
    }
    assert.equal(logger.lines.length, 4);
    for (const line of logger.lines.slice(1)) assert.equal(COUNT_LINE.exec(line)?.[1], '5');
  });

  it('keeps the outages of each logger and store kind apart', () => {
    const a = recorder();
    const b = recorder();
    logStoreFailure(a, refused());
    logStoreFailure(b, refused());
    logStoreFailure(a, new StoreUnavailableError('redis', 'connection refused'));
    logStoreFailure(a, refused());
    assert.equal(a.lines.length, 2, 'first memory and first redis failure');
    assert.equal(b.lines.length, 1);
    mock.timers.tick(FAILURE_LOG_INTERVAL_MS);
    assert.equal(COUNT_LINE.exec(a.lines[2] ?? '')?.[1], '1');
    assert.equal(b.lines.length, 1);
  });

  it('requests turned away by the in-flight cap are counted apart; the cause stays the last store failure', () => {
    const logger = recorder();
    logStoreFailure(logger, refused(1));
    logStoreFailure(logger, refused(2));
    for (let i = 0; i < 30; i++) logStoreFailure(logger, new StoreBusyError('memory', 512));
    mock.timers.tick(FAILURE_LOG_INTERVAL_MS);
    assert.equal(
      logger.lines[1],
      '[websession] [memory] 1 more store failure in the last 10 s (last: connection refused (2)); 30 requests turned away by store_max_in_flight',
    );
  });

  it('a burst turned away by the cap against a healthy store is not logged as store failures', () => {
    const logger = recorder();
    for (let i = 0; i < 20; i++) logStoreFailure(logger, new StoreBusyError('memory', 512));
    mock.timers.tick(FAILURE_LOG_INTERVAL_MS);
    assert.equal(logger.lines.length, 2);
    assert.match(logger.lines[0] ?? '', /request turned away/);
    assert.equal(
      logger.lines[1],
      '[websession] [memory] 19 requests turned away by store_max_in_flight in the last 10 s (the store is slow; no store failure)',
    );
  });

  it("a logger that throws does not make the count's timer throw", () => {
    const logger: Logger = {
      warn() {
        throw new Error('logger down');
      },
    };
    assert.throws(() => logStoreFailure(logger, refused()), /logger down/);
    logStoreFailure(logger, refused());
    assert.doesNotThrow(() => mock.timers.tick(FAILURE_LOG_INTERVAL_MS));
  });

  it('through the Hono adapter: 503 for each request, two lines for the interval', async () => {
    const logger = recorder();
    const app = new Hono<SessionEnv>();
    app.use(
      session(new DownStore(), { config: { logger, store_timeout: 0, cleanup_interval: 0 } }),
    );
    app.get('/', (c) => c.text('unreachable'));
    const cookie = `webpy_session_id=${'ab'.repeat(32)}`;
    for (let i = 0; i < 50; i++) {
      const r = await app.request('/', { headers: { cookie } });
      assert.equal(r.status, 503);
      assert.equal(r.headers.get('retry-after'), '1');
    }
    assert.equal(logger.lines.length, 1);
    assert.match(logger.lines[0] ?? '', /connection refused/);
    mock.timers.tick(FAILURE_LOG_INTERVAL_MS);
    assert.equal(COUNT_LINE.exec(logger.lines[1] ?? '')?.[1], '49');
    mock.timers.tick(FAILURE_LOG_INTERVAL_MS);
    assert.equal((await app.request('/', { headers: { cookie } })).status, 503);
    assert.equal(logger.lines.length, 3, 'a new outage: its first failure at once');
  });
});

describe('store-failure log timers', () => {
  it('do not keep the process alive', () => {
    const program = `
      import { logStoreFailure } from './src/core/failure-log.ts';
      import { StoreUnavailableError } from './src/core/errors.ts';
      const logger = { warn() {} };
      logStoreFailure(logger, new StoreUnavailableError('memory', 'down'));
      logStoreFailure(logger, new StoreUnavailableError('memory', 'down'));`;
    const started = Date.now();
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', program],
      {
        encoding: 'utf8',
        timeout: FAILURE_LOG_INTERVAL_MS,
      },
    );
    assert.equal(run.status, 0, run.stderr);
    assert.ok(Date.now() - started < FAILURE_LOG_INTERVAL_MS, 'exited before the interval');
  });
});
