// The middleware's cookie verifier: it accepts exactly the values express-session's signing
// accepts (with every secret), from its memo as well as without, and never a forged signature
// for an id it remembers.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { CookieVerifier } from '../../src/adapters/express-session/cookie-verifier.js';

const ID = 'a'.repeat(64);

/** express-session's cookie value for `id` under `secret`: `s:<id>.<base64 HMAC-SHA256>`. */
const signed = (id: string, secret: string) =>
  `s:${id}.${createHmac('sha256', secret).update(id).digest('base64').replace(/=+$/, '')}`;

describe('express-session cookie verifier', () => {
  it('accepts a signed value again from its memo, raw or percent-encoded', () => {
    const verifier = new CookieVerifier(['new', 'old']);
    const value = signed(ID, 'new');
    assert.equal(verifier.sessionId(value), ID);
    assert.equal(verifier.sessionId(value), ID);
    assert.equal(verifier.sessionId(encodeURIComponent(value)), ID);
  });

  it('refuses a forged signature for an id it remembers', () => {
    const verifier = new CookieVerifier(['new']);
    const value = signed(ID, 'new');
    assert.equal(verifier.sessionId(value), ID);
    const last = value.at(-1) === 'A' ? 'B' : 'A';
    assert.equal(verifier.sessionId(`${value.slice(0, -1)}${last}`), undefined);
    assert.equal(verifier.sessionId(`${value}A`), undefined);
    assert.equal(verifier.sessionId(value.slice(0, -1)), undefined);
    assert.equal(verifier.sessionId(signed(ID, 'another secret')), undefined);
    assert.equal(verifier.sessionId(value), ID);
  });

  it('accepts one id signed with an old secret and with the new one, in either order', () => {
    const verifier = new CookieVerifier(['new', 'old']);
    assert.equal(verifier.sessionId(signed(ID, 'old')), ID);
    assert.equal(verifier.sessionId(signed(ID, 'new')), ID);
    assert.equal(verifier.sessionId(signed(ID, 'old')), ID);
    assert.equal(verifier.sessionId(signed(ID, 'new')), ID);
  });

  it('refuses what is not a signed value', () => {
    const verifier = new CookieVerifier(['new']);
    for (const value of ['', 's:', 's:.', ID, `s:${ID}`, 's%3A%E0%A4%A', `x:${ID}.abc`])
      assert.equal(verifier.sessionId(value), undefined, value);
  });
});
