// What the file-system calls DiskStore (and its peers) make cost on this machine: each measured
// 2,000 times on a small file in the temp folder, synchronously, one after another.
//   node --import tsx bench/fsops.ts [--n 2000] [--dir /tmp]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { n: { type: 'string' }, dir: { type: 'string' } } });
const n = Number(values.n ?? 2000);
const dir = fs.mkdtempSync(path.join(values.dir ?? os.tmpdir(), 'websession-fsops-'));
const file = path.join(dir, 'a.sess');
const body = 'x'.repeat(120);
fs.writeFileSync(file, body);

function time(label: string, fn: (i: number) => void): void {
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn(i);
  const us = Number(process.hrtime.bigint() - start) / n / 1000;
  console.log(`${label.padEnd(52)} ${us.toFixed(1).padStart(7)} µs`);
}

try {
  time('read (open, fstat, read, close)', () => fs.readFileSync(file, 'utf8'));
  time('utimes (DiskStore touch)', () => fs.utimesSync(file, 1, 1));
  time('mkdir + rmdir (a lock folder, as proper-lockfile takes)', () => {
    fs.mkdirSync(`${file}.lock`);
    fs.rmdirSync(`${file}.lock`);
  });
  time('create a new file + write + close (temp file)', (i) =>
    fs.writeFileSync(`${file}.${i}.tmp`, body, { flag: 'wx' }),
  );
  time('rename over the record (atomic replace)', (i) => fs.renameSync(`${file}.${i}.tmp`, file));
  time('write in place (truncate + write + close, web.py)', () => fs.writeFileSync(file, body));
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
