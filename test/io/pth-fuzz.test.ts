// Mutated checkpoints: whatever the bytes, loadPth returns a tree or throws a CheckpointError;
// never another error, a crash, a hang or a large allocation. Seeded, so a failure reproduces.
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { CheckpointError } from '../../lib/native/errors.js';
import { parsePth } from '../../lib/io/index.js';
import { mulberry32 } from '../../lib/util/mulberry32.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/pth/${name}`, import.meta.url));

type Mutation = (bytes: Uint8Array, rand: () => number) => Uint8Array;
const int = (rand: () => number, n: number) => Math.floor(rand() * n);

const MUTATIONS: Record<string, Mutation> = {
  bitFlips(bytes, rand) {
    const out = bytes.slice();
    for (let k = 1 + int(rand, 8); k > 0; k--) {
      const i = int(rand, out.length);
      out[i] ^= 1 << int(rand, 8);
    }
    return out;
  },
  byteSet(bytes, rand) {
    const out = bytes.slice();
    const special = [0x00, 0xff, 0x7f, 0x80, 0x28, 0x2e, 0x52, 0x62, 0x63, 0x71, 0x68, 0x8a, 0x58];
    for (let k = 1 + int(rand, 4); k > 0; k--)
      out[int(rand, out.length)] = rand() < 0.5 ? int(rand, 256) : special[int(rand, special.length)];
    return out;
  },
  truncate(bytes, rand) {
    return bytes.slice(0, int(rand, bytes.length));
  },
  insert(bytes, rand) {
    const at = int(rand, bytes.length + 1);
    const extra = Uint8Array.from({ length: 1 + int(rand, 16) }, () => int(rand, 256));
    return Buffer.concat([bytes.subarray(0, at), extra, bytes.subarray(at)]);
  },
  remove(bytes, rand) {
    const at = int(rand, bytes.length);
    return Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1 + int(rand, 16))]);
  },
  duplicate(bytes, rand) {
    const at = int(rand, bytes.length);
    const len = 1 + int(rand, 64);
    return Buffer.concat([bytes.subarray(0, at + len), bytes.subarray(at, at + len), bytes.subarray(at + len)]);
  },
  bigNumber(bytes, rand) {
    // Overwrite 4 or 8 bytes with a large little-endian value: sizes, counts, offsets.
    const out = Buffer.from(bytes);
    const at = int(rand, Math.max(1, out.length - 8));
    if (rand() < 0.5) out.writeUInt32LE([0xffffffff, 0x7fffffff, 0x80000000, 0x10000][int(rand, 4)], at);
    else out.writeBigUInt64LE([2n ** 63n, 2n ** 53n, 2n ** 32n][int(rand, 3)], at);
    return out;
  },
};

const BASES = ['simple_zip.pth', 'dtypes_zip.pth', 'dtypes_legacy.pth', 'simple_zip_bigendian.pth', 'dtypes_legacy_bigendian.pth'];
const CASES_PER_BASE = Number(process.env.PTH_FUZZ_CASES ?? 1200); // raise locally to search harder

describe('fuzz: mutated checkpoints only ever throw CheckpointError', () => {
  test.each(BASES)('%s', (name) => {
    const base = fixture(name);
    const rand = mulberry32(0x5eed + name.length * 7919);
    const names = Object.keys(MUTATIONS);
    const outcomes = { loaded: 0, refused: 0 };
    for (let i = 0; i < CASES_PER_BASE; i++) {
      const kind = names[i % names.length];
      const mutated = MUTATIONS[kind](base, rand);
      try {
        // Checksums off on most cases, so mutations reach the unpickler and the tensor checks.
        parsePth(mutated, { verifyChecksums: i % 4 === 0, maxBytes: 1 << 20 });
        outcomes.loaded++;
      } catch (err) {
        if (!(err instanceof CheckpointError)) {
          throw new Error(`case ${i} (${kind}) of ${name} threw ${String(err)}\n${(err as Error).stack}`);
        }
        outcomes.refused++;
      }
    }
    expect(outcomes.loaded + outcomes.refused).toBe(CASES_PER_BASE);
    expect(outcomes.refused).toBeGreaterThan(CASES_PER_BASE / 4);
  });
});
