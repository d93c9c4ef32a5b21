// The web layer's answer to a store failure: 503 with Retry-After and the cookies set before it,
// and its warnings rate-limited through the session manager's logger (or the console when the
// application has no session). Timers are Node's mock timers, so the 10 s interval takes no time.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { type Logger, MemoryStore, StoreUnavailableError } from 'websession';
import * as web from 'websession/web';
import { FAILURE_LOG_INTERVAL_MS } from '../../src/core/failure-log.js';

/** A logger that keeps its lines. */
function recorder(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, warn: (message) => lines.push(message) };
}

const refused = () => new StoreUnavailableError('memory', 'connection refused');

/** A MemoryStore that is down: every read fails as an unreachable server's would. */
class DownStore extends MemoryStore {
  override get(): Promise<never> {
    return Promise.reject(refused());
  }
}

const COUNT_LINE =
  /^\[websession\] \[memory\] (\d+) more store failures in the last 10 s \(last: connection refused\)$/;

describe('web layer: store failures', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
  afterEach(() => mock.timers.reset());

  it("answers 503 and logs through the session manager's logger, rate-limited", async () => {
    const logger = recorder();
    const app = web.application(['/', 'Index'], () => ({ Index }));
    const session = web.session.Session(app, new DownStore(), null, {
      logger,
      store_timeout: 0,
      cleanup_interval: 0,
    });
    class Index {
      GET() {
        return String(session.get('n', 0));
      }
    }
    const cookie = `webpy_session_id=${'ab'.repeat(32)}`;
    for (let i = 0; i < 30; i++) {
      const r = await app.request('/', { headers: { cookie } });
      assert.equal(r.status, '503 Service Unavailable');
      assert.equal(r.headers['Retry-After'], '1');
      assert.match(r.data, /session store is unavailable/);
    }
    assert.deepEqual(logger.lines, ['[websession] [memory] connection refused']);
    mock.timers.tick(FAILURE_LOG_INTERVAL_MS);
    assert.equal(logger.lines.length, 2);
    assert.equal(COUNT_LINE.exec(logger.lines[1] ?? '')?.[1], '29');
    mock.timers.tick(FAILURE_LOG_INTERVAL_MS);
    await app.request('/', { headers: { cookie } });
    assert.equal(logger.lines.length, 3, 'a new outage: its first failure at once');
  });

  it('without a session: logs on the console, rate-limited, and keeps the cookies', async () => {
    const app = web.application(['/', 'Index'], () => ({ Index }));
    class Index {
      GET() {
        web.setcookie('seen', '1');
        web.header('X-Dropped', 'yes');
        throw refused();
      }
    }
    const printed: unknown[][] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => printed.push(args);
    try {
      for (let i = 0; i < 10; i++) {
        const r = await app.request('/');
        assert.equal(r.statusCode, 503);
        assert.equal(r.headers['Content-Type'], 'text/plain; charset=utf-8');
        assert.match(r.headers['Set-Cookie'] ?? '', /^seen=1/);
        assert.equal(r.headers['X-Dropped'], undefined);
      }
      assert.equal(printed.length, 1);
      mock.timers.tick(FAILURE_LOG_INTERVAL_MS);
    } finally {
      console.error = original;
    }
    assert.equal(printed.length, 2);
    assert.equal(COUNT_LINE.exec(String(printed[1]?.[0]))?.[1], '9');
  });
});
