/**
 * `web.config`: application-wide settings, as web.py's `web.config` storage.
 * @module
 */
import type { SessionConfig } from '../core/config.js';

/** The shape of `web.config`. Other keys may be added freely (web.py's config is open). */
export interface WebConfig {
  /**
   * Debug mode: the code reloader and the error page. Default false. `WEB_DEBUG=1` (or `0`) in
   * the environment overrides what the program sets.
   */
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
  /**
   * The setting `key`, or `fallback` (default undefined) when it is not set: web.py's
   * `web.config.get(key, default)`, so its reloader hack
   * (`if (web.config.get('_session') == null) { … }`) runs as written.
   */
  get(key: string, fallback?: unknown): unknown;
  [key: string]: unknown;
}

/** `WEB_DEBUG` read as a switch: true for `1`/`true`, false for `0`/`false`, else undefined. */
function debugFromEnvironment(): boolean | undefined {
  const value = process.env.WEB_DEBUG?.trim().toLowerCase();
  if (value === '1' || value === 'true') return true;
  if (value === '0' || value === 'false') return false;
  return undefined;
}

let debugSetting = false;

/**
 * `web.config`. `debug` is what the program set (default false), except that `WEB_DEBUG=1` (or
 * `0`) in the environment wins: an operator can switch the reloader on for a program that says
 * `web.config.debug = false`, as web.py's sessions example does, without editing it.
 */
export const config: WebConfig = {
  get debug(): boolean {
    return debugFromEnvironment() ?? debugSetting;
  },
  set debug(on: boolean) {
    debugSetting = Boolean(on);
  },
  session_parameters: {},
  max_body: 10 * 1024 * 1024,
  trust_proxy: false,
} as Omit<WebConfig, 'get'> as WebConfig;

// Not enumerable: `{ ...web.config }` and `Object.keys(web.config)` list the settings only.
Object.defineProperty(config, 'get', {
  value: function get(this: WebConfig, key: string, fallback?: unknown): unknown {
    return Object.hasOwn(this, key) ? this[key] : fallback;
  },
  writable: true,
  configurable: true,
});
