// The rows of a run: every server's session row, plus the new-visitor and rotation rows listed
// here; `--only` keeps the rows whose id contains one of its parts, and the reference rows.
import { opts } from './options.js';
import { LIMIT, SERVERS } from './servers/index.js';

/** How a row's load generator sends its requests. */
export type Mode =
  /** Every request with the cookie of one session made before the run. */
  | 'session'
  /** No cookie on any request (a new visitor each time). */
  | 'visitor'
  /** The cookies of {@link ROTATION} sessions made before the run, in turn. */
  | 'rotation';

/** Sessions the rotation rows cycle through. */
export const ROTATION = 1000;

export interface Row {
  id: string;
  server: string;
  mode: Mode;
  /** The path requested. */
  path: string;
  /** Where the row's session is made, when not at `path` (a read-only path makes none). */
  madeAt?: string;
}

/** Servers with a new-visitor row: `/visit` reads `count` and stores nothing. */
const VISITORS = [
  'node-memory',
  'web-disk',
  'peer-express-session',
  'peer-session-file-store',
  'peer-web.py',
];

/** Servers with a row of {@link ROTATION} sessions in rotation, and the path it requests. */
const ROTATIONS: [server: string, path: string][] = [
  // What `npm run example -- web --store disk:<folder>` serves: its counter, `update()`.
  ['example-web-disk', '/count'],
  ['web-disk', '/'],
  ['peer-web.py', '/'],
  ['express-disk', '/'],
  ['peer-session-file-store', '/'],
  ['express-sqlite', '/'],
  ['peer-better-sqlite3-session-store', '/'],
];

/** The rows every target needs: the bare servers and the limit. */
const isReference = (id: string) => id.startsWith('bare-') || id === LIMIT;

/** The rows of this run, in table order. */
export function rows(): Row[] {
  const list: Row[] = Object.entries(SERVERS)
    .filter(([, spec]) => spec.sessionRow !== false)
    .map(([server, spec]) => ({ id: server, server, mode: 'session', path: spec.path ?? '/' }));
  for (const server of VISITORS)
    list.push({ id: `${server} (new visitor)`, server, mode: 'visitor', path: '/visit' });
  // The example's `/` reads `logged_in`.
  list.push({
    id: 'example-web-disk (new visitor)',
    server: 'example-web-disk',
    mode: 'visitor',
    path: '/',
  });
  // A sealed session read and not changed: nothing re-sealed while its access time is fresh.
  list.push({
    id: 'node-cookie (read-only)',
    server: 'node-cookie',
    mode: 'session',
    path: '/visit',
    madeAt: '/',
  });
  for (const [server, path] of ROTATIONS)
    list.push({ id: `${server} (1,000 sessions)`, server, mode: 'rotation', path });
  if (!opts.only) return list;
  const parts = opts.only.split(',');
  return list.filter((r) => parts.some((p) => r.id.includes(p)) || isReference(r.id));
}
