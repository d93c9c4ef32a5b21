// The targets measured at once: each target's servers loaded simultaneously (all pinned to
// CPU 0, each with its own load generator on CPU 1), in short rounds. A busy host moves every
// server of a round alike, so a target's ratio holds where rows measured in turn, seconds apart,
// differ by more than the change being measured.
import type { Load } from './loadgen.js';
import { PAIRED_DURATION, PAIRED_ROUNDS } from './options.js';
import { freshCookie, type Measured, together } from './rounds.js';
import { LIMIT } from './servers/index.js';
import { fmt, p } from './stats.js';
import { TARGETS, type Target } from './targets.js';

/** Servers measured at once, and their loads: `rounds[r][i]` is `rows[i]`'s in round `r`. */
export interface Group {
  rows: Measured[];
  rounds: Load[][];
}

/** The rows a target compares: `a` and `b`; for an added-CPU target, `a`, its bare framework, the limit and bare node:http. */
function rowsOf(t: Target, byId: (id: string) => Measured | undefined): Measured[] | undefined {
  const a = byId(t.a);
  if (!a) return undefined;
  const ids = t.kind === 'ratio' ? [t.b] : [`bare-${a.child.spec.framework}`, LIMIT, 'bare-node'];
  const rows = [a];
  for (const id of ids) {
    const m = byId(id);
    if (!m) return undefined;
    if (!rows.includes(m)) rows.push(m);
  }
  return rows;
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
    const group = groups.get(key) ?? { rows, rounds: [] };
    groups.set(key, group);
    ofTarget.set(t, group);
  }
  const list = [...groups.values()];
  console.error(
    `${list.length} groups measured at once, ${PAIRED_ROUNDS} rounds of ${PAIRED_DURATION} s`,
  );
  for (let round = 0; round < PAIRED_ROUNDS; round++) {
    const shift = Math.round((round * list.length) / PAIRED_ROUNDS);
    for (const group of [...list.slice(shift), ...list.slice(0, shift)]) {
      for (const m of group.rows) await freshCookie(m);
      const loads = await together(group.rows, PAIRED_DURATION);
      group.rounds.push(loads);
      console.error(
        `at once ${round + 1}/${PAIRED_ROUNDS} ${group.rows
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
