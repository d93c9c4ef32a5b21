/**
 * express-session's cookie value, `s:<id>.<signature>`: the signature is cookie-signature's
 * (HMAC-SHA256 of the id, base64 without padding), so a cookie set by express-session with the
 * same secret verifies here, and ours there.
 * @module
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** A secret: a string, or bytes (as express-session accepts too). */
export type Secret = string | Buffer;

/** The signature of `id` under `secret`, as cookie-signature computes it. */
function signature(id: string, secret: Secret): string {
  return createHmac('sha256', secret).update(id).digest('base64').replace(/=+$/, '');
}

/** The cookie value for `id`, signed with the first secret. */
export function signId(id: string, secret: Secret): string {
  return `s:${id}.${signature(id, secret)}`;
}

/**
 * The id of an `s:<id>.<signature>` value signed with any of `secrets`, else undefined. Every
 * secret is tried (no early exit) and compared in constant time, so timing tells nothing.
 */
export function unsignId(value: string, secrets: readonly Secret[]): string | undefined {
  if (!value.startsWith('s:')) return undefined;
  const dot = value.lastIndexOf('.');
  if (dot < 3) return undefined;
  const id = value.slice(2, dot);
  const given = Buffer.from(value.slice(dot + 1));
  let ok = false;
  for (const secret of secrets) {
    const expected = Buffer.from(signature(id, secret));
    if (expected.length === given.length && timingSafeEqual(expected, given)) ok = true;
  }
  return ok ? id : undefined;
}
