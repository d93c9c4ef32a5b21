/**
 * `Cookie`: express-session's `req.session.cookie`, with the same properties and behaviour, so
 * that code written for it ("remember me" through `cookie.maxAge`, `cookie.expires = …`) works.
 * @module
 */
import { stringifySetCookie } from 'cookie';

/** The attributes a {@link Cookie} is built from (express-session's `cookie` option). */
export interface CookieOptions {
  /** Lifetime in milliseconds from now; null for a browser-session cookie. */
  maxAge?: number | null | undefined;
  /** The moment the cookie expires; null for a browser-session cookie. */
  expires?: Date | null | undefined;
  /** The lifetime the cookie was given (kept as `maxAge` counts down). */
  originalMaxAge?: number | null | undefined;
  httpOnly?: boolean | undefined;
  /** true, false, or 'auto' (Secure on HTTPS requests, resolved per request). */
  secure?: boolean | 'auto' | undefined;
  /** 'lax', 'strict', 'none', true (strict), false (none sent), or 'auto' (none on HTTPS, else lax). */
  sameSite?: boolean | 'lax' | 'strict' | 'none' | 'auto' | undefined;
  domain?: string | undefined;
  path?: string | undefined;
  partitioned?: boolean | undefined;
  priority?: 'low' | 'medium' | 'high' | undefined;
}

/** The attributes of a cookie as express-session serializes and stores them. */
export interface CookieData {
  originalMaxAge: number | null;
  partitioned: boolean | undefined;
  priority: 'low' | 'medium' | 'high' | undefined;
  expires: Date | null | undefined;
  secure: boolean | undefined;
  httpOnly: boolean;
  domain: string | undefined;
  path: string;
  sameSite: boolean | 'lax' | 'strict' | 'none' | undefined;
}

/** express-session's session cookie: `maxAge` counts down to `expires`; `originalMaxAge` stays. */
export class Cookie {
  path = '/';
  httpOnly = true;
  declare originalMaxAge: number | null;
  declare secure: boolean | undefined;
  declare sameSite: boolean | 'lax' | 'strict' | 'none' | undefined;
  declare domain: string | undefined;
  declare partitioned: boolean | undefined;
  declare priority: 'low' | 'medium' | 'high' | undefined;
  declare _expires: Date | null | undefined;

  constructor(options?: CookieOptions) {
    this.maxAge = null;
    if (options !== undefined && options !== null) {
      if (typeof options !== 'object') throw new TypeError('argument options must be a object');
      for (const key in options) {
        if (key !== 'data')
          (this as Record<string, unknown>)[key] = (options as Record<string, unknown>)[key];
      }
    }
    if (this.originalMaxAge === undefined || this.originalMaxAge === null)
      this.originalMaxAge = this.maxAge;
  }

  /** When the cookie expires (null: at the end of the browser session). */
  set expires(date: Date | null | undefined) {
    this._expires = date;
    this.originalMaxAge = this.maxAge;
  }
  get expires(): Date | null | undefined {
    return this._expires;
  }

  /** Milliseconds left before the cookie expires; setting it sets `expires` and `originalMaxAge`. */
  set maxAge(ms: number | Date | null | undefined) {
    if (ms && typeof ms !== 'number' && !(ms instanceof Date))
      throw new TypeError('maxAge must be a number or Date');
    this.expires = typeof ms === 'number' ? new Date(Date.now() + ms) : ms;
    // Exactly what was set: `expires` computes it from a second clock reading, a ms later at times.
    if (typeof ms === 'number') this.originalMaxAge = ms;
  }
  get maxAge(): number | null {
    const expires = this._expires;
    return expires instanceof Date ? expires.valueOf() - Date.now() : (expires ?? null);
  }

  /** The attributes, as express-session stores them. */
  get data(): CookieData {
    return {
      originalMaxAge: this.originalMaxAge,
      partitioned: this.partitioned,
      priority: this.priority,
      expires: this._expires,
      secure: this.secure,
      httpOnly: this.httpOnly,
      domain: this.domain,
      path: this.path,
      sameSite: this.sameSite,
    };
  }

  /** A Set-Cookie header value for `name=value` with these attributes. */
  serialize(name: string, value: string): string {
    const sameSite = this.sameSite;
    return stringifySetCookie(name, value, {
      expires: this._expires ?? undefined,
      secure: this.secure,
      httpOnly: this.httpOnly,
      domain: this.domain,
      path: this.path,
      sameSite: sameSite === false ? undefined : sameSite,
      partitioned: this.partitioned,
      priority: this.priority,
    });
  }

  toJSON(): CookieData {
    return this.data;
  }
}
