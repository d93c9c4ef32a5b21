// The original: web.py 0.62's DiskStore in Python (bench/webpy_counter.py), the same counter.
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { PYTHON, type ServerSpec } from './common.js';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export const WEBPY: Record<string, ServerSpec> = {
  'peer-web.py': {
    label: "web.py 0.62's DiskStore (Python)",
    framework: 'web.py',
    store: 'disk',
    kind: 'peer',
    needs: 'webpy',
    async start(tmp) {
      const port = await freePort();
      const dir = join(tmp, 'webpy');
      mkdirSync(dir, { recursive: true });
      const script = new URL('../webpy_counter.py', import.meta.url).pathname;
      const child = spawn(PYTHON, [script, String(port), dir], { stdio: 'ignore' });
      for (let i = 0; i < 100; i++) {
        const ok = await fetch(`http://127.0.0.1:${port}/visit`).then(
          (r) => r.ok,
          () => false,
        );
        if (ok) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      return {
        port,
        ...(child.pid ? { pid: child.pid } : {}),
        records: async () => readdirSync(dir).length,
        close: async () => {
          child.kill();
        },
      };
    },
  },
};
