// Every relative link and #anchor in README.md and docs/*.md leads somewhere: the file exists, and
// an anchor names a heading of the target page as GitHub renders it (its slug rules below).
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { DOC_PAGES as PAGES, ROOT } from './helpers/doc-pages.js';

/** A Markdown text without its fenced code blocks. */
function withoutFences(text: string): string {
  return text.replace(/^(\s*)```[^\n]*\n[\s\S]*?^\1```\s*$/gm, '');
}

/** A Markdown text without code (blocks and inline spans): a link there is text. */
function prose(text: string): string {
  return withoutFences(text).replace(/`[^`\n]*`/g, '');
}

/**
 * GitHub's anchor for a heading (github-slugger): the rendered text lower-cased, every character
 * but letters, digits, marks, `_`, `-` and spaces dropped, spaces made hyphens; a repeated slug
 * gets `-1`, `-2`, …
 */
function slug(heading: string): string {
  const rendered = heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1') // a link's text
    .replace(/<[^>]+>/g, '') // inline HTML
    .replace(/[`*]/g, '');
  return rendered
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '')
    .replace(/ /g, '-');
}

/** The anchors a page has: its headings' slugs and explicit `id`/`name` attributes. */
function anchors(file: string): Set<string> {
  const text = readFileSync(path.join(ROOT, file), 'utf8');
  const found = new Set<string>();
  const seen = new Map<string, number>();
  for (const [, heading] of withoutFences(text).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = slug(heading ?? '');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    found.add(n === 0 ? base : `${base}-${n}`);
  }
  for (const [, id] of text.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) found.add(id ?? '');
  return found;
}

/** The relative link targets of a page, with their line numbers. */
function links(file: string): { line: number; target: string }[] {
  const text = prose(readFileSync(path.join(ROOT, file), 'utf8'));
  const out: { line: number; target: string }[] = [];
  const lines = text.split('\n');
  lines.forEach((l, i) => {
    const targets = [
      ...[...l.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1] ?? ''),
      ...[...l.matchAll(/href="([^"]+)"/g)].map((m) => m[1] ?? ''),
    ];
    for (const target of targets) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:, …
      out.push({ line: i + 1, target });
    }
  });
  return out;
}

test('the slug rules match GitHub on the headings these pages use', () => {
  assert.equal(slug("The session is web.py's dict"), 'the-session-is-webpys-dict');
  assert.equal(slug('node:http'), 'nodehttp');
  assert.equal(slug('Express 5 and 4 (`websession/express`)'), 'express-5-and-4-websessionexpress');
  assert.equal(
    slug('CookieStore: the session in the cookie'),
    'cookiestore-the-session-in-the-cookie',
  );
});

test('every relative link and anchor in README.md and docs/*.md resolves', () => {
  const broken: string[] = [];
  let checked = 0;
  for (const page of PAGES) {
    for (const { line, target } of links(page)) {
      checked++;
      const [file = '', anchor] = target.split('#');
      const resolved = file ? path.join(path.dirname(page), decodeURIComponent(file)) : page;
      if (!existsSync(path.join(ROOT, resolved))) {
        broken.push(`${page}:${line}: ${target} (no file ${resolved})`);
        continue;
      }
      if (anchor === undefined || !resolved.endsWith('.md')) continue;
      if (!anchors(resolved).has(anchor))
        broken.push(`${page}:${line}: ${target} (no heading #${anchor} in ${resolved})`);
    }
  }
  assert.ok(checked > 50, `read the links (${checked})`);
  assert.deepEqual(broken, []);
});
