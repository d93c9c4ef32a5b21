/**
 * The one place that builds a request's session state: new (never stored yet) or loaded.
 * @module
 */
import { encodePayload, type SessionData, type SessionMeta, type SessionPayload } from './codec.js';
import type { ResolvedConfig } from './config.js';
import { generateSessionId, storeKey } from './id.js';
import { NO_FLASH, type SessionHost, type SessionState } from './session.js';

/**
 * A request's session state. A new session's id (and its store key, a SHA-256) is drawn only
 * when something needs it: a visitor whose session is never stored costs no random draw and no
 * hash.
 */
class State<T extends SessionData> implements SessionState<T> {
  #id: string | undefined;
  #key: string | undefined;
  data: Partial<T>;
  meta: SessionPayload['meta'];
  baseline: string;
  atime: number;
  isNew: boolean;
  killed = false;
  replacedKey: string | undefined = undefined;
  sendCookie: boolean;
  clientHasCookie: boolean;
  dead = false;
  ip: string | undefined;
  committed = false;
  flashIn: Record<string, unknown[]>;
  flashOut: Record<string, unknown[]> = NO_FLASH;
  hadFlash: boolean;
  touched: SessionState<T>['touched'] = undefined;
  metaChanged = false;
  read = false;
  host: SessionHost<T>;

  /** `id` and `key` undefined for a new session: drawn when first needed. */
  constructor(
    id: string | undefined,
    key: string | undefined,
    ip: string | undefined,
    host: SessionHost<T>,
    payload: SessionPayload,
    baseline: string,
    atime: number,
    isNew: boolean,
    clientHasCookie: boolean,
    sendCookie: boolean,
  ) {
    this.#id = id;
    this.#key = key;
    this.data = payload.data as Partial<T>;
    this.meta = payload.meta;
    this.baseline = baseline;
    this.atime = atime;
    this.isNew = isNew;
    this.sendCookie = sendCookie;
    this.clientHasCookie = clientHasCookie;
    this.ip = ip;
    this.flashIn = payload.flash ? { ...payload.flash } : NO_FLASH;
    this.hadFlash = payload.flash !== undefined;
    this.host = host;
  }

  get id(): string {
    this.#id ??= generateSessionId();
    return this.#id;
  }
  set id(id: string) {
    this.#id = id;
    this.#key = undefined;
  }
  get key(): string {
    this.#key ??= storeKey(this.id);
    return this.#key;
  }
  set key(key: string) {
    this.#key = key;
  }
}

/** A new session (fresh id, initializer applied), not stored until it gets data. */
export function newState<T extends SessionData>(
  config: ResolvedConfig<T>,
  host: SessionHost<T>,
  request: { ip?: string | undefined; userAgent?: string | undefined },
  clientHasCookie: boolean,
): SessionState<T> {
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
  // An empty new session's text is known without encoding it (it is only compared, never stored).
  const baseline = init ? encodePayload(payload) : '';
  return new State(
    undefined,
    undefined,
    request.ip,
    host,
    payload,
    baseline,
    0,
    true,
    clientHasCookie,
    false,
  );
}

/** A session loaded from its stored record (or from a sealed cookie: no id until one is asked for). */
export function loadedState<T extends SessionData>(
  host: SessionHost<T>,
  verified: { id: string | undefined; key: string | undefined },
  ip: string | undefined,
  payload: SessionPayload,
  record: { data: string; atime: number },
  sendCookie: boolean,
): SessionState<T> {
  const { id, key } = verified;
  return new State(id, key, ip, host, payload, record.data, record.atime, false, true, sendCookie);
}
