// lib/data has no import circle (cache.ts once imported preprocess-job.ts, which imported cache.ts
// for writeNpy). A circle makes a module's bindings undefined while the other one evaluates, and
// ties the worker script to the whole cache. The graph is read from the sources' static `from '...'`
// specifiers (type-only ones included: they still tie the files' designs together).
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

const lib = fileURLToPath(new URL('../../lib/', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [join(dir, e.name)] : [],
  );
}

/** Relative imports and re-exports of each file under lib/, as resolved .ts paths. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sources(lib)) {
    const text = readFileSync(file, 'utf8');
    const targets = [...text.matchAll(/\bfrom\s+'(\.{1,2}\/[^']+)'/g)].map((m) => resolve(dirname(file), m[1].replace(/\.js$/, '.ts')));
    graph.set(file, targets);
  }
  return graph;
}

/** Every elementary circle found by a depth-first search, as lib-relative paths. */
function circles(graph: Map<string, string[]>, within: (file: string) => boolean): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string) => {
    state.set(file, 'open');
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (!within(next)) continue;
      if (state.get(next) === 'open') found.push([...stack.slice(stack.indexOf(next)), next].map((f) => relative(lib, f)));
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (within(file) && !state.has(file)) visit(file);
  return found;
}

test('lib/data has no import circle', () => {
  const graph = importGraph();
  const data = join(lib, 'data');
  const inData = (f: string) => f.startsWith(data + '/');
  expect([...graph.keys()].filter(inData).length).toBeGreaterThan(10); // the scan saw the sources
  expect(circles(graph, inData)).toEqual([]);
});

test('the check finds a circle when there is one', () => {
  const graph = new Map([
    ['/x/a.ts', ['/x/b.ts']],
    ['/x/b.ts', ['/x/c.ts']],
    ['/x/c.ts', ['/x/a.ts']],
  ]);
  expect(circles(graph, () => true)).toHaveLength(1);
});
