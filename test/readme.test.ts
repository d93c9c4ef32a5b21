// The README's framework sections promise complete, copyable examples: each section's first
// ```ts block is written out as a file of its own and type-checked, with the project's compiler
// settings, against the package as an application imports it (`websession`, `websession/express`, …).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';

const ROOT = path.resolve(import.meta.dirname, '..');
const DIR = path.join(ROOT, '.test-tmp', `readme-${process.pid}`);
const SECTIONS = [
  ['node', '### node:http'],
  ['express', '### Express 5 and 4'],
  ['fastify', '### Fastify'],
  ['hono', '### Hono'],
  ['koa', '### Koa'],
] as const;

/** The first ```ts block after the heading that starts with `heading`. */
function firstBlockAfter(readme: string, heading: string): string {
  const at = readme.split('\n').findIndex((line) => line.startsWith(heading));
  assert.ok(at >= 0, `README has a section "${heading}"`);
  const rest = readme.split('\n').slice(at + 1);
  const start = rest.findIndex((line) => line.trim() === '```ts');
  const next = rest.findIndex((line) => line.startsWith('#'));
  assert.ok(start >= 0 && (next < 0 || start < next), `"${heading}" has a ts example`);
  const end = rest.findIndex((line, i) => i > start && line.trim() === '```');
  return rest.slice(start + 1, end).join('\n');
}

after(() => rmSync(DIR, { recursive: true, force: true }));

describe('README framework examples', () => {
  test('each adapter section has a complete example that type-checks as written', () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    mkdirSync(DIR, { recursive: true });
    const files: string[] = [];
    for (const [name, heading] of SECTIONS) {
      const code = firstBlockAfter(readme, heading);
      assert.match(code, /from 'websession\/|from 'websession'/, `${name}: imports websession`);
      assert.match(code, /listen\(|serve\(/, `${name}: starts a server`);
      const file = path.join(DIR, `${name}.ts`);
      // `export {}` makes each file a module of its own, so the examples' names do not clash.
      writeFileSync(file, `${code}\nexport {};\n`);
      files.push(file);
    }
    writeFileSync(
      path.join(DIR, 'tsconfig.json'),
      JSON.stringify({
        extends: path.relative(DIR, path.join(ROOT, 'tsconfig.json')),
        compilerOptions: { noEmit: true, noUnusedLocals: false },
        include: files.map((f) => path.basename(f)),
      }),
    );
    const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const run = spawnSync(process.execPath, [tsc, '-p', path.join(DIR, 'tsconfig.json')], {
      encoding: 'utf8',
    });
    assert.equal(
      run.status,
      0,
      `the README examples do not type-check:\n${run.stdout}${run.stderr}`,
    );
  });
});
