// Migrate runs for the CLI test and bench/migrate.ts: a DiskStore seeded with N sessions, the real
// `websession migrate` killed (SIGKILL) part-way and run again, and a check that the destination
// ends with the same ids and data.
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  DiskStore,
  encodePayload,
  generateSessionId,
  SessionManager,
  type Store,
  storeKey,
} from 'websession';
import { serverStoreFromUrl } from './server-store.js';

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
export const CLI_ARGS = ['--import', 'tsx', '--conditions=websession-src', CLI];

/** What a seeded session holds: checked after the migration through SessionManager. */
export type SeedData = { i: number; when: Date; name: string };

/**
 * Writes `n` sessions into a DiskStore at `dir` (64 writes in flight); every tenth is bound to one
 * of ten users. Returns the session ids (what cookies carry), index = `i`.
 */
export async function seedDisk(dir: string, n: number): Promise<string[]> {
  const store = new DiskStore(dir);
  const ids = Array.from({ length: n }, () => generateSessionId());
  const now = Date.now();
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const user = i % 10 === 0 ? `user-${(i / 10) % 10}` : undefined;
      const data = encodePayload({
        v: 1,
        meta: { created: now - i, ip: `10.0.${(i >> 8) & 255}.${i & 255}`, ua: `agent-${i}`, user },
        data: { i, when: new Date(i), name: `session ${i}` },
      });
      await store.set(storeKey(ids[i]!), { data, atime: now - (i % 1000), user });
    }
  };
  await Promise.all(Array.from({ length: 64 }, worker));
  await store.close();
  return ids;
}

/** Runs the CLI to the end; resolves with its exit code and output. */
export function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...CLI_ARGS, ...args],
      { timeout: 30 * 60_000, maxBuffer: 64 << 20 },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** Number of keys in a store. */
export async function countKeys(store: Store): Promise<number> {
  let n = 0;
  for await (const _ of store.keys()) n++;
  return n;
}

/**
 * Starts `migrate --from <from> --to <to>`, and SIGKILLs it once `progress()` (a count of what has
 * arrived) reaches `at`. The child runs in short windows and is stopped (SIGSTOP) while `progress()`
 * counts: on a busy machine a slow count cannot let it run to the end unseen. Returns the ms it was
 * let run.
 */
export async function migrateAndKill(
  from: string,
  to: string,
  at: number,
  progress: () => Promise<number>,
): Promise<number> {
  const child: ChildProcess = spawn(
    process.execPath,
    // One session at a time: slow enough that the kill lands part-way, whatever the store.
    [...CLI_ARGS, 'migrate', '--from', from, '--to', to, '--jobs', '1'],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let running = true;
  void exited.then(() => {
    running = false;
  });
  let ran = 0;
  let continued = performance.now();
  while (running) {
    await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGSTOP');
    ran += performance.now() - continued;
    if (!running || (await progress()) >= at) break;
    child.kill('SIGCONT');
    continued = performance.now();
  }
  child.kill('SIGKILL');
  await exited;
  return ran;
}

/**
 * Checks that the destination holds exactly the source's keys with the same data and atime, and
 * that `sample` sessions load through SessionManager by their ids with their data.
 */
export async function verifyMigrated(
  fromUrl: string,
  toUrl: string,
  ids: string[],
  sample: number[],
): Promise<void> {
  const from = await serverStoreFromUrl(fromUrl);
  const to = await serverStoreFromUrl(toUrl);
  try {
    const fromKeys: string[] = [];
    for await (const k of from.keys()) fromKeys.push(k);
    const toKeys: string[] = [];
    for await (const k of to.keys()) toKeys.push(k);
    assert.equal(toKeys.length, ids.length, 'destination count');
    assert.deepEqual(new Set(toKeys), new Set(fromKeys), 'same ids');
    assert.deepEqual(new Set(toKeys), new Set(ids.map(storeKey)), 'the seeded ids');
    // Every session's stored text and access time, compared one by one (64 reads in flight).
    for (let at = 0; at < fromKeys.length; at += 64) {
      await Promise.all(
        fromKeys.slice(at, at + 64).map(async (key) => {
          const [a, b] = await Promise.all([from.get(key), to.get(key)]);
          assert.ok(a && b, `session ${key.slice(0, 12)} on both sides`);
          assert.equal(b.data, a.data, `data of session ${key.slice(0, 12)}`);
          // A DiskStore keeps an access time within 1 s of now as the write's own time (one
          // futimes less), so a copy made within a second of the source's write may differ by
          // up to that second plus the file system's timestamp granularity.
          assert.ok(
            Math.abs(b.atime - a.atime) < 1500,
            `atime of session ${key.slice(0, 12)}: ${a.atime} in the source, ${b.atime} copied`,
          );
        }),
      );
    }
    // A sample loads through SessionManager by its cookie id, with its typed data intact.
    const manager = new SessionManager<SeedData>(to, { cleanup_interval: 0 });
    for (const i of sample) {
      const s = await manager.load({ cookie: `webpy_session_id=${ids[i]}` });
      assert.equal(s.isNew, false, `session ${i} loads`);
      assert.equal(s.i, i);
      assert.equal(s.name, `session ${i}`);
      assert.ok(s.when instanceof Date && s.when.getTime() === i);
    }
    // The user index came along: user-0 owns sessions 0, 100, 200… (every tenth, by user).
    if (to.userSessions) {
      const expected = ids.filter((_, i) => i % 100 === 0).map(storeKey);
      assert.deepEqual(new Set(await to.userSessions('user-0')), new Set(expected), 'user index');
    }
    await manager.close();
  } finally {
    await from.close();
    await to.close();
  }
}
