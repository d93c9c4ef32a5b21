/**
 * The client's address and scheme behind (or without) a reverse proxy. `X-Forwarded-*` headers
 * are client-controlled unless a proxy you run overwrites or appends them, so they are read only
 * when `trust_proxy` says how many proxies stand in front, and then from the right: the entry
 * your nearest proxy appended, never the left-most one a client can forge.
 *
 * The session core does not use it: it lives here because its users are the adapters
 * (adapters/common.ts) and the web layer (web/node-listener.ts), sibling layers that may not import
 * each other, and the package's root, which exports it.
 * @module
 */

/** Headers as Node gives them (lower-case names). */
export type HeaderBag = Record<string, string | string[] | undefined>;

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value;
}

/** Number of trusted proxy hops for a `trust_proxy` value (`true` is one). */
export function proxyHops(trust: boolean | number): number {
  if (trust === true) return 1;
  if (trust === false) return 0;
  return Number.isInteger(trust) && trust > 0 ? trust : 0;
}

/**
 * The client IP: the socket's peer, or with `trust` hops of proxies, the address those proxies
 * recorded in `X-Forwarded-For` (counted from the right).
 */
export function clientAddress(
  socketIp: string | undefined,
  headers: HeaderBag,
  trust: boolean | number,
): string | undefined {
  let ip = socketIp;
  const hops = proxyHops(trust);
  if (hops > 0) {
    const chain = (first(headers['x-forwarded-for']) ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const chosen = chain[Math.max(0, chain.length - hops)];
    if (chosen && /^[0-9a-fA-F:.]{2,45}$/.test(chosen)) ip = chosen;
  }
  return ip?.startsWith('::ffff:') ? ip.slice(7) : ip;
}

/** True when the request came over HTTPS: the socket is TLS, or a trusted proxy says `https`. */
export function isSecureRequest(
  encrypted: boolean,
  headers: HeaderBag,
  trust: boolean | number,
): boolean {
  if (encrypted) return true;
  if (proxyHops(trust) === 0) return false;
  const proto = first(headers['x-forwarded-proto'])?.split(',').pop()?.trim().toLowerCase();
  return proto === 'https';
}
