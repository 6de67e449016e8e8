// Running the committed hostile-file generators (scripts/fixtures/hostile/) and reading each file
// they write in a child process with a capped heap, so that a read that loops, or inflates a bomb,
// kills or stalls the child and fails the test instead of the test process.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/** Runs `scripts/fixtures/hostile/<script>` into `dir`/attacks and returns the list it prints. */
export function generateAttacks<T>(script: string, dir: string): T[] {
  const generator = new URL(`../../scripts/fixtures/hostile/${script}`, import.meta.url).pathname;
  return JSON.parse(execFileSync(process.execPath, [generator, join(dir, 'attacks')], { encoding: 'utf8', timeout: 120_000 })) as T[];
}

/** What a child read reports: the error's code (or 'LOADED') and name, the read's own time and the process's peak RSS. */
export interface ChildRead {
  code: string;
  name?: string;
  ms: number;
  rssMiB: number;
}

// The child reads with the built library (dist/, as the lifecycle tests do); the time is the
// read's own, not node's start-up.
const dist = new URL('../../dist/lib/io/index.js', import.meta.url).href;
const CHILD = `
const reader = (await import(process.argv[1]))[process.argv[2]];
const t0 = performance.now();
let code = 'LOADED';
let name;
try { await reader(process.argv[3], ...JSON.parse(process.argv[4])); } catch (e) { code = e.code ?? e.name; name = e.name; }
const ms = performance.now() - t0;
process.stdout.write(JSON.stringify({ code, name, ms, rssMiB: process.resourceUsage().maxRSS / 1024 }));
`;

/**
 * Calls lib/io's `reader(file, ...args)` in a child process whose heap is capped at `heapMiB`.
 * @throws when the child dies or runs past 30 s
 */
export function readInChild(reader: 'readNiftiRaw' | 'readPth', file: string, args: readonly unknown[], heapMiB: number): ChildRead {
  const out = execFileSync(
    process.execPath,
    [`--max-old-space-size=${heapMiB}`, '--input-type=module', '-e', CHILD, dist, reader, file, JSON.stringify(args)],
    { encoding: 'utf8', timeout: 30_000 },
  );
  return JSON.parse(out) as ChildRead;
}
