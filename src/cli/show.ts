/**
 * `websession show`: one session's data and metadata, as JSON.
 * @module
 */
import { decode } from './decode.js';
import { NotFoundError } from './errors.js';
import type { Io } from './io.js';
import { writeJson } from './json-output.js';
import { openStore } from './open-store.js';
import type { Values } from './options.js';
import { sessionKeyArg } from './session-key.js';

/** Runs `show`. */
export async function show(values: Values, positionals: string[], io: Io): Promise<void> {
  const key = await sessionKeyArg(values, positionals, io);
  const store = await openStore(values.store as string | undefined, '--store');
  try {
    const record = await store.get(key);
    if (!record) throw new NotFoundError(`no session with key ${key}`);
    const payload = decode(record);
    if (!payload) throw new Error(`session ${key} is corrupt: ${record.data.slice(0, 80)}`);
    const session = {
      key,
      created: new Date(payload.meta.created),
      lastAccess: new Date(record.atime),
      ip: payload.meta.ip ?? null,
      userAgent: payload.meta.ua ?? null,
      user: payload.meta.user ?? null,
      data: payload.data,
      flash: payload.flash ?? null,
    };
    writeJson(io, session, Boolean(values.json));
  } finally {
    await store.close();
  }
}
