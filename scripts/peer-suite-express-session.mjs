#!/usr/bin/env node
// Runs express-session's own test suite (mocha) against websession/express-session and checks
// the outcome against test/express-session/peer-suite-expected-failures.json (full test title →
// why it fails here: a deliberate, documented difference, or a gap). Prints "N passing / M
// failing" and every failing case with its reason. Exits 1 when a case fails that is not in the
// list, or a listed case passes or no longer exists (so the list stays true).
//
//   node scripts/peer-suite-express-session.mjs [path to the suite]
//
// The suite's folder defaults to ../shared/peer-suites/express-session beside the repository.
// It is copied into a temporary folder with an index.js exporting our middleware (through tsx,
// from src/) and session/cookie.js exporting its Cookie; its devDependencies (mocha, supertest,
// cookie-parser, after, express 4) are linked from the repository's node_modules, or installed
// there with npm when the repository does not have them. mocha is never a devDependency of the
// repository: biome then takes every test file for a mocha file and rejects node:test's hooks.
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const EXPRESS_DEFAULTS = args.includes('--express-defaults');
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SUITE = path.resolve(
  args.find((a) => !a.startsWith('--')) ??
    path.join(ROOT, '..', 'shared', 'peer-suites', 'express-session'),
);
const EXPECTED = path.join(
  ROOT,
  'test',
  'express-session',
  EXPRESS_DEFAULTS
    ? 'peer-suite-expected-failures-express-defaults.json'
    : 'peer-suite-expected-failures.json',
);
const ENTRY = path.join(ROOT, 'src', 'adapters', 'express-session', 'index.ts');
const requireFromRoot = createRequire(path.join(ROOT, 'package.json'));

/** The suite's devDependencies we need, with the name the repository has each under. */
const DEPENDENCIES = [
  ['mocha', 'mocha'],
  ['supertest', 'supertest'],
  ['cookie-parser', 'cookie-parser'],
  ['after', 'after'],
  ['express', 'express4'],
];

/** Where else to look for them: a node_modules folder named by PEER_SUITE_NODE_MODULES. */
const EXTRA = process.env.PEER_SUITE_NODE_MODULES;

function packageDir(name) {
  try {
    return path.dirname(requireFromRoot.resolve(`${name}/package.json`));
  } catch {
    const extra = EXTRA && path.join(path.resolve(EXTRA), name);
    return extra && existsSync(path.join(extra, 'package.json')) ? extra : undefined;
  }
}

/** Links the suite's dependencies into `dir`/node_modules, installing those the repository lacks. */
function provideDependencies(dir, versions) {
  const modules = path.join(dir, 'node_modules');
  mkdirSync(modules, { recursive: true });
  const found = DEPENDENCIES.map(([name, ours]) => [name, packageDir(ours) ?? packageDir(name)]);
  const missing = found.filter(([, dir]) => !dir).map(([name]) => `${name}@${versions[name]}`);
  if (missing.length > 0) {
    // Installed first: npm would remove links it did not make.
    console.log(`installing ${missing.join(' ')} for the suite`);
    const npm = spawnSync(
      'npm',
      ['install', '--no-save', '--no-package-lock', '--no-audit', '--no-fund', ...missing],
      { cwd: dir, stdio: 'inherit' },
    );
    if (npm.status !== 0) throw new Error('npm install of the suite dependencies failed');
  }
  for (const [name, at] of found) if (at) symlinkSync(at, path.join(modules, name), 'dir');
}

/**
 * The suite's `require('../')`: our middleware. With `--express-defaults`, a wrapper that gives
 * `saveUninitialized` express-session's default (true) when the suite leaves it out, to show
 * what else differs behind the many cases that only assume that default.
 */
function indexJs() {
  const load = `require(${JSON.stringify(ENTRY)})`;
  if (!EXPRESS_DEFAULTS) return `module.exports = ${load};\n`;
  return `const session = ${load};
function withDefaults(options) {
  const o = options || {};
  return session(o.saveUninitialized === undefined ? { ...o, saveUninitialized: true } : o);
}
module.exports = Object.assign(withDefaults, session);
`;
}

function prepare() {
  if (!existsSync(path.join(SUITE, 'test', 'session.js')))
    throw new Error(`express-session's suite not found at ${SUITE}`);
  const dir = mkdtempSync(path.join(tmpdir(), 'es-peer-suite-'));
  cpSync(SUITE, dir, { recursive: true });
  // Only the suite's test dependencies: the package's own would be express-session's.
  const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
  writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({ name: 'express-session-peer-suite', private: true }),
  );
  writeFileSync(path.join(dir, 'index.js'), indexJs());
  mkdirSync(path.join(dir, 'session'));
  writeFileSync(
    path.join(dir, 'session', 'cookie.js'),
    "module.exports = require('../index.js').Cookie;\n",
  );
  provideDependencies(dir, manifest.devDependencies);
  mkdirSync(path.join(dir, 'test', 'fixtures'), { recursive: true });
  const cert = spawnSync('sh', [path.join(dir, 'test', 'support', 'gencert.sh')], {
    cwd: dir,
    stdio: 'ignore',
  });
  if (cert.status !== 0) throw new Error('test/support/gencert.sh failed (is openssl installed?)');
  return dir;
}

/** Runs mocha in `dir` with the JSON reporter; returns its report. */
function runMocha(dir) {
  const out = path.join(dir, 'report.json');
  const mocha = path.join(dir, 'node_modules', 'mocha', 'bin', 'mocha.js');
  const result = spawnSync(
    process.execPath,
    [
      '--import',
      import.meta.resolve('tsx'),
      '--conditions=websession-src',
      mocha,
      '--require',
      'test/support/env',
      '--check-leaks',
      '--exit',
      // Its cases wait on their own timers; mocha's 2 s per case is too short on a busy machine.
      '--timeout',
      '20000',
      '--reporter',
      'json',
      '--reporter-option',
      `output=${out}`,
      'test/',
    ],
    { cwd: dir, encoding: 'utf8', env: { ...process.env, NODE_ENV: 'test' } },
  );
  if (!existsSync(out)) {
    process.stderr.write(result.stdout ?? '');
    process.stderr.write(result.stderr ?? '');
    throw new Error(`mocha gave no report (exit ${result.status})`);
  }
  return JSON.parse(readFileSync(out, 'utf8'));
}

function main() {
  const expected = JSON.parse(readFileSync(EXPECTED, 'utf8'));
  const dir = prepare();
  let report;
  try {
    report = runMocha(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const passed = new Set(report.passes.map((t) => t.fullTitle));
  const failed = report.failures.map((t) => ({
    title: t.fullTitle,
    error: String(t.err?.message ?? '').split('\n')[0],
  }));
  console.log(`${passed.size} passing / ${failed.length} failing`);
  let wrong = 0;
  for (const { title, error } of failed) {
    const reason = expected[title];
    if (reason) console.log(`  - ${title}\n      ${reason}`);
    else {
      wrong++;
      console.log(`  ✗ UNEXPECTED: ${title}\n      ${error}`);
    }
  }
  const failing = new Set(failed.map((f) => f.title));
  for (const title of Object.keys(expected)) {
    if (failing.has(title)) continue;
    wrong++;
    console.log(
      `  ✗ LISTED BUT ${passed.has(title) ? 'PASSES' : 'NOT FOUND'}: ${title} (update ${path.relative(ROOT, EXPECTED)})`,
    );
  }
  if (wrong > 0) {
    console.log(`${wrong} case(s) differ from the expected list`);
    process.exit(1);
  }
}

main();
