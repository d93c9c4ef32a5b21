#!/usr/bin/env node
// Fails (exit 1) when the modules under src/ import each other in a cycle, type-only imports
// included, or when an import goes against the layers: core ← stores ← adapters / web ← entry
// points (index, metrics) ← cli. Imports are resolved by the TypeScript compiler with the
// project's tsconfig.json, so `./x.js` finds `./x.ts` as tsc does. Part of `npm run lint`.
// The imports let through for now are listed below, each with why; one that no longer applies
// fails the check too, so that the list only shrinks.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SRC = path.join(ROOT, 'src');

/** The layer of each module, by where it lives (the first prefix that matches wins). */
const LAYERS = [
  ['src/core/', 'core'],
  ['src/stores/', 'stores'],
  ['src/adapters/', 'adapters'],
  ['src/web/', 'web'],
  ['src/index.ts', 'entry'],
  ['src/metrics.ts', 'entry'],
  ['src/cli.ts', 'cli'],
  ['src/cli/', 'cli'],
];

/** The layers each layer may import from, besides its own. Adapters and web are siblings. */
const MAY_IMPORT = {
  core: [],
  stores: ['core'],
  adapters: ['core', 'stores'],
  web: ['core', 'stores'],
  entry: ['core', 'stores', 'adapters', 'web'],
  cli: ['core', 'stores', 'adapters', 'web', 'entry'],
};

/**
 * Imports let through against the layer rule for now, each with why (`from` and `to` are path
 * prefixes). Delete an entry once its reason is gone: the check holds the line from then on.
 */
const LAYER_EXCEPTIONS = [];

/** Imports left out of the cycle search for now, each with why (exact files). Delete as above. */
const CYCLE_EXCEPTIONS = [];

const rel = (file) => path.relative(ROOT, file).split(path.sep).join('/');

function layerOf(file) {
  const name = rel(file);
  for (const [prefix, layer] of LAYERS) if (name.startsWith(prefix)) return layer;
  return undefined;
}

function compilerOptions() {
  const configPath = path.join(ROOT, 'tsconfig.json');
  const { config, error } = ts.readConfigFile(configPath, ts.sys.readFile);
  if (error) throw new Error(ts.flattenDiagnosticMessageText(error.messageText, '\n'));
  return ts.parseJsonConfigFileContent(config, ts.sys, ROOT, undefined, configPath).options;
}

/**
 * Every module under src/ and the src/ modules it imports: static, dynamic, `import type` and
 * `export … from` alike.
 */
function importGraph() {
  const options = compilerOptions();
  const files = readdirSync(SRC, { recursive: true })
    .map((f) => path.join(SRC, String(f)))
    .filter((f) => /\.[cm]?tsx?$/.test(f) && !f.endsWith('.d.ts'))
    .sort();
  const graph = new Map();
  for (const file of files) {
    const { importedFiles } = ts.preProcessFile(ts.sys.readFile(file) ?? '', true, true);
    const targets = new Set();
    for (const { fileName } of importedFiles) {
      const resolved = ts.resolveModuleName(fileName, file, options, ts.sys).resolvedModule;
      const target = resolved && path.resolve(resolved.resolvedFileName);
      if (target?.startsWith(SRC + path.sep) && !resolved.isExternalLibraryImport) {
        targets.add(target);
      }
    }
    graph.set(file, [...targets].sort());
  }
  return graph;
}

/** The strongly connected components (Tarjan) of several modules, or of one importing itself. */
function cycles(graph) {
  let next = 0;
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const found = [];
  const visit = (v) => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
    }
    if (low.get(v) !== index.get(v)) return;
    const component = [];
    let w;
    do {
      w = stack.pop();
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || graph.get(v)?.includes(v)) found.push(component);
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

/** A shortest cycle through the component's first module, as a path `a → b → a` (breadth-first). */
function describeCycle(graph, component) {
  const members = new Set(component);
  const start = [...component].sort()[0];
  const previous = new Map([[start, undefined]]);
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift();
    for (const w of graph.get(v) ?? []) {
      if (!members.has(w)) continue;
      if (w === start) {
        const chain = [start];
        for (let u = v; u !== start; u = previous.get(u)) chain.push(u);
        return [...chain.slice(1).reverse(), start].reduce(
          (text, file) => `${text} → ${rel(file)}`,
          rel(start),
        );
      }
      if (!previous.has(w)) {
        previous.set(w, v);
        queue.push(w);
      }
    }
  }
  return component.map(rel).join(', ');
}

function layerViolations(graph) {
  const problems = [];
  const used = new Set();
  for (const [file, targets] of graph) {
    const from = layerOf(file);
    if (!from) {
      problems.push(`${rel(file)} is in no layer: add it to LAYERS in scripts/check-imports.mjs`);
      continue;
    }
    for (const target of targets) {
      const to = layerOf(target);
      if (!to || to === from || MAY_IMPORT[from].includes(to)) continue;
      const allowed = LAYER_EXCEPTIONS.find(
        (e) => rel(file).startsWith(e.from) && rel(target).startsWith(e.to),
      );
      if (allowed) used.add(allowed);
      else problems.push(`${rel(file)} (${from}) imports ${rel(target)} (${to})`);
    }
  }
  for (const e of LAYER_EXCEPTIONS) {
    if (!used.has(e))
      problems.push(`no import of ${e.to} from ${e.from} any more: remove its exception`);
  }
  return problems;
}

/** True when `to` imports `from`, directly or not: an import of `to` by `from` closes a cycle. */
function reaches(graph, to, from) {
  const seen = new Set([to]);
  const queue = [to];
  while (queue.length > 0) {
    for (const next of graph.get(queue.shift()) ?? []) {
      if (next === from) return true;
      if (!seen.has(next)) {
        seen.add(next);
        queue.push(next);
      }
    }
  }
  return false;
}

/** The cycle exceptions that no longer close a cycle: each should be removed from its list. */
function staleCycleExceptions(graph) {
  return CYCLE_EXCEPTIONS.filter((e) => {
    const [from, to] = [path.join(ROOT, e.from), path.join(ROOT, e.to)];
    return !graph.get(from)?.includes(to) || !reaches(graph, to, from);
  }).map((e) => `${e.from} → ${e.to} closes no import cycle any more: remove its exception`);
}

const graph = importGraph();
const withoutExceptions = new Map(
  [...graph].map(([file, targets]) => [
    file,
    targets.filter((t) => !CYCLE_EXCEPTIONS.some((e) => rel(file) === e.from && rel(t) === e.to)),
  ]),
);
const problems = [
  ...cycles(withoutExceptions).map((c) => {
    const members = c.length > 2 ? ` (${c.length} modules: ${c.map(rel).sort().join(', ')})` : '';
    return `import cycle: ${describeCycle(withoutExceptions, c)}${members}`;
  }),
  ...layerViolations(graph),
  ...staleCycleExceptions(graph),
];
for (const problem of problems) console.error(problem);
if (problems.length > 0) {
  console.error(`check-imports: ${problems.length} problem(s) in ${graph.size} modules under src/`);
  process.exit(1);
}
