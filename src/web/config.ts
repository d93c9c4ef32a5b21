/**
 * `web.config`: application-wide settings, as web.py's `web.config` storage.
 * @module
 */
import type { SessionConfig } from '../core/config.js';

/** The shape of `web.config`. Other keys may be added freely (web.py's config is open). */
export interface WebConfig {
  /** Debug mode: the code reloader and the error page. Default false (or true with `WEB_DEBUG=1`). */
  debug: boolean;
  /** Defaults for every `web.session.Session` made afterwards (web.py's `session_parameters`). */
  session_parameters: SessionConfig;
  /**
   * Folders the debug-mode reloader watches for changed sources. Default: the folder of the
   * program's entry file (node_modules, dist, dot-folders and store folders are skipped).
   */
  reload_paths?: string[] | undefined;
  /** Largest request body read, in bytes. Default 10 MiB. */
  max_body: number;
  /**
   * Proxies in front whose `X-Forwarded-For`/`-Proto` are trusted for `ctx.ip` and `ctx.protocol`:
   * `true` (one) or a hop count. Default false.
   */
  trust_proxy: boolean | number;
  [key: string]: unknown;
}

/** `web.config`. */
export const config: WebConfig = {
  debug: process.env.WEB_DEBUG === '1' || process.env.WEB_DEBUG === 'true',
  session_parameters: {},
  max_body: 10 * 1024 * 1024,
  trust_proxy: false,
};
