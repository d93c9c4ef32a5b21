// The end of a run: its text (targets, the machine and the command, the tables), printed, and
// written as its own section of BENCHMARKS.md, the other sections kept.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileSystemOf } from './filesystem.js';
import { LOADGEN, TASKSET } from './loadgen.js';
import { CONNECTIONS, command, opts, QUICK, TMP } from './options.js';
import type { Report } from './report.js';

const BENCHMARKS = new URL('../BENCHMARKS.md', import.meta.url);

/** The top of BENCHMARKS.md: what the file is. The sections below it are each bench's latest run. */
const PREAMBLE = `# Benchmarks

The latest full run of each benchmark, as \`npm run bench\` (and \`npm run bench -- --scale\`,
\`-- --syscalls\`) wrote it: each run replaces its own section. Older runs are in git history. Each section starts with its
targets (met or missed), then the tables, the machine and the command, and how to read them.
`;

/** Writes `text` as the section `name` of BENCHMARKS.md, keeping the other sections. */
function writeSection(name: string, text: string): void {
  const begin = `<!-- bench:${name} -->`;
  const end = `<!-- /bench:${name} -->`;
  const block = `${begin}\n${text.trim()}\n${end}`;
  const old = existsSync(BENCHMARKS) ? readFileSync(BENCHMARKS, 'utf8') : '';
  const sections = [...old.matchAll(/<!-- bench:([\w-]+) -->[\s\S]*?<!-- \/bench:\1 -->/g)]
    .filter((m) => m[1] !== name)
    .map((m) => m[0]);
  const order = ['side-by-side', 'scale', 'syscalls'];
  const all = [...sections, block].sort(
    (x, y) =>
      order.indexOf(/bench:([\w-]+)/.exec(x)![1]!) - order.indexOf(/bench:([\w-]+)/.exec(y)![1]!),
  );
  writeFileSync(BENCHMARKS, `${PREAMBLE}\n${all.join('\n\n')}\n`);
}

function environment(): string {
  const cpu = os.cpus();
  return `Node ${process.version}, ${cpu.length} CPUs (${cpu[0]?.model.trim() ?? '?'}), load average ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' / ')} (1 / 5 / 15 min)`;
}

/** Where the stores' files are, and how that file system is mounted. */
function storage(): string {
  const fs = fileSystemOf(TMP);
  return fs ? ` Stores' files in ${os.tmpdir()}: ${fs}.` : '';
}

/** Prints the run's section and writes it (not for `--no-write`, nor a side-by-side `--only`). */
export function finish(report: Report, started: number, loadBefore: number[]): void {
  const [section, title] = opts.syscalls
    ? ['syscalls', 'File-system calls per save']
    : opts.scale
      ? ['scale', 'Scale: 1,000 vs many stored sessions, and cleanup']
      : ['side-by-side', 'Side by side'];
  const text = [
    `## ${title}`,
    '',
    report.summary,
    '',
    `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC${QUICK ? ' (quick)' : ''} with \`${command()}\`: ${environment()} at the end; ${loadBefore.map((l) => l.toFixed(1)).join(' / ')} at the start. Run time ${Math.round((Date.now() - started) / 1000)} s.${storage()} ${section === 'syscalls' ? 'Requests one at a time (fetch).' : `Load generator: ${LOADGEN}, ${CONNECTIONS} connections, ${TASKSET ? 'server pinned to CPU 0 and load generator to CPU 1 (taskset)' : 'no taskset: server and load generator not pinned'}.`}`,
    '',
    report.tables,
  ].join('\n');
  console.log(text);
  // A side-by-side run of a few rows (--only) is for development; a scale run of some stores, or
  // a syscalls run, is the section as it stands.
  if (!opts['no-write'] && (section !== 'side-by-side' || !opts.only)) writeSection(section, text);
  rmSync(TMP, { recursive: true, force: true });
}
