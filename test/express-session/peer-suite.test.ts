// express-session's own test suite run against websession/express-session, through
// scripts/peer-suite-express-session.mjs: every case passes or fails for the reason listed in
// test/express-session/peer-suite-expected-failures*.json (the script fails on any other
// outcome). Run as is, and with saveUninitialized given express-session's default, which many
// of its cases assume. The suite lives in ../shared/peer-suites/express-session beside the
// repository (or EXPRESS_SESSION_SUITE); without it the test is skipped, under CI=true it fails.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { IN_CI } from '../helpers/servers.js';

const SUITE = path.resolve(
  process.env.EXPRESS_SESSION_SUITE ?? path.join('..', 'shared', 'peer-suites', 'express-session'),
);
const present = existsSync(path.join(SUITE, 'test', 'session.js'));
if (!present && IN_CI) throw new Error(`CI=true but express-session's suite is not at ${SUITE}`);
const skip = present ? false : `express-session's suite not found at ${SUITE}`;

async function run(...args: string[]): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['scripts/peer-suite-express-session.mjs', SUITE, ...args],
      { maxBuffer: 16 * 1024 * 1024 },
    );
    return stdout;
  } catch (err) {
    const { stdout = '', stderr = '' } = err as { stdout?: string; stderr?: string };
    assert.fail(`the suite's outcome differs from the expected list:\n${stdout}\n${stderr}`);
  }
}

describe("express-session's own suite", { skip }, () => {
  for (const mode of [[], ['--express-defaults']]) {
    it(`passes except the listed cases${mode.length ? ' (saveUninitialized: true by default)' : ''}`, async (t) => {
      const out = await run(...mode);
      const counts = /^(\d+) passing \/ (\d+) failing$/m.exec(out);
      assert.ok(counts, out);
      t.diagnostic(counts[0]);
      assert.ok(Number(counts[1]) > 0);
    });
  }
});
