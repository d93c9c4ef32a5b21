// RFC 6265bis cookie-name prefixes and the 400-day Max-Age cap, checked when the configuration is
// read: a __Host- or __Secure- cookie that breaks its rules is dropped by the browser, so the
// session would silently never stick. Likewise SameSite=None without Secure (and the default
// store_timeout, read with the configuration).
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

const refused = (config: SessionConfig, message: RegExp) => {
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
};

describe('cookie-name prefixes (RFC 6265bis 4.1.3)', () => {
  it('__Host- needs secure: true (not false, not "auto", not the default "auto")', () => {
    refused(
      { cookie_name: '__Host-sid', secure: false },
      /"__Host-sid" needs secure: true, got false/,
    );
    refused(
      { cookie_name: '__Host-sid', secure: 'auto' },
      /needs secure: true, got "auto" \("auto" leaves Secure off on plain HTTP\)/,
    );
    refused({ cookie_name: '__Host-sid' }, /needs secure: true/);
  });

  it('__Host- refuses a cookie_domain and a cookie_path other than /', () => {
    refused(
      { cookie_name: '__Host-sid', secure: true, cookie_domain: 'example.com' },
      /"__Host-sid" cannot have a cookie_domain, got "example.com"/,
    );
    refused(
      { cookie_name: '__Host-sid', secure: true, cookie_path: '/app' },
      /"__Host-sid" needs cookie_path "\/", got "\/app"/,
    );
  });

  it('__Secure- needs secure: true, and may have a domain and a path', () => {
    refused({ cookie_name: '__Secure-sid', secure: false }, /"__Secure-sid" needs secure: true/);
    refused({ cookie_name: '__Secure-sid' }, /needs secure: true, got "auto"/);
    const c = resolveConfig({
      cookie_name: '__Secure-sid',
      secure: true,
      cookie_domain: 'example.com',
      cookie_path: '/app',
    });
    assert.equal(c.cookie_domain, 'example.com');
  });

  it('prefixes are matched without regard to case, as browsers do', () => {
    refused({ cookie_name: '__HOST-sid', secure: 'auto' }, /needs secure: true/);
    refused({ cookie_name: '__secure-sid', secure: false }, /needs secure: true/);
  });

  it('a valid __Host- cookie is sent Secure, Path=/, without Domain, even over plain HTTP', async () => {
    const manager = new SessionManager<{ n: number }>(new MemoryStore(), {
      cookie_name: '__Host-sid',
      secure: true,
      cleanup_interval: 0,
    });
    const s = await manager.load({ secure: false });
    s.n = 1;
    const set = (await manager.commit(s, { secure: false }))!;
    assert.match(set, /^__Host-sid=[0-9a-f]{64}; /);
    assert.match(set, /; Secure/);
    assert.match(set, /; Path=\/(;|$)/);
    assert.doesNotMatch(set, /Domain=/i);
  });

  it('other names are not concerned', () => {
    resolveConfig({ cookie_name: 'Host-sid', secure: false, cookie_domain: 'example.com' });
    resolveConfig({ cookie_name: '_Secure-sid', secure: false });
  });
});

describe('cookie Max-Age cap (RFC 6265bis 5.6.2: 400 days)', () => {
  const DAYS_400 = 400 * 86400;

  it('a larger cookie_max_age is capped to 400 days, with one warning through the configured logger', async () => {
    const warnings: string[] = [];
    const logger = { warn: (message: string) => void warnings.push(message) };
    const manager = new SessionManager<{ n: number }>(new MemoryStore(), {
      cookie_max_age: 10 * 365 * 86400,
      logger,
      cleanup_interval: 0,
    });
    assert.equal(manager.config.cookie_max_age, DAYS_400);
    assert.equal(warnings.length, 1);
    assert.match(
      warnings[0]!,
      /cookie_max_age 315360000 s is over the 400 days .* capped to 34560000 s/,
    );
    const s = await manager.load({});
    s.n = 1;
    const set = (await manager.commit(s))!;
    assert.match(set, new RegExp(`Max-Age=${DAYS_400}(;|$)`));
  });

  it('400 days exactly and less pass without a warning', () => {
    const warnings: string[] = [];
    const logger = { warn: (message: string) => void warnings.push(message) };
    assert.equal(resolveConfig({ cookie_max_age: DAYS_400, logger }).cookie_max_age, DAYS_400);
    assert.equal(resolveConfig({ cookie_max_age: 3600, logger }).cookie_max_age, 3600);
    assert.deepEqual(warnings, []);
  });
});

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
