/**
 * `websession list`: a store's keys, or a user's sessions, a page at a time.
 * @module
 */
import { UnsupportedError } from '../core/errors.js';
import { decode } from './decode.js';
import { NotFoundError, UsageError } from './errors.js';
import type { Io } from './io.js';
import { writeJson } from './json-output.js';
import { openStore } from './open-store.js';
import type { Values } from './options.js';

/** Runs `list`. */
export async function list(values: Values, io: Io): Promise<void> {
  const limit = values.limit === undefined ? 100 : Number(values.limit);
  const offset = values.offset === undefined ? 0 : Number(values.offset);
  if (!Number.isInteger(limit) || limit < 1 || !Number.isInteger(offset) || offset < 0) {
    throw new UsageError('--limit must be a positive integer and --offset a non-negative one');
  }
  // Checked before the store opens: a usage error leaves nothing open.
  const store = await openStore(values.store as string | undefined, '--store');
  try {
    if (typeof values.user === 'string') {
      if (!store.userSessions)
        throw new UnsupportedError(store.kind, 'this store keeps no user index');
      const rows: {
        key: string;
        created: string;
        lastAccess: string;
        ip?: string;
        userAgent?: string;
      }[] = [];
      for (const key of await store.userSessions(values.user)) {
        const record = await store.get(key);
        const payload = record && decode(record);
        if (!record || !payload || payload.meta.user !== values.user) continue;
        rows.push({
          key,
          created: new Date(payload.meta.created).toISOString(),
          lastAccess: new Date(record.atime).toISOString(),
          ip: payload.meta.ip,
          userAgent: payload.meta.ua,
        });
      }
      if (rows.length === 0)
        throw new NotFoundError(`no sessions for user ${JSON.stringify(values.user)}`);
      const page = rows.slice(offset, offset + limit);
      if (values.json) writeJson(io, page, true);
      else
        for (const r of page)
          io.out.write(
            `${r.key}\tcreated ${r.created}\tlast ${r.lastAccess}\tip ${r.ip ?? '-'}\tua ${r.userAgent ?? '-'}\n`,
          );
      return;
    }
    const keys: string[] = [];
    let i = 0;
    for await (const key of store.keys()) {
      if (i++ < offset) continue;
      if (i > offset + limit) break;
      if (values.json) keys.push(key);
      else io.out.write(`${key}\n`);
    }
    if (values.json) writeJson(io, keys, true);
  } finally {
    await store.close();
  }
}
