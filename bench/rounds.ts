// The measurement: every row's server started up front and loaded at once, then rounds in which
// each row is measured once (interleaved, the order rotated each round), then what the servers
// kept.
import { type Child, sessionCookies, startServer } from './children.js';
import { burst, cpuSeconds, type Load, load, WRK } from './loadgen.js';
import { DURATION, ROUNDS, START_LOAD, WARMUP } from './options.js';
import { ROTATION, type Row } from './rows.js';
import { SERVERS, type Service } from './servers/index.js';
import { sessionCookie } from './session-cookies.js';
import { fmt, p } from './stats.js';

export interface Measured {
  row: Row;
  child: Child;
  cookie: string;
  rounds: Load[];
  /** Records the store holds after the new-visitor rows. */
  records?: number;
  /** The session's counter after the session rows. */
  kept?: number;
}

/**
 * Starts the servers of `list`, makes the sessions their rows carry and loads each one for
 * {@link START_LOAD} s (one server at a time when it does, so the loads do not overlap).
 */
export async function startAll(list: Row[], skip: Map<Service, string>): Promise<Measured[]> {
  const out: Measured[] = [];
  const pending = [...list];
  const workers = Array.from({ length: START_LOAD > 0 ? 1 : 3 }, async () => {
    for (let row = pending.shift(); row; row = pending.shift()) {
      const spec = SERVERS[row.server]!;
      if (spec.needs && skip.has(spec.needs)) continue;
      if (row.mode === 'rotation' && !WRK) {
        console.error(`# SKIP ${row.id}: the rotation rows need wrk`);
        continue;
      }
      const child = await startServer(row.server, row.mode);
      let cookie = '';
      if (row.mode === 'rotation')
        cookie = `@${await sessionCookies(child.url, row.path, row.id, ROTATION)}`;
      else if (row.mode === 'session' && spec.kind !== 'ceiling') {
        cookie = await sessionCookie(child.url, row.madeAt ?? row.path);
        if (!cookie) throw new Error(`${row.id}: the first request set no session cookie`);
      }
      const m: Measured = { row, child, cookie, rounds: [] };
      if (START_LOAD > 0) await load(urlOf(m), START_LOAD, cookie);
      out.push(m);
      console.error(`started ${row.id}`);
    }
  });
  await Promise.all(workers);
  return list.flatMap((row) => out.filter((m) => m.row === row));
}

/** The URL a row's load requests. */
export const urlOf = (m: Measured) => `${m.child.url}${m.row.path}`;

/** Load on `m` alone for `seconds`, with the server's CPU per request. */
export async function measureAlone(m: Measured, seconds: number): Promise<Load> {
  const cpu0 = cpuSeconds(m.child.pid);
  const result = await load(urlOf(m), seconds, m.cookie);
  result.cpu = ((cpuSeconds(m.child.pid) - cpu0) * 1e6) / result.requests;
  return result;
}

/**
 * Before a measurement of a sealed session: the cookie a browser holds now (the load sends one
 * value throughout, so a value from rounds ago would have its access time re-sealed on every
 * request).
 */
export async function freshCookie(m: Measured): Promise<void> {
  if (m.child.spec.store === 'cookie' && m.row.mode === 'session')
    m.cookie = (await sessionCookie(m.child.url, m.row.madeAt ?? m.row.path, m.cookie)) || m.cookie;
}

/** {@link ROUNDS} rounds over every row, one row at a time. */
export async function measure(measured: Measured[]): Promise<void> {
  for (let round = 0; round < ROUNDS; round++) {
    // Rotate the order each round, so no row always runs right after the same neighbour.
    const shift = Math.round((round * measured.length) / ROUNDS);
    const order = [...measured.slice(shift), ...measured.slice(0, shift)];
    for (const m of order) {
      await freshCookie(m);
      if (round === 0 && WARMUP > 0) await load(urlOf(m), WARMUP, m.cookie);
      else await burst(urlOf(m), m.cookie);
      const result = await measureAlone(m, DURATION);
      m.rounds[round] = result;
      console.error(
        `round ${round + 1}/${ROUNDS} ${m.row.id.padEnd(44)} ${fmt(result.rps).padStart(7)} req/s  p99 ${p(result.p99)} ms  ${fmt(result.cpu ?? Number.NaN)} µs CPU/req`,
      );
    }
  }
}

/** What each server kept (its store's records, its session's counter); stops the servers. */
export async function finishServers(measured: Measured[]): Promise<void> {
  try {
    for (const m of measured) {
      if (m.row.mode === 'visitor')
        m.records = (await m.child.request({ op: 'records' })).records as number;
      // The session in the cookie: the load sends one cookie over and over, each answer counts
      // from it (last response wins), so there is no server-side counter to check.
      else if (
        m.row.mode === 'session' &&
        m.child.spec.kind !== 'ceiling' &&
        m.child.spec.store !== 'cookie'
      ) {
        const res = await fetch(`${m.child.url}${m.row.path}`, { headers: { cookie: m.cookie } });
        m.kept = Number(await res.text());
      }
    }
  } finally {
    await Promise.all(measured.map((m) => m.child.stop()));
  }
}
