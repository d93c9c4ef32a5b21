// DiskStore's folder: private when the store creates it, refused when others can write to it (a
// record file planted there would load as a session), and no symbolic link inside it followed.
import assert from 'node:assert/strict';
import { chmod, mkdir, readdir, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  ConfigError,
  DiskStore,
  encodePayload,
  generateSessionId,
  SessionManager,
  StoreError,
  storeKey,
} from 'websession';
import { tempDirs } from '../helpers/temp-dirs.js';

const root = tempDirs('perm');
const record = (data: string) => ({ data, atime: Date.now() });
const payload = (data: Record<string, unknown>) =>
  encodePayload({ v: 1, meta: { created: Date.now(), ip: undefined }, data });

describe('DiskStore folder permissions', { skip: process.platform === 'win32' }, () => {
  it('creates its folder (and missing parents) private: mode 0700', async () => {
    const dir = join(await root(), 'a', 'sessions');
    const store = new DiskStore(dir);
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    await store.set(storeKey(generateSessionId()), record('x'));
    const [shard] = await readdir(dir);
    assert.equal((await stat(join(dir, shard!))).mode & 0o777, 0o700);
    await store.close();
  });

  for (const mode of [0o777, 0o770, 0o775, 0o757, 0o1777]) {
    it(`refuses a folder of mode ${mode.toString(8)} with a ConfigError naming it and its mode`, async () => {
      const dir = join(await root(), 'shared');
      await mkdir(dir);
      await chmod(dir, mode);
      assert.throws(
        () => new DiskStore(dir),
        (err: unknown) =>
          err instanceof ConfigError &&
          err.message.includes(dir) &&
          err.message.includes(`0${(mode & 0o777).toString(8)}`),
      );
    });
  }

  it('accepts a folder only its owner can write to (0755, 0700)', async () => {
    for (const mode of [0o755, 0o700]) {
      const dir = join(await root(), 'ok');
      await mkdir(dir);
      await chmod(dir, mode);
      const store = new DiskStore(dir);
      const k = storeKey(generateSessionId());
      await store.set(k, record('fine'));
      assert.equal((await store.get(k))?.data, 'fine');
      await store.close();
    }
  });

  it('never follows a shard folder that is a symbolic link: the save fails, nothing is written outside', async () => {
    for (const fsync of [false, true]) {
      const base = await root();
      const dir = join(base, 'sessions');
      const outside = join(base, 'outside');
      await mkdir(outside, { mode: 0o700 });
      const store = new DiskStore(dir, { fsync });
      const k = storeKey(generateSessionId());
      await symlink(outside, join(dir, k.slice(0, 2)));
      await assert.rejects(async () => store.set(k, record('x')), StoreError);
      await assert.rejects(async () => store.create!(k, record('x')), StoreError);
      assert.deepEqual(await readdir(outside), []);
      // Nor listed or cleaned through the link.
      await writeFile(join(outside, `${k}.sess`), 'planted', { mode: 0o600 });
      const keys: string[] = [];
      for await (const key of store.keys()) keys.push(key);
      assert.deepEqual(keys, []);
      assert.equal(await store.cleanup(0), 0);
      assert.deepEqual(await readdir(outside), [`${k}.sess`]);
      await store.close();
    }
  });

  it('never follows a record file that is a symbolic link: a planted record is no session', async () => {
    for (const fsync of [false, true]) {
      const base = await root();
      const dir = join(base, 'sessions');
      const store = new DiskStore(dir, { fsync });
      const manager = new SessionManager(store, { cleanup_interval: 0 });
      const id = generateSessionId();
      const k = storeKey(id);
      const planted = join(base, 'planted.sess');
      await writeFile(planted, payload({ user: 'admin' }), { mode: 0o600 });
      await mkdir(join(dir, k.slice(0, 2)), { mode: 0o700 });
      await symlink(planted, join(dir, k.slice(0, 2), `${k}.sess`));
      assert.equal(await store.get(k), undefined);
      const s = await manager.load({ cookie: `webpy_session_id=${id}` });
      assert.equal(s.isNew, true);
      assert.equal(s.get('user'), undefined);
      // A touch does not reach the file behind the link.
      const before = (await stat(planted)).mtimeMs;
      await store.touch(k, Date.now() - 3_600_000);
      assert.equal((await stat(planted)).mtimeMs, before);
      await store.close();
    }
  });
});
