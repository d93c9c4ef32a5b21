import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LastWritten } from '../../src/stores/written.js';

describe('LastWritten (the starting point of conditional writes)', () => {
  const k = 'a'.repeat(64);

  it('starts from what this process wrote only when that is newer than the caller read', () => {
    const w = new LastWritten();
    const read = { data: 'v1', atime: 1000 };
    assert.equal(w.basis(k, read), read, 'nothing written: the caller read');
    w.note(k, { data: 'v2', atime: 2000 });
    assert.deepEqual(w.basis(k, read), { data: 'v2', atime: 2000 }, 'read before our write');
    const later = { data: 'v3', atime: 3000 };
    assert.equal(w.basis(k, later), later, 'read after our write (another process wrote v3)');
    const same = { data: 'v2', atime: 2000 };
    assert.equal(w.basis(k, same), same);
    w.note(k, undefined);
    assert.equal(w.basis(k, read), read, 'forgotten after a delete');
  });

  it('is bounded in entries and skips large records', () => {
    const w = new LastWritten(2, 10);
    const keys = ['b', 'c', 'd'].map((c) => c.repeat(64));
    for (const key of keys) w.note(key, { data: 'new', atime: 2 });
    const read = { data: 'old', atime: 1 };
    assert.equal(w.basis(keys[0]!, read), read, 'the oldest entry was evicted');
    assert.equal(w.basis(keys[2]!, read).data, 'new');
    w.note(k, { data: 'x'.repeat(11), atime: 2 });
    assert.equal(w.basis(k, read), read, 'a record over the size cap is not kept');
  });
});
