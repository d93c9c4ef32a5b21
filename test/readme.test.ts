// Every ```ts block of README.md and docs/*.md is type-checked, with the project's compiler
// settings, against the package as an application imports it (`websession`, `websession/web`, …).
// A block with its own imports is a complete file and is checked as written; a shorter snippet
// (a handler class, a store line) is checked inside a block scope after a prelude that declares
// the names such snippets take from the page around them (`web`, `app`, `session`, `db`, …).
// The README's framework sections must each hold a complete example that starts a server.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';

const ROOT = path.resolve(import.meta.dirname, '..');
const DIR = path.join(ROOT, '.test-tmp', `readme-${process.pid}`);
const DOCS = [
  'README.md',
  ...readdirSync(path.join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`),
];
const SECTIONS = [
  ['node', '### node:http'],
  ['express', '### Express'],
  ['fastify', '### Fastify'],
  ['hono', '### Hono'],
  ['koa', '### Koa'],
  ['fetch', '### fetch handlers'],
] as const;

/** What a snippet without imports may use: the names the page around it has defined. */
const PRELUDE = `import * as web from 'websession/web';
import { SessionManager, type Store } from 'websession';
declare const app: web.Application;
declare const urls: string[];
declare const session: web.session.WebSession<{ user: string; count: number; logged_in: boolean }>;
declare const db: web.Database;
declare const store: Store;
declare const manager: SessionManager;
declare const user: { id: string };
declare function checkPassword(user: unknown, password: unknown): Promise<boolean>;
void SessionManager;
`;

interface Block {
  doc: string;
  line: number;
  code: string;
}

/** The ```ts blocks of a Markdown text (indented ones too, as inside a list item). */
function tsBlocks(doc: string, text: string): Block[] {
  const blocks: Block[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```ts\s*$/.exec(lines[i] ?? '');
    if (!open) continue;
    const indent = open[1]?.length ?? 0;
    const end = lines.findIndex((l, j) => j > i && l.trim() === '```');
    assert.ok(end > i, `${doc}:${i + 1}: unclosed code block`);
    const code = lines
      .slice(i + 1, end)
      .map((l) => l.slice(Math.min(indent, l.length - l.trimStart().length)))
      .join('\n');
    blocks.push({ doc, line: i + 1, code });
    i = end;
  }
  return blocks;
}

/** The file a block is checked as. */
function asFile(block: Block): string {
  const complete = /^(import|declare module) /m.test(block.code);
  return complete ? `${block.code}\nexport {};\n` : `${PRELUDE}{\n${block.code}\n}\nexport {};\n`;
}

/** The first ```ts block after the heading that starts with `heading`, before the next heading. */
function firstBlockAfter(readme: string, heading: string): string {
  const lines = readme.split('\n');
  const at = lines.findIndex((line) => line.startsWith(heading));
  assert.ok(at >= 0, `README has a section "${heading}"`);
  const rest = lines.slice(at + 1);
  const start = rest.findIndex((line) => line.trim() === '```ts');
  const next = rest.findIndex((line) => line.startsWith('#'));
  assert.ok(start >= 0 && (next < 0 || start < next), `"${heading}" has a ts example`);
  const end = rest.findIndex((line, i) => i > start && line.trim() === '```');
  return rest.slice(start + 1, end).join('\n');
}

after(() => rmSync(DIR, { recursive: true, force: true }));

describe('README and docs code', () => {
  test('each framework section of the README has a complete example that starts a server', () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    for (const [name, heading] of SECTIONS) {
      const code = firstBlockAfter(readme, heading);
      assert.match(code, /from 'websession\/|from 'websession'/, `${name}: imports websession`);
      assert.match(code, /listen\(|serve\(/, `${name}: starts a server`);
      assert.match(code, /regenerate\(\)/, `${name}: logs in with regenerate()`);
      assert.match(code, /\.update\(/, `${name}: counts with update()`);
      assert.match(code, /kill\(\)/, `${name}: logs out`);
    }
  });

  test('every ts block of README.md and docs/*.md type-checks', () => {
    mkdirSync(DIR, { recursive: true });
    const files = new Map<string, Block>();
    for (const doc of DOCS) {
      for (const block of tsBlocks(doc, readFileSync(path.join(ROOT, doc), 'utf8'))) {
        const name = `${doc.replace(/[/.]/g, '_')}_${block.line}.ts`;
        writeFileSync(path.join(DIR, name), asFile(block));
        files.set(name, block);
      }
    }
    assert.ok(files.size >= 20, `found only ${files.size} ts blocks`);
    writeFileSync(
      path.join(DIR, 'tsconfig.json'),
      JSON.stringify({
        extends: path.relative(DIR, path.join(ROOT, 'tsconfig.json')),
        compilerOptions: { noEmit: true, noUnusedLocals: false },
        include: [...files.keys()],
      }),
    );
    const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const run = spawnSync(process.execPath, [tsc, '-p', path.join(DIR, 'tsconfig.json')], {
      encoding: 'utf8',
    });
    // Name each error by the Markdown file and line of its block.
    const report = `${run.stdout}${run.stderr}`.replace(
      /^(\S+?\.ts)\((\d+),(\d+)\):/gm,
      (all, f: string, l: string, c: string) => {
        const block = files.get(path.basename(f));
        return block ? `${block.doc}, block at line ${block.line}, its line ${l}:${c}:` : all;
      },
    );
    assert.equal(run.status, 0, `code blocks that do not type-check:\n${report}`);
  });
});
