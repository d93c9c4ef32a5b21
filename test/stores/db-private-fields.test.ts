// DBStore drives the drivers through their public API only: a private field (`client._ending`,
// `connection._closing`, …) may change in any minor release of pg or mysql2.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { it } from 'node:test';

const dir = new URL('../../src/stores/db/', import.meta.url);

it('src/stores/db/ reads no underscore-prefixed property of any object', async () => {
  for (const file of (await readdir(dir)).filter((f) => f.endsWith('.ts'))) {
    const lines = (await readFile(new URL(file, dir), 'utf8')).split('\n');
    lines.forEach((line, i) => {
      assert.doesNotMatch(line, /(\.|\?\.)_[A-Za-z]/, `${file}:${i + 1}: ${line.trim()}`);
    });
  }
});
