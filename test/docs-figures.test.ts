// Benchmark figures have one home, BENCHMARKS.md (written by `npm run bench`): README.md and
// docs/*.md link to it rather than restate it. Any figure with a unit (req/s, ×, ms, µs, %) that
// they do quote next to a benchmark (in a paragraph, list item or table that links to
// BENCHMARKS.md or names a bench script, or in the README's Performance section) must be there.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { DOC_PAGES as PAGES, ROOT } from './helpers/doc-pages.js';

const BENCHMARKS = readFileSync(path.join(ROOT, 'BENCHMARKS.md'), 'utf8');

/** A number, or a range of two (`1.6–1.7×`), followed by one of the units. */
const FIGURE = /(\d[\d,]*(?:\.\d+)?)(?:\s*[–-]\s*(\d[\d,]*(?:\.\d+)?))?\s*(req\/s|×|ms|µs|%)/g;

/** The text's blocks (runs of lines between blank lines), outside code blocks, with where each starts. */
function blocks(text: string): { line: number; text: string; section: string }[] {
  const out: { line: number; text: string; section: string }[] = [];
  let current: string[] = [];
  let start = 0;
  let section = '';
  let fence = false;
  const flush = () => {
    if (current.length) out.push({ line: start + 1, text: current.join('\n'), section });
    current = [];
  };
  text.split('\n').forEach((l, i) => {
    if (/^\s*```/.test(l)) {
      fence = !fence;
      flush();
      return;
    }
    if (fence) return;
    if (/^## /.test(l)) section = l.slice(3).trim();
    if (l.trim() === '') {
      flush();
      return;
    }
    if (current.length === 0) start = i;
    current.push(l);
  });
  flush();
  return out;
}

/** Whether a block quotes a benchmark: it links to BENCHMARKS.md or names a bench script. */
function quotesBench(page: string, block: { text: string; section: string }): boolean {
  if (page === 'README.md' && block.section === 'Performance') return true;
  return /BENCHMARKS\.md|\bbench\/|npm run bench/.test(block.text);
}

/** Whether `number` (as written, with its unit for a ratio or a share) appears in BENCHMARKS.md. */
function inBenchmarks(number: string, unit: string): boolean {
  const escaped = number.replace(/[.,]/g, (c) => `\\${c}`);
  const suffix = unit === '×' ? '×' : unit === '%' ? '\\s*%' : '(?![\\d,.]*\\d)';
  return new RegExp(`(?<![\\d,.])${escaped}${suffix}`).test(BENCHMARKS);
}

test('the checker finds a figure missing from BENCHMARKS.md, and one that is there', () => {
  assert.equal(inBenchmarks('6.25', '×'), BENCHMARKS.includes('6.25×'));
  assert.equal(inBenchmarks('987,654,321', 'req/s'), false);
  assert.equal(
    quotesBench('docs/x.md', { text: 'see [it](../BENCHMARKS.md): 3× faster', section: '' }),
    true,
  );
  assert.equal(quotesBench('docs/x.md', { text: 'store_timeout: 5000 ms', section: '' }), false);
});

test('every benchmark figure quoted in README.md and docs/*.md is in BENCHMARKS.md', () => {
  const missing: string[] = [];
  for (const page of PAGES) {
    for (const block of blocks(readFileSync(path.join(ROOT, page), 'utf8'))) {
      if (!quotesBench(page, block)) continue;
      for (const m of block.text.matchAll(FIGURE)) {
        const unit = m[3] ?? '';
        for (const n of [m[1], m[2]]) {
          if (n !== undefined && !inBenchmarks(n, unit))
            missing.push(`${page}:${block.line}: ${n} (${m[0]})`);
        }
      }
    }
  }
  assert.deepEqual(missing, []);
});
