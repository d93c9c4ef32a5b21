import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { checkSharedStore } from '../helpers/example-process.js';

it('two example processes share one ShelfStore file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'websession-shelf-mp-'));
  try {
    await checkSharedStore(`shelf:${join(dir, 'sessions.shelf')}`, assert);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
