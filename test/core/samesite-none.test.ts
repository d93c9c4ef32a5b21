// SameSite=None without Secure is dropped by browsers: `samesite: 'None'` needs `secure: true`,
// refused at start-up with a clear ConfigError (as the __Host- prefix is), for `secure: false`
// and for `secure: 'auto'` (which leaves Secure off on plain HTTP). Also the default store_timeout.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ConfigError,
  DEFAULT_CONFIG,
  MemoryStore,
  resolveConfig,
  type SessionConfig,
  SessionManager,
} from 'websession';
import * as web from 'websession/web';

function refused(config: SessionConfig, message: RegExp): void {
  const check = (err: unknown) => {
    assert.ok(err instanceof ConfigError, String(err));
    assert.match(err.message, message);
    return true;
  };
  assert.throws(() => resolveConfig(config), check);
  assert.throws(
    () => new SessionManager(new MemoryStore(), { ...config, cleanup_interval: 0 }),
    check,
  );
  const app = web.application(['/', 'Index'], () => ({ Index: class {} }));
  assert.throws(
    () =>
      web.session.Session(app, web.session.MemoryStore(), null, { ...config, cleanup_interval: 0 }),
    check,
  );
}

describe('samesite None', () => {
  it('needs secure: true; "auto" (the default) and false are refused at start-up', () => {
    refused(
      { samesite: 'None', secure: 'auto' },
      /samesite None needs secure: true, got "auto" \("auto" leaves Secure off on plain HTTP\)/,
    );
    refused({ samesite: 'none' }, /samesite None needs secure: true, got "auto"/);
    refused({ samesite: 'None', secure: false }, /samesite None needs secure: true, got false/);
  });

  it('with secure: true every cookie carries Secure and SameSite=None', () => {
    const manager = new SessionManager(new MemoryStore(), {
      samesite: 'None',
      secure: true,
      cleanup_interval: 0,
    });
    for (const https of [false, true]) {
      const options = manager.cookieOptions(https);
      assert.equal(options.secure, true);
      assert.equal(options.sameSite, 'none');
    }
  });
});

describe('store_timeout', () => {
  it('defaults to 2000 ms (a 503 within what browsers and load balancers wait)', () => {
    assert.equal(DEFAULT_CONFIG.store_timeout, 2000);
    assert.equal(resolveConfig({}).store_timeout, 2000);
  });
});
