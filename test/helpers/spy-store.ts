// A real store wrapped to count calls (and optionally hang or fail), for tests that must prove a
// store was, or was not, used.
import type { Store, StoredSession, StoreMutator } from 'websession';

export type Op = 'get' | 'set' | 'update' | 'touch' | 'delete' | 'cleanup' | 'quarantine';

export class SpyStore implements Store {
  readonly inner: Store;
  readonly calls: { op: Op; key?: string }[] = [];
  /** When set, every call waits for this promise first (simulates a hanging store). */
  hang: Promise<void> | undefined;
  /** When set, every call rejects with it (simulates an outage). */
  fail: Error | undefined;

  /** Forwarded (and counted) only when the inner store has it, so the spy declares what it does. */
  readonly quarantine?: (key: string) => Promise<void>;

  constructor(inner: Store) {
    this.inner = inner;
    if (inner.quarantine) {
      this.quarantine = async (key) => {
        await this.#gate('quarantine', key);
        return inner.quarantine!(key);
      };
    }
  }
  /** Passes the manager's timeout on (RedisStore takes its TTL from it). */
  configure(options: { timeout: number }): void {
    this.inner.configure?.(options);
  }
  get kind() {
    return this.inner.kind;
  }
  get capabilities() {
    // It can hang or fail on demand: never an in-process store, whatever it wraps.
    return { ...this.inner.capabilities, inProcess: false };
  }
  count(op?: Op): number {
    return op ? this.calls.filter((c) => c.op === op).length : this.calls.length;
  }
  reset(): void {
    this.calls.length = 0;
  }
  async #gate(op: Op, key?: string): Promise<void> {
    this.calls.push({ op, ...(key === undefined ? {} : { key }) });
    if (this.hang) await this.hang;
    if (this.fail) throw this.fail;
  }
  async get(key: string): Promise<StoredSession | undefined> {
    await this.#gate('get', key);
    return this.inner.get(key);
  }
  async set(key: string, record: StoredSession): Promise<void> {
    await this.#gate('set', key);
    return this.inner.set(key, record);
  }
  async update(key: string, mutator: StoreMutator): Promise<StoredSession | undefined> {
    await this.#gate('update', key);
    return this.inner.update(key, mutator);
  }
  async touch(key: string, atime: number): Promise<void> {
    await this.#gate('touch', key);
    return this.inner.touch(key, atime);
  }
  async delete(key: string): Promise<void> {
    await this.#gate('delete', key);
    return this.inner.delete(key);
  }
  async cleanup(maxIdleSeconds: number): Promise<number> {
    await this.#gate('cleanup');
    return this.inner.cleanup(maxIdleSeconds);
  }
  keys(): AsyncIterable<string> {
    return this.inner.keys();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

/** The `name=value` part of a Set-Cookie value, to send back as a Cookie header. */
export function cookieOf(setCookie: string | undefined): string {
  if (!setCookie) throw new Error('expected a Set-Cookie value');
  return setCookie.split(';')[0]!;
}
