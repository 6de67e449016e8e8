// Rewrites one file for ever with the library's own writer, for atomic-kill.test.ts, which SIGKILLs
// this process at random moments. Arguments: KIND PATH. Version 1 and version 2 alternate; every
// value of version v is v, so a reader can tell a whole file of either version from anything else.
// Prints "ready" once the first version is on disk.
const [kind, path] = process.argv.slice(2);
const lib = await import(new URL('../../dist/lib/index.js', import.meta.url).href);
const n = 1 << 21; // 8 MiB of float32: the temporary file is open for many milliseconds
const writers = {
  pth: (v) => lib.savePth(path, { version: v, weight: { dtype: 'float32', shape: [n], data: new Float32Array(n).fill(v) } }),
  nifti: (v) => lib.writeNifti(path, { data: new Float32Array(n).fill(v), shape: [128, 128, 128], spacing: [1, 1, 1] }),
  npy: (v) => lib.writeNpy(path, new Float32Array(n).fill(v), [128, 128, 128]),
  json: (v) => lib.writeJsonAtomic(path, { version: v, values: new Array(n / 8).fill(v) }),
};
const write = writers[kind];
if (!write) throw new Error(`unknown kind ${kind}`);
await write(1);
process.stdout.write('ready\n');
for (let v = 2; ; v = 3 - v) await write(v);
