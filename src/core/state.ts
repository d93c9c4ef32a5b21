/**
 * The one place that builds a request's session state: new (never stored yet) or loaded.
 * @module
 */
import { encodePayload, type SessionData, type SessionMeta, type SessionPayload } from './codec.js';
import type { ResolvedConfig } from './config.js';
import { generateSessionId, storeKey } from './id.js';
import type { SessionHost, SessionState } from './session.js';

/** What a state is built from beyond its data. */
interface Origin<T extends SessionData> {
  id: string;
  key: string;
  ip: string | undefined;
  host: SessionHost<T>;
}

function build<T extends SessionData>(
  origin: Origin<T>,
  payload: SessionPayload,
  baseline: string,
  atime: number,
  isNew: boolean,
  clientHasCookie: boolean,
  sendCookie: boolean,
): SessionState<T> {
  return {
    id: origin.id,
    key: origin.key,
    data: payload.data as Partial<T>,
    meta: payload.meta,
    baseline,
    atime,
    isNew,
    killed: false,
    replacedKey: undefined,
    sendCookie,
    clientHasCookie,
    dead: false,
    ip: origin.ip,
    committed: false,
    flashIn: payload.flash ? { ...payload.flash } : {},
    flashOut: {},
    hadFlash: payload.flash !== undefined,
    touched: undefined,
    metaChanged: false,
    read: false,
    host: origin.host,
  };
}

/** A new session (fresh id, initializer applied), not stored until it gets data. */
export function newState<T extends SessionData>(
  config: ResolvedConfig<T>,
  host: SessionHost<T>,
  request: { ip?: string | undefined; userAgent?: string | undefined },
  clientHasCookie: boolean,
): SessionState<T> {
  const id = generateSessionId();
  const meta: SessionMeta = { created: Date.now() };
  if (request.ip !== undefined) meta.ip = request.ip;
  if (request.userAgent) meta.ua = request.userAgent.slice(0, 512);
  let data: Partial<T> = {};
  const init = config.initializer;
  if (typeof init === 'function') {
    const out = init(data);
    if (out && typeof out === 'object') data = out;
  } else if (init) {
    data = structuredClone(init) as Partial<T>;
  }
  const payload: SessionPayload = { v: 1, meta, data: data as SessionData };
  const origin = { id, key: storeKey(id), ip: request.ip, host };
  // An empty new session's text is known without encoding it (it is only compared, never stored).
  const baseline = init ? encodePayload(payload) : '';
  return build(origin, payload, baseline, 0, true, clientHasCookie, false);
}

/** A session loaded from its stored record. */
export function loadedState<T extends SessionData>(
  host: SessionHost<T>,
  verified: { id: string; key: string },
  ip: string | undefined,
  payload: SessionPayload,
  record: { data: string; atime: number },
  sendCookie: boolean,
): SessionState<T> {
  const origin = { id: verified.id, key: verified.key, ip, host };
  return build(origin, payload, record.data, record.atime, false, true, sendCookie);
}
