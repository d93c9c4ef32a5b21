/**
 * What the request cycle takes from a request and gives back: shared by the manager and the
 * cycles behind it.
 * @module
 */

/** What an adapter knows of a request. */
export interface RequestInfo {
  /** The raw Cookie header. */
  cookie?: string | null | undefined;
  /** The client's IP address (see `clientAddress` for proxies). */
  ip?: string | undefined;
  /** True when the request came over HTTPS (for `secure: 'auto'`). */
  secure?: boolean | undefined;
  /** The User-Agent header, recorded when a session is created (for listing a user's sessions). */
  userAgent?: string | undefined;
}

/** The result of a commit: the Set-Cookie header value to send, if any. */
export type CommitResult = string | undefined;
