#!/usr/bin/env node
// Fails when an import goes against the layering (part of `npm run lint`):
//
//   src/      errors.ts, validators.ts  <  addon/  <  tty/  <  stream/
//             <  kqueuer/  <  process/  <  harness/; index.ts above all
//             but harness/ (its own entry point). A module imports from its
//             own layer and those below it, never from one above. server/
//             (its own entry point) sits on process/, beside harness/ and
//             never importing it; cli/, the command, on server/.
//   src/      no circular imports between files, `import type` included.
//   examples/ only the package's public entry points (`kqueue-console`,
//             `kqueue-console/harness`) and each other: never src/ or dist/.
//   native/   core/ and kevent/ include no Node-API header; kevent/ includes
//             nothing of core/ or addon/, core/ nothing of addon/.
//
// Each src/ folder's README.md says what the layer owns and may import.
//
//   node scripts/check-layers.mjs [--root DIR]
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const argRoot = process.argv.indexOf('--root');
const root = argRoot > 0 ? path.resolve(process.argv[argRoot + 1]) : path.dirname(path.dirname(fileURLToPath(import.meta.url)));

/** The layers of src/, lowest first; each may import its own and those before it. */
const ORDER = ['base', 'addon', 'tty', 'stream', 'kqueuer', 'process', 'harness'];
const MAY_IMPORT = Object.fromEntries(ORDER.map((layer, i) => [layer, new Set(ORDER.slice(0, i + 1))]));
MAY_IMPORT.index = new Set(ORDER.filter((layer) => layer !== 'harness'));
MAY_IMPORT.server = new Set([...MAY_IMPORT.index, 'server']);
MAY_IMPORT.cli = new Set([...MAY_IMPORT.server, 'cli']);

/** What native/<dir>/ may not include: Node-API headers, and the tiers above it. */
const NATIVE_FORBIDDEN = {
  kevent: [/^<(napi|node_api|node_api_types|js_native_api)\.h>$/, /^"\.\.\/(core|addon)\//],
  core: [/^<(napi|node_api|node_api_types|js_native_api)\.h>$/, /^"\.\.\/addon\//],
};

const problems = [];
const rel = (file) => path.relative(root, file);

function walk(dir, test) {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true })
    .map((name) => path.join(dir, name))
    .filter((file) => test(file) && fs.statSync(file).isFile())
    .sort();
}

/** The module specifiers a file imports, `import type`, re-exports and `import()` included. */
function importsOf(file) {
  const info = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true);
  return info.importedFiles.map((f) => f.fileName);
}

/** The file a relative specifier names, or null. */
function resolve(from, spec) {
  const base = path.resolve(path.dirname(from), spec.replace(/\.js$/, ''));
  for (const candidate of [`${base}.ts`, path.join(base, 'index.ts')]) if (fs.existsSync(candidate)) return candidate;
  return null;
}

function layerOf(file) {
  const parts = path.relative(path.join(root, 'src'), file).split(path.sep);
  if (parts.length > 1) return parts[0];
  return parts[0] === 'index.ts' ? 'index' : 'base';
}

function checkSrc() {
  const files = walk(path.join(root, 'src'), (f) => f.endsWith('.ts'));
  const graph = new Map();
  for (const file of files) {
    const layer = layerOf(file);
    if (MAY_IMPORT[layer] === undefined) {
      problems.push(`${rel(file)}: src/${layer}/ is no layer (${ORDER.slice(1).join(', ')})`);
      continue;
    }
    const edges = [];
    for (const spec of importsOf(file).filter((s) => s.startsWith('.'))) {
      const target = resolve(file, spec);
      if (target === null) continue; // tsc reports it.
      edges.push(target);
      const to = layerOf(target);
      if (!MAY_IMPORT[layer].has(to)) {
        problems.push(`${rel(file)}: imports '${spec}': ${layer} may not import ${to} (layers, lowest first: ${ORDER.join(' < ')})`);
      }
    }
    graph.set(file, edges);
  }
  for (const cycle of cycles(graph)) problems.push(`circular imports: ${cycle.map(rel).join(' -> ')} -> ${rel(cycle[0])}`);
}

/** Every strongly connected component of more than one file (or a file importing itself), Tarjan's way. */
function cycles(graph) {
  const index = new Map();
  const low = new Map();
  const stack = [];
  const on = new Set();
  const found = [];
  let next = 0;
  const visit = (v) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
    }
    if (low.get(v) !== index.get(v)) return;
    const component = [];
    let w;
    do {
      w = stack.pop();
      on.delete(w);
      component.unshift(w);
    } while (w !== v);
    if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component);
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

function checkExamples() {
  const dir = path.join(root, 'examples');
  for (const file of walk(dir, (f) => /\.(ts|js|mjs|cjs)$/.test(f))) {
    for (const spec of importsOf(file).filter((s) => s.startsWith('.'))) {
      const target = path.resolve(path.dirname(file), spec);
      if (path.relative(dir, target).startsWith('..')) {
        problems.push(
          `${rel(file)}: imports '${spec}': examples use the package's entry points ('kqueue-console', 'kqueue-console/harness'), as their readers do`,
        );
      }
    }
  }
}

function checkNative() {
  for (const [dir, forbidden] of Object.entries(NATIVE_FORBIDDEN)) {
    for (const file of walk(path.join(root, 'native', dir), (f) => /\.(cc|h)$/.test(f))) {
      const lines = fs.readFileSync(file, 'utf8').split('\n');
      lines.forEach((line, i) => {
        const m = /^\s*#\s*include\s+([<"][^>"]+[>"])/.exec(line);
        if (m !== null && forbidden.some((re) => re.test(m[1]))) {
          problems.push(`${rel(file)}:${i + 1}: includes ${m[1]}: native/${dir}/ is below the Node-API glue (native/addon/)`);
        }
      });
    }
  }
}

checkSrc();
checkExamples();
checkNative();
for (const p of problems) console.error(p);
if (problems.length > 0) process.exit(1);
console.log('check-layers: every import in src/, examples/ and native/ follows the layering, with no cycle');
