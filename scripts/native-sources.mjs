#!/usr/bin/env node
// The one list of the addon's C++ sources: every .cc under native/, sorted. CMakeLists.txt reads it
// with execute_process and binding.gyp with `<!@(node scripts/native-sources.mjs)`, so a new source
// file needs no edit to either build.
import { readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export function nativeSources() {
  const out = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.cc')) out.push(relative(root, path).split('\\').join('/'));
    }
  };
  walk(join(root, 'native'));
  return out.sort();
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.stdout.write(`${nativeSources().join(process.argv[2] === '--cmake' ? ';' : ' ')}\n`);
}
