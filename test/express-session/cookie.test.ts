import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Cookie } from 'websession/express-session';

it("a cookie's maxAge sets originalMaxAge to exactly the ms given, though the clock ticks between readings", (t) => {
  let now = 1_700_000_000_000;
  t.mock.method(Date, 'now', () => now++);
  const cookie = new Cookie();
  cookie.maxAge = 30 * 86400_000;
  assert.equal(cookie.originalMaxAge, 30 * 86400_000);
  assert.ok((cookie.maxAge ?? 0) < 30 * 86400_000, 'maxAge counts down from it');
  cookie.maxAge = null;
  assert.equal(cookie.originalMaxAge, null, 'a browser-session cookie');
});
