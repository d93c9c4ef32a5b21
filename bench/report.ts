// The report of a side-by-side run: the targets table (met or missed), then the tables of every
// row, how to read them, and what went wrong.
import type { Load } from './loadgen.js';
import { DURATION, PAIRED_DURATION, PAIRED_ROUNDS, ROUNDS, START_LOAD, WARMUP } from './options.js';
import type { Group } from './paired.js';
import type { Measured } from './rounds.js';
import { ROTATION } from './rows.js';
import { LIMIT, type Service } from './servers/index.js';
import { f2, fmt, median, p } from './stats.js';
import { TARGETS, type Target } from './targets.js';

/** What a run prints and writes: its targets first, then its tables. */
export interface Report {
  summary: string;
  tables: string;
}

const cpu = (m: Measured) => median(m.rounds.map((r) => r.cpu ?? Number.NaN));
const rps = (m: Measured) => median(m.rounds.map((r) => r.rps));
const p99 = (m: Measured) => median(m.rounds.map((r) => r.p99));

/** The rows of one run, with the ratios every table and target is made of. */
class Run {
  readonly #measured: Measured[];
  constructor(measured: Measured[]) {
    this.#measured = measured;
  }
  row(id: string): Measured | undefined {
    return this.#measured.find((m) => m.row.id === id);
  }
  bareOf(m: Measured): Measured | undefined {
    return this.row(`bare-${m.child.spec.framework}`);
  }
  /** Median of the per-round req/s ratios of `a` to `b` (both measured in each round). */
  ratio(a: Measured, b: Measured | undefined): number {
    return b
      ? median(a.rounds.map((r, i) => r.rps / (b.rounds[i]?.rps ?? Number.NaN)))
      : Number.NaN;
  }
  /** CPU µs per request `m` adds over its bare framework. */
  added(m: Measured): number {
    const bare = this.bareOf(m);
    return bare && m !== bare ? cpu(m) - cpu(bare) : Number.NaN;
  }
  /** {@link added} of `m` as a multiple of the limit row's. */
  againstLimit(m: Measured): number {
    const limit = this.row(LIMIT);
    return limit ? this.added(m) / this.added(limit) : Number.NaN;
  }
}

const plus = (n: number) => (Number.isFinite(n) ? `+${n.toFixed(1)}` : '–');

/** The median over a group's rounds of `f` of each round's loads. */
const perRound = (g: Group, f: (loads: Load[]) => number) => median(g.rounds.map(f));
const cpuOf = (l: Load | undefined) => l?.cpu ?? Number.NaN;

function targetLine(
  run: Run,
  t: Target,
  group: Group | undefined,
): { line: string; met?: boolean } {
  const required =
    t.kind === 'ratio' ? `${t.need}×${t.p99 ? ', p99 ≤ theirs' : ''}` : `≤ ${t.most}× the limit's`;
  if (!group)
    return {
      line: `| ${t.name} | – | – | – | – | – | – | – | – | – | – | ${required} | not measured (skipped) |`,
    };
  const index = (id: string) => group.rows.findIndex((m) => m.row.id === id);
  const a = index(t.a);
  const b = index(t.kind === 'ratio' ? t.b : LIMIT);
  const r = perRound(group, (l) => l[a]!.rps / l[b]!.rps);
  const byCpu = perRound(group, (l) => cpuOf(l[b]) / cpuOf(l[a]));
  let vsLimit: number;
  let ourBare: number;
  let limitCell: string;
  if (t.kind === 'added') {
    const bare = index(`bare-${group.rows[a]!.child.spec.framework}`);
    const limit = b;
    const bareNode = index('bare-node');
    const ours = (l: Load[]) => cpuOf(l[a]) - cpuOf(l[bare]);
    const limits = (l: Load[]) => cpuOf(l[limit]) - cpuOf(l[bareNode]);
    vsLimit = perRound(group, (l) => ours(l) / limits(l));
    ourBare = perRound(group, (l) => l[a]!.rps / l[bare]!.rps);
    limitCell = `${f2(vsLimit)}× (${plus(perRound(group, ours))} vs ${plus(perRound(group, limits))} µs)`;
  } else {
    // Stated against another row: its place against bare and the limit from the rows in turn.
    const m = group.rows[a]!;
    vsLimit = run.againstLimit(m);
    ourBare = run.ratio(m, run.bareOf(m));
    const limit = run.row(LIMIT);
    limitCell = `${f2(vsLimit)}× (${plus(run.added(m))} vs ${plus(limit ? run.added(limit) : Number.NaN)} µs)¹`;
  }
  const p99a = perRound(group, (l) => l[a]!.p99);
  const p99b = perRound(group, (l) => l[b]!.p99);
  let verdict: string;
  if (t.kind === 'added')
    verdict =
      vsLimit <= t.most
        ? 'met'
        : Number.isFinite(vsLimit)
          ? `**missed: ${Math.round((vsLimit / t.most - 1) * 100)} % over**`
          : '**missed: not measured**';
  else {
    const p99ok = !t.p99 || p99a <= p99b;
    verdict =
      r >= t.need && p99ok
        ? 'met'
        : r < t.need
          ? `**missed by ${Math.round((1 - r / t.need) * 100)} %**`
          : '**missed: p99 above theirs**';
  }
  const side = (i: number) =>
    `${fmt(perRound(group, (l) => l[i]!.rps))} | ${p(perRound(group, (l) => l[i]!.p99))} | ${fmt(perRound(group, (l) => cpuOf(l[i])))}`;
  const line = `| ${t.name} | ${side(a)} | ${side(b)} | ${f2(r)}× | ${f2(byCpu)}× | ${f2(ourBare)}×${t.kind === 'ratio' ? '¹' : ''} | ${limitCell} | ${required} | ${verdict} |`;
  return { line, met: verdict === 'met' };
}

export function report(
  measured: Measured[],
  paired: Map<Target, Group>,
  skip: Map<Service, string>,
): Report {
  const run = new Run(measured);
  const bareNode = run.row('bare-node');
  const summary = [
    `Each target is judged on its servers measured back to back: both sides (for the targets against the limit, one group per framework: its rows, the framework bare, the limit and bare node:http) each get 1 s of untimed load, then run one after the other, then again in reverse order (A B B A), each alone on CPU 0 with the load generator on CPU 1, ${PAIRED_ROUNDS} round${PAIRED_ROUNDS === 1 ? '' : 's'} of ${PAIRED_DURATION} s runs (${DURATION} s for a target judged on p99 as well: a tail that stalls now and then is mostly missed by a 1-s run); a server's cell in a round is the mean of its two runs, each cell the median over the rounds and each ratio the median of the per-round ratios. A host whose speed drifts moves both sides of a round alike.`,
    '',
    '| target | ours req/s | p99 ms | CPU µs/req | theirs req/s | p99 ms | CPU µs/req | ratio | by CPU | ours × its bare | CPU added vs the limit | required | |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |',
  ];
  let missed = 0;
  for (const t of TARGETS) {
    const { line, met } = targetLine(run, t, paired.get(t));
    if (met === false) missed++;
    summary.push(line);
  }
  summary.push(
    '',
    '¹ From the rows measured one at a time (the tables below), for targets stated against another row.',
  );
  console.error(`${missed} target(s) missed`);

  const lines = [
    `${ROUNDS} interleaved rounds of ${DURATION} s per row (warm-up: ${START_LOAD > 0 ? `${START_LOAD} s of load on each server as soon as it has started, one at a time, as a user's server takes load from the start (a V8 process left idle before its first load settles up to 40 % slower for good), ` : ''}${WARMUP > 0 ? `${WARMUP} s of load before the first round, ` : ''}100 requests before each later measurement); req/s is the median of the rounds, p99 the median of the rounds' p99, ratios the median of the per-round ratios. Every server answers the same handler: read \`count\` from the session, add one, store it, answer the number (the example rows: their \`/count\`).`,
    '',
    '| | server | req/s | p99 ms | CPU µs/req | × node:http | × same framework, no session | CPU µs added over it | req/s per round |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const m of measured.filter((x) => x.row.mode === 'session')) {
    const bare = run.bareOf(m);
    const own = m.child.spec.kind === 'ceiling' || !bare;
    lines.push(
      `| ${m.child.spec.kind} | ${m.child.spec.label}${m.row.madeAt ? `, read-only (\`${m.row.path}\`)` : ''} | ${fmt(rps(m))} | ${p(p99(m))} | ${fmt(cpu(m))} | ${f2(run.ratio(m, bareNode))} | ${own ? '' : f2(run.ratio(m, bare))} | ${own ? '' : plus(run.added(m))} | ${m.rounds.map((r) => fmt(r.rps)).join(' / ')} |`,
    );
  }
  const visitors = measured.filter((x) => x.row.mode === 'visitor');
  if (visitors.length > 0) {
    lines.push(
      '',
      `New visitor: no cookie on any request (\`GET /visit\` reads \`count\` and stores nothing; the web.py example's \`GET /\` reads \`logged_in\`); records left is what the store holds after the start-up load and ${ROUNDS} rounds.`,
      '',
      '| server | path | req/s | p99 ms | CPU µs/req | × node:http | records left |',
      '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
    );
    for (const m of visitors)
      lines.push(
        `| ${m.child.spec.label} | \`${m.row.path}\` | ${fmt(rps(m))} | ${p(p99(m))} | ${fmt(cpu(m))} | ${f2(run.ratio(m, bareNode))} | ${fmt(m.records ?? Number.NaN)} |`,
      );
  }
  const rotation = measured.filter((x) => x.row.mode === 'rotation');
  if (rotation.length > 0) {
    lines.push(
      '',
      `${ROTATION.toLocaleString('en-US')} sessions in rotation: each request carries the cookie of the next of ${ROTATION.toLocaleString('en-US')} sessions made before the run (a wrk script), so no two requests in flight share a session.`,
      '',
      '| server | path | req/s | p99 ms | CPU µs/req | × node:http |',
      '| --- | --- | ---: | ---: | ---: | ---: |',
    );
    for (const m of rotation)
      lines.push(
        `| ${m.child.spec.label} | \`${m.row.path}\` | ${fmt(rps(m))} | ${p(p99(m))} | ${fmt(cpu(m))} | ${f2(run.ratio(m, bareNode))} |`,
      );
  }
  lines.push(
    '',
    '### How to read it',
    '',
    '- In the targets table, "ratio" is the req/s ratio of the two sides measured back to back (median of the per-round ratios); "by CPU" is the same ratio computed from the server processes\' own CPU µs per request (the database servers\' work is left out).',
    '- The tables below measure every row in each round, one after the other: a round of all rows takes minutes, and rows measured minutes apart on a busy host can differ by more than a change being measured; that is why the targets are judged on their own rounds, back to back.',
    "- CPU µs/req is the server process's user + system time over the requests it served (/proc): much less sensitive than req/s to other jobs on the machine.",
    '- "LIMIT" is the smallest correct session, written by hand on node:http with no session library: the signed cookie checked (its form, then its HMAC compared in constant time), the store key (SHA-256 of the id) and the expected HMAC cached per id, a Map lookup, the idle timeout checked, JSON decode and encode of the record, a Map set, and the headers ours sends (`Set-Cookie` and `Cache-Control` on a new session, `Vary: Cookie` always).',
    '- "CPU added vs the limit" (every target shows it): the CPU µs per request the row adds over its bare framework (the row minus the same framework with no session, medians of the same run) divided by what the LIMIT row adds over bare node:http; in brackets, both µs. "ours × its bare" is the req/s ratio to the same framework with no session.',
    '- The minimal rows are a few lines of websession per framework (`session.count = n`, or `await session.update(…)`, or the same with websession/metrics listening); the example rows are the code `npm run example -- <framework> --store memory:` serves (examples/frameworks/), `/count` (`update()`, metrics served at `/metrics`), with the session config of every other row (signed cookies, no cleanup timer) where the runner passes none.',
    '- A busy machine pushes every ratio toward 1: trust the quietest run.',
    "- The rows of 1,000 sessions in rotation save on every request, so the file system the stores' files are on (named above) weighs as much as the code: a rename over an existing file costs what the file system does for the file it replaces. `node --import tsx bench/fsops.ts` shows it next to a rename that replaces nothing (`--dir` picks the folder).",
    '- "node:http + one AES-256-GCM seal and the same headers" is the least any session sealed in the cookie costs on `/count`, with no session library: one seal with node:crypto and the response headers a sealed session sends (Set-Cookie, Cache-Control, Vary). Its × node:http is the ceiling of the CookieStore row.',
  );
  const problems: string[] = [];
  for (const m of measured) {
    const errors = m.rounds.reduce((a, r) => a + r.errors, 0);
    if (errors > 0) problems.push(`${m.row.id}: ${errors} failed or non-2xx responses`);
    if (m.kept !== undefined && !(m.kept > 10))
      problems.push(`${m.row.id}: the session counter is ${m.kept}: the session was not kept`);
    if (m.row.mode === 'visitor' && m.child.spec.kind === 'ours' && m.records !== 0)
      problems.push(`${m.row.id}: ${m.records} records left behind (expected none)`);
  }
  if (skip.size > 0) lines.push('', ...[...skip.values()].map((s) => `Skipped: ${s}.`));
  if (problems.length > 0) {
    lines.push('', ...problems.map((s) => `Problem: ${s}.`));
    process.exitCode = 1;
  }
  return { summary: summary.join('\n'), tables: lines.join('\n') };
}
