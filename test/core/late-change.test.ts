// Changes after the commit (the response started): every mutating method throws a
// SessionStateError that says so, the manager's logger hears of it once, and nothing is saved.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryStore, SessionManager, SessionStateError } from 'websession';

describe('changes after the commit', () => {
  it('set, delete, kill, regenerate, flash, setUser and update throw; reads still work; logged once', async () => {
    const warnings: string[] = [];
    const manager = new SessionManager(new MemoryStore(), {
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
    ];
    for (const [what, attempt] of attempts)
      assert.throws(
        attempt,
        (e: unknown) => e instanceof SessionStateError && late.test(e.message),
        what,
      );
    await assert.rejects(
      s.update((d) => {
        d.c = 3;
      }),
      (e: unknown) => e instanceof SessionStateError && late.test(e.message),
    );
    assert.equal(s.get('a'), 1);
    assert.deepEqual(s.data, { a: 1 });
    assert.equal(warnings.filter((w) => late.test(w)).length, 1);
  });
});
