#!/usr/bin/env node
// The package's shape, measured against the dist/ of the tree this script sits in (build it first:
// `npx tsc -p tsconfig.build.json`). A benchmark, not a test: it reports, it asserts nothing.
//
//  - every door in package.json "exports": import time and RSS in fresh child processes (median
//    of --runs), its export count, whether require() of it works, and which packages it loads
//    (the heavy ones named: the job queue's bullmq/ioredis/msgpackr and the plotting stack's
//    vega/d3), native extensions (.node files) included;
//  - the addon's native entry points (exported functions plus the methods of its classes), read
//    from the loaded addon;
//  - the five largest source files under lib/ and native/, by lines;
//  - the import circles among dist/lib's modules (static imports only: a dynamic import() does
//    not run at load time, and tsc has already dropped type-only imports);
//  - the published types' documentation, as an editor shows it on hover: the public exports
//    without TSDoc and the fields of the exported `...Options` types without TSDoc.
//
//   node bench/architecture.mjs [--runs N] [--label before|after] [--out FILE]
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opt } = parseArgs({
  options: {
    runs: { type: 'string', default: '7' },
    label: { type: 'string', default: 'current' },
    out: { type: 'string' },
  },
});
const runs = Number(opt.runs);
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
if (!existsSync(join(root, 'dist/lib/index.js'))) {
  console.error('bench/architecture: dist/ is missing; run `npx tsc -p tsconfig.build.json` first');
  process.exit(1);
}

// Packages that make a door heavy: the job queue's and the plotting stack's.
const HEAVY = /^(bullmq|ioredis|msgpackr|msgpackr-extract|@msgpackr-extract\/.*|vega|vega-.*|d3-.*|canvas)$/;

/** Each door of package.json "exports" (conditions resolved to "default"), as key -> file. */
function doors() {
  const out = [];
  const exp = typeof pkg.exports === 'string' ? { '.': pkg.exports } : (pkg.exports ?? { '.': pkg.main });
  for (const [key, target] of Object.entries(exp)) {
    if (key === './package.json') continue;
    const file = typeof target === 'string' ? target : (target.import ?? target.default ?? target.require);
    if (typeof file === 'string' && file.endsWith('.js')) out.push({ door: key, file: resolve(root, file) });
  }
  return out;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function child(args, env = {}) {
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', env: { ...process.env, ...env }, cwd: root });
  if (r.status !== 0) throw new Error(`child failed (${r.status}): ${r.stderr.slice(-2000)}`);
  const line = r.stdout.trim().split('\n').at(-1);
  return JSON.parse(line);
}

// Timed import: the clock starts in the child just before import(), so node's own start-up is
// excluded; RSS is read right after (the baseline row is the same child importing nothing).
const TIMED = `
const t0 = performance.now();
if (process.env.BENCH_URL) await import(process.env.BENCH_URL);
const ms = performance.now() - t0;
console.log(JSON.stringify({ ms, rssMb: process.memoryUsage().rss / 2 ** 20 }));`;

// The module graph: an ESM resolve hook appends every URL it resolves to a file (hooks run off
// the main thread in Node 20, so a file is the simplest channel back); CommonJS modules, the .node
// files among them, are read from the CommonJS cache once the import has settled.
const HOOK = `
import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  appendFileSync(process.env.BENCH_LOG, r.url + '\\n');
  return r;
}`;
const GRAPH = `
import { register, createRequire } from 'node:module';
register(process.env.BENCH_HOOK);
const mod = await import(process.env.BENCH_URL);
const require = createRequire(import.meta.url);
const cjs = Object.keys(require('node:module')._cache);
console.log(JSON.stringify({ exports: Object.keys(mod).length, cjs }));`;

const REQUIRE = `
try { const m = require(process.env.BENCH_FILE); console.log(JSON.stringify({ ok: true, exports: Object.keys(m).length })); }
catch (e) { console.log(JSON.stringify({ ok: false, code: e.code ?? e.name, message: String(e.message).split('\\n')[0] })); }`;

function packageOf(path) {
  const i = path.lastIndexOf('node_modules/');
  if (i < 0) return undefined;
  const rest = path.slice(i + 'node_modules/'.length).split('/');
  return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
}

function measureDoor({ door, file }, work, baseline) {
  const url = pathToFileURL(file).href;
  const samples = [];
  for (let i = 0; i < runs; i++) samples.push(child(['--input-type=module', '-e', TIMED], { BENCH_URL: url }));
  const log = join(work, `graph-${samples.length}-${Math.random().toString(36).slice(2)}.log`);
  writeFileSync(log, '');
  const hook = join(work, 'hook.mjs');
  const g = child(['--no-warnings', '--input-type=module', '-e', GRAPH], {
    BENCH_URL: url,
    BENCH_HOOK: pathToFileURL(hook).href,
    BENCH_LOG: log,
  });
  const esm = readFileSync(log, 'utf8')
    .split('\n')
    .filter((u) => u.startsWith('file:'))
    .map((u) => fileURLToPath(u));
  const files = [...new Set([...esm, ...g.cjs])];
  const packages = [...new Set(files.map(packageOf).filter(Boolean))].sort();
  const ownModules = files.filter((f) => f.startsWith(join(root, 'dist')) && f.endsWith('.js')).length;
  const req = child(['--no-warnings', '-e', REQUIRE], { BENCH_FILE: file });
  return {
    door,
    file: relative(root, file),
    importMs: +median(samples.map((s) => s.ms)).toFixed(1),
    rssMb: +median(samples.map((s) => s.rssMb)).toFixed(1),
    rssDeltaMb: +(median(samples.map((s) => s.rssMb)) - baseline.rssMb).toFixed(1),
    exports: g.exports,
    ownModules,
    packages: packages.length,
    heavy: packages.filter((p) => HEAVY.test(p)),
    d3vegaPackages: packages.filter((p) => /^(vega|d3)/.test(p)).length,
    nativeExtensions: files.filter((f) => f.endsWith('.node')).map((f) => f.slice(f.lastIndexOf('node_modules/') + 13)),
    require: req,
  };
}

/** Exported functions of the addon plus the methods (instance and static) of its classes. */
function nativeEntryPoints() {
  const url = pathToFileURL(join(root, 'dist/lib/native/binding.js')).href;
  const script = `
const { native } = await import(${JSON.stringify(url)});
const b = native();
const functions = [], classes = {};
for (const [k, v] of Object.entries(b)) {
  if (typeof v !== 'function') continue;
  const proto = Object.getOwnPropertyNames(v.prototype ?? {}).filter((m) => m !== 'constructor');
  const statics = Object.getOwnPropertyNames(v).filter((m) => !['length', 'name', 'prototype'].includes(m) && typeof v[m] === 'function');
  if (proto.length || statics.length) classes[k] = { methods: proto.length, statics: statics.length };
  else functions.push(k);
}
const methods = Object.values(classes).reduce((n, c) => n + c.methods + c.statics, 0);
console.log(JSON.stringify({ total: functions.length + methods, functions: functions.length, classes, addonKeys: Object.keys(b).length }));`;
  try {
    return child(['--no-warnings', '--input-type=module', '-e', script]);
  } catch (err) {
    return { error: String(err.message).split('\n')[0] };
  }
}

function walk(dir, keep, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, keep, out);
    else if (keep(p)) out.push(p);
  }
  return out;
}

function largestSources(n = 5) {
  const files = [
    ...walk(join(root, 'lib'), (p) => p.endsWith('.ts')),
    ...(existsSync(join(root, 'native')) ? walk(join(root, 'native'), (p) => /\.(cc|cpp|h|hpp)$/.test(p)) : []),
  ];
  return files
    .map((f) => ({ file: relative(root, f), lines: readFileSync(f, 'utf8').split('\n').length }))
    .sort((a, b) => b.lines - a.lines)
    .slice(0, n);
}

/** Strongly connected components of dist/lib's static relative imports (Tarjan), one cycle each. */
function importCircles() {
  const base = join(root, 'dist/lib');
  const files = walk(base, (p) => p.endsWith('.js'));
  const edges = new Map();
  const STATIC = /(?:^|[\n;])\s*(?:import|export)\s*(?:[^'"`;]*?\sfrom\s*)?['"](\.{1,2}\/[^'"]+)['"]/g;
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    const to = new Set();
    for (const m of text.matchAll(STATIC)) {
      const target = resolve(dirname(f), m[1]);
      if (existsSync(target)) to.add(target);
    }
    edges.set(f, [...to]);
  }
  let index = 0;
  const idx = new Map(),
    low = new Map(),
    stack = [],
    on = new Set(),
    sccs = [];
  const strong = (v) => {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    on.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!idx.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const comp = [];
      let w;
      do {
        w = stack.pop();
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || (edges.get(v) ?? []).includes(v)) sccs.push(comp);
    }
  };
  for (const f of files) if (!idx.has(f)) strong(f);
  // One concrete circle per component: a shortest path back to its first member (BFS).
  const cycleOf = (comp) => {
    const inComp = new Set(comp);
    const start = [...comp].sort()[0];
    const prev = new Map([[start, null]]);
    const queue = [start];
    while (queue.length) {
      const v = queue.shift();
      for (const w of edges.get(v) ?? []) {
        if (!inComp.has(w)) continue;
        if (w === start) {
          const path = [start];
          for (let u = v; u !== start; u = prev.get(u)) path.splice(1, 0, u);
          return [...path, start];
        }
        if (!prev.has(w)) {
          prev.set(w, v);
          queue.push(w);
        }
      }
    }
    return [start];
  };
  const rel = (f) => relative(base, f).replace(/\.js$/, '.ts');
  return {
    modules: files.length,
    count: sccs.length,
    components: sccs.map((c) => ({ size: c.length, members: c.map(rel).sort(), cycle: cycleOf(c).map(rel) })),
  };
}

/** Exports and `...Options` fields of the doors' .d.ts files that have no TSDoc (what hover shows). */
async function typeDocs(doorList) {
  const { createRequire } = await import('node:module');
  const ts = createRequire(join(root, 'package.json'))('typescript');
  const files = doorList.map((d) => d.file.replace(/\.js$/, '.d.ts')).filter((f) => existsSync(f));
  const program = ts.createProgram(files, {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  const doc = (symbol) => ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim() !== '';
  const seen = new Set();
  const undocumentedExports = [];
  const undocumentedFields = [];
  let optionFields = 0;
  for (const file of files) {
    const mod = checker.getSymbolAtLocation(program.getSourceFile(file));
    for (const exported of mod ? checker.getExportsOfModule(mod) : []) {
      if (seen.has(exported.name)) continue;
      seen.add(exported.name);
      const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      if (!doc(symbol)) undocumentedExports.push(exported.name);
      if (!/Options$/.test(exported.name) || !(symbol.flags & (ts.SymbolFlags.Interface | ts.SymbolFlags.TypeAlias))) continue;
      for (const field of checker.getPropertiesOfType(checker.getDeclaredTypeOfSymbol(symbol))) {
        optionFields++;
        if (!doc(field)) undocumentedFields.push(`${exported.name}.${field.name}`);
      }
    }
  }
  return {
    publicNames: seen.size,
    undocumentedExports: undocumentedExports.length,
    optionFields,
    undocumentedOptionFields: undocumentedFields.length,
    exportsWithoutDoc: undocumentedExports.sort(),
    optionFieldsWithoutDoc: undocumentedFields.sort(),
  };
}

const work = mkdtempSync(join(tmpdir(), 'spottune-arch-'));
writeFileSync(join(work, 'hook.mjs'), HOOK);
try {
  const baseline = {
    importMs: +median(Array.from({ length: runs }, () => child(['--input-type=module', '-e', TIMED]).ms)).toFixed(1),
    rssMb: +median(Array.from({ length: runs }, () => child(['--input-type=module', '-e', TIMED]).rssMb)).toFixed(1),
  };
  const doorRows = doors().map((d) => measureDoor(d, work, baseline));
  const gitHead = (() => {
    try {
      return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
    } catch {
      return null;
    }
  })();
  const cpuModel = (() => {
    try {
      return execFileSync('lscpu', { encoding: 'utf8' })
        .match(/Model name:\s*(.+)/)?.[1]
        .trim();
    } catch {
      return cpus()[0]?.model;
    }
  })();
  const result = {
    bench: 'architecture',
    label: opt.label,
    date: new Date().toISOString(),
    git: gitHead,
    node: process.version,
    cpu: { model: cpuModel, cores: cpus().length, loadavg: loadavg().map((x) => +x.toFixed(2)) },
    runs,
    baseline,
    doors: doorRows,
    nativeEntryPoints: nativeEntryPoints(),
    largestSources: largestSources(),
    importCircles: importCircles(),
    typeDocs: await typeDocs(doors()),
  };
  const json = JSON.stringify(result, null, 2);
  if (opt.out) writeFileSync(resolve(opt.out), `${json}\n`);
  console.log(json);
  console.error(`\nbaseline (node, no import): RSS ${baseline.rssMb} MB`);
  console.error('door                    ms   RSS MB  exports  pkgs  heavy  require');
  const td = result.typeDocs;
  console.error(
    `types: ${td.publicNames} public names, ${td.undocumentedExports} without TSDoc; ${td.optionFields} option fields, ${td.undocumentedOptionFields} without TSDoc`,
  );
  for (const d of doorRows) {
    const req = d.require.ok ? 'ok' : d.require.code;
    console.error(
      `${d.door.padEnd(18)} ${String(d.importMs).padStart(7)} ${String(d.rssMb).padStart(8)} ${String(d.exports).padStart(8)} ${String(d.packages).padStart(5)} ${String(d.heavy.length).padStart(6)}  ${req}`,
    );
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
