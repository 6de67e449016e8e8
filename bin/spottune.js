#!/usr/bin/env node
// The `spottune` command. The CLI lives in lib/cli (compiled to dist/ by `npm run build:ts`, which
// `npm install` runs through the prepare script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/lib/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  console.error('spottune: dist/ is missing; run `npm run build:ts` (or `npm install`) in the package first (ERR_NOT_BUILT)');
  process.exit(1);
}
const { main } = await import(entry.href);
const code = await main(process.argv);
// After an error, a connection a command left open (a queue's Redis client retrying) must not keep
// the process alive. Pipes are asynchronous on macOS: flush stdout and stderr before exiting.
if (code !== 0) {
  await Promise.all([process.stdout, process.stderr].map((stream) => new Promise((resolve) => stream.write('', resolve))));
  process.exit(code);
}
process.exitCode = code;
