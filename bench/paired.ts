// The targets measured back to back: each target's servers (both sides; for the targets against
// the limit, one group per framework: its rows, that framework bare, the limit and bare
// node:http) each get a second of untimed load, then run one after the other in short runs, then
// again in reverse order (A B B A), and each server's two runs are averaged. A host whose speed
// drifts over seconds moves both sides alike, so a target's ratio holds where rows measured
// minutes apart differ by more than the change being measured; and each server runs alone on its
// CPU, as a user runs it (servers run at once would share the CPU by threads, and thrash each
// other's caches).
import { type Load, load } from './loadgen.js';
import { DURATION, PAIRED_DURATION, PAIRED_ROUNDS } from './options.js';
import { freshCookie, type Measured, measureAlone, urlOf } from './rounds.js';
import { LIMIT } from './servers/index.js';
import { fmt, p } from './stats.js';
import { TARGETS, type Target } from './targets.js';

/**
 * Servers measured back to back, and their loads (each the mean of its two runs): `rounds[r][i]`
 * is `rows[i]`'s in round `r`.
 */
export interface Group {
  rows: Measured[];
  rounds: Load[][];
  /** Seconds per run: the rows' own length when a target of the group is judged on p99. */
  seconds: number;
}

/**
 * A target judged on p99 runs as long as the rows do: a peer's tail can be a stall of hundreds
 * of ms that comes now and then (web.py's), which a 1-s run mostly misses.
 */
const secondsOf = (t: Target) => (t.kind === 'ratio' && t.p99 ? DURATION : PAIRED_DURATION);

/**
 * The rows a target is measured with: `a` and `b`; for an added-CPU target, every added-CPU
 * target's row of the same framework, that framework bare, the limit and bare node:http (one
 * group per framework).
 */
function rowsOf(t: Target, byId: (id: string) => Measured | undefined): Measured[] | undefined {
  const a = byId(t.a);
  if (!a) return undefined;
  if (t.kind === 'ratio') {
    const b = byId(t.b);
    return b ? [a, b] : undefined;
  }
  const framework = a.child.spec.framework;
  const rows: Measured[] = [];
  for (const other of TARGETS) {
    const m = other.kind === 'added' ? byId(other.a) : undefined;
    if (m?.child.spec.framework === framework) rows.push(m);
  }
  for (const id of [`bare-${framework}`, LIMIT, 'bare-node']) {
    const m = byId(id);
    if (!m) return undefined;
    if (!rows.includes(m)) rows.push(m);
  }
  return rows;
}

/** One run of `m` alone, with the cookie a browser holds now. */
async function alone(m: Measured, seconds: number): Promise<Load> {
  await freshCookie(m);
  return measureAlone(m, seconds);
}

/** Two runs of one server as one: req/s and p99 their mean, CPU per request over both. */
function averaged(a: Load, b: Load): Load {
  const requests = a.requests + b.requests;
  return {
    rps: (a.rps + b.rps) / 2,
    p99: (a.p99 + b.p99) / 2,
    errors: a.errors + b.errors,
    requests,
    cpu: ((a.cpu ?? Number.NaN) * a.requests + (b.cpu ?? Number.NaN) * b.requests) / requests,
  };
}

/** Every target's group (targets comparing the same rows share one), measured over the rounds. */
export async function measurePaired(measured: Measured[]): Promise<Map<Target, Group>> {
  const byId = (id: string) => measured.find((m) => m.row.id === id);
  const groups = new Map<string, Group>();
  const ofTarget = new Map<Target, Group>();
  for (const t of TARGETS) {
    const rows = rowsOf(t, byId);
    if (!rows) continue;
    const key = rows.map((m) => m.row.id).join('\n');
    const group = groups.get(key) ?? { rows, rounds: [], seconds: PAIRED_DURATION };
    group.seconds = Math.max(group.seconds, secondsOf(t));
    groups.set(key, group);
    ofTarget.set(t, group);
  }
  const list = [...groups.values()];
  console.error(
    `${list.length} groups measured back to back, ${PAIRED_ROUNDS} rounds of ${PAIRED_DURATION} s runs (${DURATION} s for p99 targets)`,
  );
  for (let round = 0; round < PAIRED_ROUNDS; round++) {
    const shift = Math.round((round * list.length) / PAIRED_ROUNDS);
    for (const group of [...list.slice(shift), ...list.slice(0, shift)]) {
      // Untimed first: a server idle while the other groups ran comes back slow (its heap and
      // compiled code shrunk meanwhile), and the first of the group would pay for that most.
      for (const m of group.rows) await load(urlOf(m), 1, m.cookie);
      const forward: Load[] = [];
      for (const m of group.rows) forward.push(await alone(m, group.seconds));
      const backward: Load[] = [];
      for (const m of [...group.rows].reverse()) backward.unshift(await alone(m, group.seconds));
      const loads = forward.map((l, i) => averaged(l, backward[i]!));
      group.rounds.push(loads);
      console.error(
        `back to back ${round + 1}/${PAIRED_ROUNDS} ${group.rows
          .map(
            (m, i) =>
              `${m.row.id} ${fmt(loads[i]!.rps)} req/s p99 ${p(loads[i]!.p99)} ms ${fmt(loads[i]!.cpu ?? Number.NaN)} µs`,
          )
          .join(' | ')}`,
      );
    }
  }
  return ofTarget;
}
