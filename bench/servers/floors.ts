// The floors: what a session costs at the least, written by hand on node:http with no session
// library, to state targets against. The limit row is the smallest correct server-side session;
// the sealed-cookie floor is the least a session sealed in the cookie costs.
import {
  createCipheriv,
  createHmac,
  createSecretKey,
  hash,
  randomBytes,
  randomFillSync,
  timingSafeEqual,
} from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import { nextCount, nodeServer, SECRET, type ServerSpec, TIMEOUT } from './common.js';

const COOKIE = 'webpy_session_id';

/** The value of cookie {@link COOKIE} in a Cookie header: a name at the start or after `;`. */
function cookieValue(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const at = header.indexOf(`${COOKIE}=`);
  if (at < 0 || (at > 0 && header[at - 1] !== ' ' && header[at - 1] !== ';')) return undefined;
  const start = at + COOKIE.length + 1;
  const end = header.indexOf(';', start);
  return header.slice(start, end < 0 ? undefined : end);
}

/**
 * The smallest correct session, on node:http with no session library, serving the same counter
 * with the same cookie and headers as websession's rows: the cookie checked (form, then its
 * HMAC-SHA256 compared in constant time), the store key (SHA-256 of the id) and the expected MAC
 * cached per id once verified, a Map lookup, the idle timeout checked, JSON decode and encode of a
 * record shaped as ours (meta and data), a Map set; a new session gets an id of 32 bytes from the
 * CSPRNG (drawn 128 ids at a time), a signed cookie, `Set-Cookie` and `Cache-Control`; every
 * answer carries `Vary: Cookie`.
 */
function smallestSession(): Promise<Server> {
  const key = createSecretKey(Buffer.from(SECRET, 'utf8'));
  const mac = (id: string) => createHmac('sha256', key).update(id).digest('base64url');
  const hex64 = /^[0-9a-f]{64}$/;
  /** Verified ids: their store key and MAC (bounded, oldest out first). */
  const verified = new Map<string, { storeKey: string; mac: Buffer }>();
  const records = new Map<string, { atime: number; json: string }>();
  const pool = Buffer.alloc(32 * 128);
  let next = 128;
  const newId = () => {
    if (next === 128) {
      randomFillSync(pool);
      next = 0;
    }
    const at = 32 * next++;
    return pool.toString('hex', at, at + 32);
  };

  /** The store key of the session the request's cookie names, when the cookie checks out. */
  function storeKeyOf(req: IncomingMessage): string | undefined {
    const value = cookieValue(req.headers.cookie);
    if (value?.length !== 108 || value.charCodeAt(64) !== 46) return undefined;
    const id = value.slice(0, 64);
    const given = Buffer.from(value.slice(65), 'utf8');
    let known = verified.get(id);
    if (!known) {
      if (!hex64.test(id)) return undefined;
      known = { storeKey: hash('sha256', id, 'hex'), mac: Buffer.from(mac(id), 'utf8') };
      if (given.length !== known.mac.length || !timingSafeEqual(given, known.mac)) return undefined;
      if (verified.size >= 10_000) verified.delete(verified.keys().next().value as string);
      verified.set(id, known);
      return known.storeKey;
    }
    return given.length === known.mac.length && timingSafeEqual(given, known.mac)
      ? known.storeKey
      : undefined;
  }

  return nodeServer((req, res) => {
    const now = Date.now();
    let storeKey = storeKeyOf(req);
    const stored = storeKey === undefined ? undefined : records.get(storeKey);
    let record: { meta: { created: number; ip: string }; data: { count?: number } };
    if (stored && now - stored.atime <= TIMEOUT * 1000) record = JSON.parse(stored.json);
    else if (req.url === '/visit') {
      // A new visitor that only reads: no session made.
      res.setHeader('Vary', 'Cookie');
      return void res.end('0');
    } else {
      const id = newId();
      storeKey = hash('sha256', id, 'hex');
      record = { meta: { created: now, ip: req.socket.remoteAddress ?? '' }, data: {} };
      res.setHeader('Set-Cookie', `${COOKIE}=${id}.${mac(id)}; Path=/; HttpOnly; SameSite=Lax`);
      res.setHeader('Cache-Control', 'private, no-store');
    }
    res.setHeader('Vary', 'Cookie');
    if (req.url === '/visit') return void res.end(String(record.data.count ?? 0));
    const n = (record.data.count ?? 0) + 1;
    record.data.count = n;
    records.set(storeKey as string, { atime: now, json: JSON.stringify(record) });
    res.end(String(n));
  });
}

/**
 * The least a session sealed in the cookie can cost on `/count`, with no session library: one
 * AES-256-GCM seal (node:crypto) of a payload the size of ours, sent with the headers ours sends
 * (Set-Cookie, Cache-Control, Vary). The incoming cookie is not read: a browser sends back the
 * value it was given last, which a store can recognise without decrypting it.
 */
function sealedFloor(): Promise<Server> {
  const key = randomBytes(32);
  const aad = Buffer.from(`1:${COOKIE}`);
  const created = Date.now();
  // IVs drawn 1,024 at a time, as CookieStore draws them: one system call per 1,024 seals.
  let [ivs, at] = [Buffer.alloc(0), 0];
  return nodeServer((_req, res) => {
    const body = nextCount();
    const text = `{"v":1,"meta":{"created":${created},"ip":"127.0.0.1"},"data":{"count":${body}}}`;
    if (at + 12 > ivs.length) [ivs, at] = [randomBytes(12 * 1024), 0];
    const iv = ivs.subarray(at, at + 12);
    at += 12;
    const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(aad);
    const sealed = [Buffer.of(1), iv, cipher.update(text), cipher.final(), cipher.getAuthTag()];
    const value = Buffer.concat(sealed).toString('base64url');
    res.setHeader('Set-Cookie', `${COOKIE}=${value}; Path=/; HttpOnly; SameSite=Lax`);
    res.setHeader('Cache-Control', 'private, no-store');
    res.setHeader('Vary', 'Cookie');
    res.end(body);
  });
}

/** The id of the limit row: every target is stated against it as well as against bare. */
export const LIMIT = 'limit-node';

export const FLOORS: Record<string, ServerSpec> = {
  [LIMIT]: {
    label: 'LIMIT: the smallest correct session, by hand on node:http',
    framework: 'node',
    store: 'memory',
    kind: 'limit',
    start: async () => ({ server: await smallestSession() }),
  },
  'floor-sealed-cookie': {
    label: 'node:http + one AES-256-GCM seal and the same headers, no session',
    framework: 'node',
    kind: 'ceiling',
    start: async () => ({ server: await sealedFloor() }),
  },
};
