// The syscalls part of the bench (`npm run bench -- --syscalls`): the file-system calls one
// saving request makes, per server that keeps sessions in files, counted by `strace -c` on every
// thread of the server process while one session is counted up 1,000 times, one request after
// another (so each request's calls are its own). What a save costs on a disk is mostly its
// directory changes (files created, renamed, removed), so those lead the table.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Child, startServer } from './children.js';
import { TMP } from './options.js';
import { SERVERS, type Service } from './servers/index.js';
import { sessionCookie } from './session-cookies.js';

/** The servers compared: ours and the peers that keep one file per session. */
const SERVER_IDS = ['web-disk', 'peer-web.py', 'express-disk', 'peer-session-file-store'];
const REQUESTS = 1000;
/** Columns: the calls that change the directory or open a file first, then the others. */
const CALLS = ['openat', 'rename', 'unlink', 'unlinkat', 'fsync', 'read', 'write', 'close'];

/** What the syscalls part reports: a line on what it shows, then its table. */
export interface SyscallsReport {
  summary: string;
  tables: string;
}

/** Calls per syscall name in an `strace -c` summary file. */
function parseSummary(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of text.split('\n')) {
    // % time, seconds, usecs/call, calls, [errors], syscall
    const cells = line.trim().split(/\s+/);
    const name = cells.at(-1);
    if (!name || !/^\d/.test(cells[0] ?? '') || cells.length < 5) continue;
    counts.set(name, (counts.get(name) ?? 0) + Number(cells[3]));
  }
  // openat is how open() reaches the kernel here; count a plain open with it.
  counts.set('openat', (counts.get('openat') ?? 0) + (counts.get('open') ?? 0));
  return counts;
}

/** Counts the syscalls of `child` (every thread) while `requests` run; returns them per request. */
async function traced(child: Child, requests: () => Promise<void>): Promise<Map<string, number>> {
  const out = join(TMP, `strace-${child.id}.txt`);
  const tids = readdirSync(`/proc/${child.pid}/task`);
  const strace = spawn('strace', ['-c', '-o', out, ...tids.flatMap((t) => ['-p', t])], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  // strace says "Process N attached" once per thread: wait for every one before counting.
  let attached = 0;
  await new Promise<void>((resolve, reject) => {
    strace.once('exit', (code) => reject(new Error(`strace exited with ${code}`)));
    strace.stderr.on('data', (chunk: Buffer) => {
      attached += (String(chunk).match(/attached/g) ?? []).length;
      if (attached >= tids.length) resolve();
    });
  });
  await requests();
  const exited = new Promise((r) => strace.once('exit', r));
  strace.kill('SIGINT');
  await exited;
  const counts = parseSummary(readFileSync(out, 'utf8'));
  for (const [name, n] of counts) counts.set(name, n / REQUESTS);
  return counts;
}

export async function syscalls(skip: Map<Service, string>): Promise<SyscallsReport> {
  if (spawnSync('strace', ['-V']).error)
    throw new Error('the syscalls part needs strace (apt-get install strace)');
  const lines = [
    `File-system calls per request, counted with \`strace -c\` on every thread of the server process while one session is counted up ${REQUESTS.toLocaleString('en-US')} times, one request at a time (the session made beforehand, 50 warm-up requests). Each server keeps one file per session; a save that writes a temp file and renames it over the record opens two files (the record to read, the temp file to write) and renames one.`,
    '',
    `| server | ${CALLS.join(' | ')} |`,
    `| --- | ${CALLS.map(() => '---:').join(' | ')} |`,
  ];
  for (const id of SERVER_IDS) {
    const spec = SERVERS[id];
    if (!spec) continue;
    if (spec.needs && skip.has(spec.needs)) {
      lines.push(
        `| ${spec.label} (skipped: ${skip.get(spec.needs)}) | ${CALLS.map(() => '–').join(' | ')} |`,
      );
      continue;
    }
    const child = await startServer(id, 'syscalls');
    try {
      const cookie = await sessionCookie(child.url, '/');
      const one = () => fetch(`${child.url}/`, { headers: { cookie } }).then((r) => r.text());
      for (let i = 0; i < 50; i++) await one(); // warm: first-use files and code paths
      const per = await traced(child, async () => {
        for (let i = 0; i < REQUESTS; i++) await one();
      });
      const cell = (n: number | undefined) => (n ?? 0).toFixed(2);
      lines.push(`| ${spec.label} | ${CALLS.map((c) => cell(per.get(c))).join(' | ')} |`);
    } finally {
      await child.stop();
    }
  }
  const kernel = execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim();
  return {
    summary: `Linux ${kernel}. Counts per request; the HTTP server's own socket calls are in read and write too (about one each per request).`,
    tables: lines.join('\n'),
  };
}
