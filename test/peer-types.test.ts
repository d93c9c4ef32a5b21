// Our types beside the peers' types: an application moving over from express-session or
// @fastify/session has both installed for a while, and must still compile (strict, and with the
// libraries' declarations checked too) against the package as it is published (dist/*.d.ts).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { buildWhenStale, ROOT } from './helpers/build.js';

before(buildWhenStale);

test('an app importing websession/express with express-session, and websession/fastify with @fastify/session, compiles', async () => {
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const project = join(ROOT, 'test', 'fixtures', 'peer-types', 'tsconfig.json');
  const out = await new Promise<{ code: number; text: string }>((resolve) => {
    execFile(process.execPath, [tsc, '-p', project], { cwd: ROOT }, (err, stdout, stderr) =>
      resolve({ code: err ? 1 : 0, text: stdout + stderr }),
    );
  });
  assert.equal(out.text, '', 'no compiler errors');
  assert.equal(out.code, 0);
});
