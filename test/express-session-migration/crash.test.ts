// Crash safety of the move: a process killed (SIGKILL) right after each step of moving one
// express-session session (read, created, deleted, and after the commit before the answer went
// out), then the browser retries with the old cookie it still has: every user is logged in
// exactly once (one session of ours holding the data, the old record gone), and a second retry
// names that same session.
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import session from 'express-session';
import { decodePayload } from 'websession';
import { getOld, newSid, oldCookie, oldSession, putOld } from './old-sessions.js';

const require = createRequire(import.meta.url);
const FileStore = require('session-file-store')(session) as new (
  options: Record<string, unknown>,
) => session.Store;

/** Runs the mover child; resolves with how it ended and what it printed. */
async function mover(dir: string, cookie: string, crashAt: string) {
  const child = fork(
    fileURLToPath(new URL('../fixtures/migration-mover.ts', import.meta.url)),
    [dir, cookie, crashAt],
    {
      execArgv: ['--import', 'tsx', '--conditions=websession-src'],
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    },
  );
  let out = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8');
  });
  const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
  return { code, signal, out };
}

/** The sessions of ours in the folder whose data names `user`. */
async function sessionsOf(dir: string, user: string): Promise<number> {
  let n = 0;
  for (const name of await readdir(dir)) {
    if (!/^[0-9a-f]{64}\.json$/.test(name)) continue;
    const held = JSON.parse(await readFile(join(dir, name), 'utf8')) as {
      websession?: { data: string };
    };
    if (held.websession && decodePayload(held.websession.data).data.user === user) n++;
  }
  return n;
}

describe('express-session migration: kill -9 between the steps of a move', () => {
  for (const step of ['read', 'created', 'deleted', 'response']) {
    it(`killed after "${step}", a retry with the old cookie: logged in exactly once`, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'websession-migration-crash-'));
      after(() => rm(dir, { recursive: true, force: true }));
      const old = new FileStore({ path: dir, retries: 0, reapInterval: -1, logFn: () => {} });
      const sid = newSid();
      const user = `user-${step}`;
      await putOld(old, sid, oldSession({ user, cart: [1, 2, 3] }));
      const cookie = oldCookie(sid);

      const killed = await mover(dir, cookie, step);
      assert.equal(killed.signal, 'SIGKILL', `the mover died after ${step}`);
      assert.equal(killed.out, '', 'no answer went out');
      assert.ok((await sessionsOf(dir, user)) <= 1);

      const retry = await mover(dir, cookie, 'none');
      assert.equal(retry.code, 0);
      const answer = JSON.parse(retry.out) as { setCookie: string; data: Record<string, unknown> };
      assert.deepEqual(answer.data, { user, cart: [1, 2, 3] }, 'logged in, nothing lost');
      assert.match(answer.setCookie, /^connect\.sid=[0-9a-f]{64}\./);
      assert.equal(await sessionsOf(dir, user), 1, 'exactly one session');
      assert.equal(await getOld(old, sid), undefined, 'the old record is gone');

      const again = JSON.parse((await mover(dir, cookie, 'none')).out) as { setCookie: string };
      assert.equal(
        again.setCookie.split(';')[0],
        answer.setCookie.split(';')[0],
        'the same session',
      );
      assert.equal(await sessionsOf(dir, user), 1);
    });
  }
});
