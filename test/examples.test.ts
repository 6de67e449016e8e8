// The runnable programs of examples/ (they cannot rot): each one is compiled against dist/ by its
// package name, run in a child process, and its output checked; the README's TypeScript snippets
// are checked to be, word for word, the `#region readme` lines of one of them; and the TypeScript
// snippets of docs/*.md are type-checked against dist/ as a user would paste them.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, test } from 'vitest';

const root = fileURLToPath(new URL('../', import.meta.url));
const examples = readdirSync(join(root, 'examples'))
  .filter((f) => f.endsWith('.ts'))
  .sort();

/** The lines between `// #region readme` and `// #endregion readme`, each region dedented, all joined. */
function readmeRegion(source: string): string | null {
  const parts: string[][] = [];
  let current: string[] | null = null;
  for (const line of source.split('\n')) {
    if (line.trim() === '// #region readme') current = [];
    else if (line.trim() === '// #endregion readme') {
      if (current) parts.push(current);
      current = null;
    } else if (current) current.push(line);
  }
  if (parts.length === 0) return null;
  const dedent = (lines: string[]) => {
    const indent = Math.min(...lines.filter((l) => l.trim()).map((l) => l.length - l.trimStart().length));
    return lines.map((l) => l.slice(indent));
  };
  return parts.flatMap(dedent).join('\n').trim();
}

/** A Markdown file's ```ts blocks, trimmed, with the line each starts on. */
function tsBlocks(file: string): { line: number; code: string }[] {
  const text = readFileSync(join(root, file), 'utf8');
  return [...text.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => ({
    line: text.slice(0, m.index).split('\n').length,
    code: m[1].trim(),
  }));
}

function readmeSnippets(): string[] {
  return tsBlocks('README.md').map((b) => b.code);
}

function tsc(project: string) {
  return spawnSync(process.execPath, [join(root, 'node_modules/.bin/tsc'), '-p', project], {
    cwd: root,
    encoding: 'utf8',
    timeout: 280_000,
  });
}

function run(example: string, args: string[] = []): string {
  const child = spawnSync(process.execPath, [join(root, 'dist/examples', example.replace(/\.ts$/, '.js')), ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 280_000,
  });
  expect(child.stderr, `${example}'s stderr`).toBe('');
  expect(child.status, `${example} exits 0`).toBe(0);
  return child.stdout;
}

describe('the README and examples/', () => {
  test('each README TypeScript snippet is one example, and the README links it', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const regions = new Map(examples.map((f) => [f, readmeRegion(readFileSync(join(root, 'examples', f), 'utf8'))]));
    const snippets = readmeSnippets();
    expect(snippets.length).toBeGreaterThan(0);
    for (const snippet of snippets) {
      const owner = [...regions].find(([, region]) => region === snippet)?.[0];
      expect(owner, `a file of examples/ whose readme region is this README snippet:\n${snippet}`).toBeDefined();
      expect(readme).toContain(`(examples/${owner})`);
    }
    // and every example that declares a README region is in the README
    for (const region of regions.values()) if (region !== null) expect(snippets).toContain(region);
  });
});

describe('docs/*.md', () => {
  // Fragments, not programs: they use names the page has introduced in prose or an earlier block
  // (`cache`, `volume`, `controller`...). Those "cannot find name" errors are the only ones allowed;
  // a wrong import, a renamed option or a wrong argument type fails.
  const PLACEHOLDER_ERRORS = new Set(['TS2304', 'TS2552', 'TS18004']);

  test('every TypeScript snippet type-checks against dist/, but for the names it leaves to the reader', () => {
    expect(existsSync(join(root, 'dist/lib/index.d.ts')), 'dist/ is built (npx tsc -p tsconfig.build.json)').toBe(true);
    // Inside the package, so that 'spottune3d' resolves to it by its own name, as in examples/.
    const dir = join(root, 'dist/doc-snippets');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const docs = readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md'));
    let count = 0;
    for (const doc of docs) {
      for (const { line, code } of tsBlocks(join('docs', doc))) {
        writeFileSync(join(dir, `${doc.replace(/\.md$/, '')}_${line}.ts`), `${code}\nexport {};\n`);
        count++;
      }
    }
    expect(count).toBeGreaterThan(0);
    writeFileSync(
      join(dir, 'tsconfig.json'),
      // outDir elsewhere: tsc leaves out whatever lies under the outDir (dist/ in tsconfig.json)
      JSON.stringify({
        extends: '../../tsconfig.json',
        compilerOptions: { noEmit: true, outDir: '../doc-snippets-out' },
        include: ['*.ts'],
      }),
    );
    const check = tsc(join(dir, 'tsconfig.json'));
    const errors = (check.stdout + check.stderr)
      .split('\n')
      .filter((l) => /error TS\d+:/.test(l))
      .filter((l) => !PLACEHOLDER_ERRORS.has(l.match(/error (TS\d+):/)![1]));
    // each error names its file, <page>_<line of the block>.ts
    expect(errors).toEqual([]);
  }, 300_000);
});

describe.sequential('examples/ run against dist/', () => {
  beforeAll(() => {
    expect(existsSync(join(root, 'dist/lib/index.js')), 'dist/ is built (npx tsc -p tsconfig.build.json)').toBe(true);
    const build = tsc(join(root, 'tsconfig.examples.json'));
    expect(build.stdout + build.stderr).toBe('');
    expect(build.status).toBe(0);
  }, 300_000);

  test('every example has a test here', () => {
    expect(examples).toEqual(['cohort-augment.ts', 'experiment.ts', 'load-medicalnet.ts', 'train-resnet.ts']);
  });

  test('cohort-augment: reads a synthetic cohort and one volume, augments it and writes it back', () => {
    const lines = run('cohort-augment.ts').trim().split('\n');
    // synthCohort({ patients: 6, size: 'small', seed: 1 }): the 'small' geometry, FLAIR stored as int16
    expect(lines[0]).toMatch(/^patients 6 excluded \d+ DTI \d+$/);
    expect(lines[1]).toBe('FLAIR 78x120x120 spacing 2x2x2 stored as int16');
    expect(lines[2]).toMatch(/^flip 78x120x120 rotate -?\d+\.\d\d noise 78x120x120$/);
    const angle = Number(lines[2].split(' ')[3]);
    expect(angle >= -180 && angle < 180).toBe(true);
    expect(lines[3]).toBe('written 78x120x120');
  }, 300_000);

  test('train-resnet: three training steps, then two probabilities', () => {
    const lines = run('train-resnet.ts').trim().split('\n');
    expect(lines).toHaveLength(4);
    for (let step = 0; step < 3; step++) {
      const m = lines[step].match(/^step (\d) loss (\S+)$/);
      expect(m?.[1]).toBe(String(step));
      expect(Number.isFinite(Number(m?.[2]))).toBe(true);
    }
    const p = lines[3].split(' ');
    expect(p[0]).toBe('probabilities');
    expect(
      p
        .slice(1)
        .map(Number)
        .every((v) => v > 0 && v < 1),
    ).toBe(true);
    expect(p).toHaveLength(3);
  }, 300_000);

  test('load-medicalnet: writes a MedicalNet-layout ResNet3D-50 and loads both SpotTune copies from it', () => {
    const lines = run('load-medicalnet.ts').trim().split('\n');
    expect(lines[0]).toBe("MedicalNet resnet50 (bottleneck [3, 4, 6, 3], shortcut B), 1 input channel, 'module.' prefix");
    // SpotTune3D-50: 315 entries per copy, both from the file; fc (2) and the ResNet-10 agent (74) are new
    expect(lines[1]).toBe('630 tensors loaded; 76 initialised');
  }, 300_000);

  test('experiment: the toy protocol on a synthetic cohort runs every job and writes the report', () => {
    const lines = run('experiment.ts').trim().split('\n');
    expect(lines.at(-2)).toMatch(/^jobs \d+ failed 0 report written$/);
    expect(lines.at(-1)).toBe('quick epochs 3 gumbelSamples 10 batchSize 12');
  }, 300_000);
});
