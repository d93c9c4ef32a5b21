// Changes after the commit (the response started): every mutating method is dropped without a
// throw (a timer's throw would end the process), the manager's logger hears of it once, and
// nothing is saved.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { MemoryStore, SessionManager, storeKey } from 'websession';

describe('changes after the commit', () => {
  it('set, delete, kill, regenerate, flash, setUser and update are dropped without a throw; logged once', async () => {
    const warnings: string[] = [];
    const store = new MemoryStore();
    const manager = new SessionManager(store, {
      cleanup_interval: 0,
      logger: { warn: (m) => warnings.push(m) },
    });
    const s = await manager.load({});
    s.a = 1;
    await manager.commit(s);
    const late = /after its response started/;
    const attempts: [string, () => unknown][] = [
      ['assign', () => Object.assign(s, { b: 2 })],
      ['set', () => s.set('b', 2)],
      ['delete', () => s.delete('a')],
      ['kill', () => s.kill()],
      ['regenerate', () => s.regenerate()],
      ['flash', () => s.flash('n', 'x')],
      ['setUser', () => s.setUser('ann')],
      ['setMaxAge', () => s.setMaxAge(3600)],
    ];
    for (const [what, attempt] of attempts) assert.doesNotThrow(attempt, what);
    let ran = false;
    assert.deepEqual(
      await s.update((d) => {
        ran = true;
        d.c = 3;
      }),
      { a: 1 },
    );
    assert.equal(ran, false, 'the function of a late update is not run');
    assert.equal(s.get('a'), 1);
    assert.deepEqual(s.data, { a: 1 });
    const record = await store.get(storeKey(s.id));
    assert.ok(record && !record.data.includes('"b"') && !record.data.includes('"c"'));
    assert.equal(warnings.filter((w) => late.test(w)).length, 1);
  });

  it('a change in a timer after the response does not end the process', () => {
    // A child process: an uncaught throw there ends it with status 1 and a stack on stderr.
    const script = `
      import { MemoryStore, SessionManager } from 'websession';
      const warnings = [];
      const store = new MemoryStore();
    const manager = new SessionManager(store, {
        cleanup_interval: 0,
        logger: { warn: (m) => warnings.push(m) },
      });
      const s = await manager.load({});
      s.a = 1;
      await manager.commit(s);
      setTimeout(() => {
        s.late = true;
        s.kill();
        void s.update((d) => { d.n = 1; });
        setTimeout(() => console.log('alive', warnings.length), 10);
      }, 10);
    `;
    const child = spawnSync(
      process.execPath,
      ['--import', 'tsx', '--conditions=websession-src', '--input-type=module', '-e', script],
      { encoding: 'utf8' },
    );
    assert.equal(child.status, 0, child.stderr);
    assert.equal(child.stdout.trim(), 'alive 1');
  });
});
