// What the file-system calls DiskStore (and its peers) make cost on this machine: each measured
// 2,000 times on a small file in the temp folder, synchronously, one after another. Then a whole
// DiskStore save (lock, read, temp file, rename, unlock) made with synchronous calls and with the
// same calls through the thread pool (node:fs/promises, awaited one after another): wall time and
// CPU time (all threads) per save, which decided that DiskStore makes synchronous calls (but for
// the rename of a save on a `discard` mount: see DiskStoreOptions.renameOffThread).
// The file system the folder is on is printed first: these costs depend on it (see filesystem.ts).
//   node --import tsx bench/fsops.ts [--n 2000] [--dir /tmp]
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { fileSystemOf } from './filesystem.js';

const { values } = parseArgs({ options: { n: { type: 'string' }, dir: { type: 'string' } } });
const n = Number(values.n ?? 2000);
const dir = fs.mkdtempSync(path.join(values.dir ?? os.tmpdir(), 'websession-fsops-'));
const file = path.join(dir, 'a.sess');
const body = 'x'.repeat(120);
fs.writeFileSync(file, body);

const row = (label: string, value: string) => console.log(`${label.padEnd(52)} ${value}`);
console.log(`${dir}: ${fileSystemOf(dir) ?? 'file system unknown'}`);

function time(label: string, fn: (i: number) => void): void {
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn(i);
  const us = Number(process.hrtime.bigint() - start) / n / 1000;
  row(label, `${us.toFixed(1).padStart(7)} µs`);
}

/** Wall and CPU time (every thread of the process, the thread pool's included) per call of `fn`. */
async function timeSave(label: string, fn: (i: number) => unknown): Promise<void> {
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn(i);
  const wall = Number(process.hrtime.bigint() - start) / n / 1000;
  const used = process.cpuUsage(cpu);
  const cpuUs = (used.user + used.system) / n;
  row(label, `${wall.toFixed(1).padStart(7)} µs wall, ${cpuUs.toFixed(1).padStart(7)} µs CPU`);
}

const lockFile = `${file}.lock`;

function saveSync(i: number, flush: boolean): void {
  fs.closeSync(fs.openSync(lockFile, 'wx', 0o600));
  const fd = fs.openSync(file, 'r');
  fs.fstatSync(fd);
  fs.readFileSync(fd, 'utf8');
  fs.closeSync(fd);
  const tmp = `${file}.${i}.tmp`;
  const out = fs.openSync(tmp, 'wx', 0o600);
  fs.writeFileSync(out, body, 'utf8');
  if (flush) fs.fsyncSync(out);
  fs.closeSync(out);
  fs.renameSync(tmp, file);
  if (flush) {
    const folder = fs.openSync(dir, 'r');
    fs.fsyncSync(folder);
    fs.closeSync(folder);
  }
  fs.unlinkSync(lockFile);
}

async function saveAsync(i: number, flush: boolean, record = file): Promise<void> {
  const lock = `${record}.lock`;
  await (await fsp.open(lock, 'wx', 0o600)).close();
  const handle = await fsp.open(record, 'a+');
  await Promise.all([handle.readFile('utf8'), handle.stat()]);
  await handle.close();
  const tmp = `${record}.${i}.tmp`;
  const out = await fsp.open(tmp, 'wx', 0o600);
  await out.writeFile(body, 'utf8');
  if (flush) await out.sync();
  await out.close();
  await fsp.rename(tmp, record);
  if (flush) {
    const folder = await fsp.open(dir, 'r');
    await folder.sync();
    await folder.close();
  }
  await fsp.unlink(lock);
}

/** `saveAsync` on 16 records at once (their flushes may share a journal commit). */
async function saveAsync16(i: number, flush: boolean): Promise<void> {
  await Promise.all(
    Array.from({ length: 16 }, (_, r) => saveAsync(i, flush, path.join(dir, `r${r}.sess`))),
  );
}

async function readAsync(): Promise<void> {
  const handle = await fsp.open(file, 'r');
  await Promise.all([handle.readFile('utf8'), handle.stat()]);
  await handle.close();
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
  // The same rename where no file is replaced: the difference is what the file system does for a
  // replaced file (on ext4: free its blocks, a device discard with `discard`; and auto_da_alloc
  // writes the new file's data out now).
  for (let i = 0; i < n; i++) fs.writeFileSync(`${file}.${i}.tmp`, body, { flag: 'wx' });
  time('rename to a new name (nothing replaced)', (i) =>
    fs.renameSync(`${file}.${i}.tmp`, `${file}.${i}.new`),
  );
  time('write in place (truncate + write + close, web.py)', () => fs.writeFileSync(file, body));
  console.log();
  await timeSave('read, synchronous calls', () => fs.readFileSync(file, 'utf8'));
  await timeSave('read, through the thread pool', () => readAsync());
  await timeSave('save, synchronous calls', (i) => saveSync(i, false));
  await timeSave('save, through the thread pool', (i) => saveAsync(i, false));
  await timeSave('save with fsync, synchronous calls', (i) => saveSync(i, true));
  await timeSave('save with fsync, through the thread pool', (i) => saveAsync(i, true));
  console.log('16 saves at once (on 16 records), through the thread pool:');
  await timeSave('  without fsync', (i) => saveAsync16(i, false));
  await timeSave('  with fsync', (i) => saveAsync16(i, true));
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
