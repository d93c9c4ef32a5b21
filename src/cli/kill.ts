/**
 * `websession kill`: deletes one session, or every session of a user.
 * @module
 */
import { UnsupportedError } from '../core/errors.js';
import { decode } from './decode.js';
import { NotFoundError } from './errors.js';
import type { Io } from './io.js';
import { openStore } from './open-store.js';
import type { Values } from './options.js';
import { sessionKeyArg } from './session-key.js';

/** Runs `kill`. */
export async function kill(values: Values, positionals: string[], io: Io): Promise<void> {
  const store = await openStore(values.store as string | undefined, '--store');
  try {
    if (typeof values.user === 'string') {
      if (!store.userSessions)
        throw new UnsupportedError(store.kind, 'this store keeps no user index');
      let n = 0;
      for (const key of await store.userSessions(values.user)) {
        const record = await store.get(key);
        if (!record || decode(record)?.meta.user !== values.user) continue;
        await store.delete(key);
        n++;
      }
      if (n === 0) throw new NotFoundError(`no sessions for user ${JSON.stringify(values.user)}`);
      io.out.write(`killed ${n} session(s) of user ${values.user}\n`);
      return;
    }
    const key = await sessionKeyArg(values, positionals, io);
    if (!(await store.get(key))) throw new NotFoundError(`no session with key ${key}`);
    await store.delete(key);
    io.out.write(`killed ${key}\n`);
  } finally {
    await store.close();
  }
}
