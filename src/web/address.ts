/**
 * The address `app.run()` listens on, as given on the command line.
 * @module
 */

/** Splits `host:port`, `port`, `[::1]:port` into parts. Returns undefined when malformed. */
export function parseAddress(
  text: string | undefined,
  fallbackHost = '0.0.0.0',
  fallbackPort = 8080,
): { host: string; port: number } | undefined {
  if (text === undefined || text === '') return { host: fallbackHost, port: fallbackPort };
  const m = /^(?:(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]*):)?(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port > 65535) return undefined;
  const host = m[1] ? m[1].replace(/^\[|\]$/g, '') : fallbackHost;
  return { host, port };
}
