// Old sessions as express-session leaves them: records written straight into an express-session
// store (its JSON, with a `cookie` field) and the signed cookies that name them.
import { randomBytes } from 'node:crypto';
import { sign } from 'cookie-signature';
import type session from 'express-session';

export const SECRET = 'keyboard cat, the express-session secret';
export const SECRET_KEY = 'websession-secret-key-of-at-least-32-chars';

/** A new express-session id (its own are 24 random bytes, base64url: 32 characters). */
export const newSid = () => randomBytes(24).toString('base64url');

/** The Cookie header express-session would have the browser send for `sid`. */
export function oldCookie(sid: string, secret = SECRET, name = 'connect.sid'): string {
  return `${name}=${encodeURIComponent(`s:${sign(sid, secret)}`)}`;
}

/** An express-session record: the app's fields and a cookie expiring in `ms` (null: never). */
export function oldSession(
  fields: Record<string, unknown>,
  ms: number | null = 3600_000,
): Record<string, unknown> {
  const cookie = {
    originalMaxAge: ms,
    expires: ms === null ? null : new Date(Date.now() + ms).toISOString(),
    httpOnly: true,
    path: '/',
  };
  return { cookie, ...fields };
}

/** Writes `record` under `sid` through the store's callback API. */
export function putOld(store: session.Store, sid: string, record: unknown): Promise<void> {
  return new Promise((resolve, reject) =>
    store.set(sid, record as session.SessionData, (err) => (err ? reject(err) : resolve())),
  );
}

/** The record under `sid` (undefined when none), through the store's callback API. */
export function getOld(store: session.Store, sid: string): Promise<unknown> {
  return new Promise((resolve, reject) =>
    store.get(sid, (err, value) =>
      err && (err as { code?: string }).code !== 'ENOENT'
        ? reject(err)
        : resolve(value ?? undefined),
    ),
  );
}
