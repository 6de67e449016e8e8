// Runs scripts/fixtures/augment/reference.py (Debian's /usr/bin/python3 with numpy, scipy and
// skimage) on a volume and returns its outputs.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../../../scripts/fixtures/augment/reference.py', import.meta.url));

export type ReferenceOp = Record<string, unknown> & { op: 'flip' | 'rotate' | 'elastic' | 'elastic_random' | 'noise' };

/** Each op's output (and mask output when a mask is given). */
export function reference(
  shape: readonly number[],
  image: Float32Array,
  ops: readonly ReferenceOp[],
  mask?: Float32Array,
): { image: Float32Array; mask?: Float32Array }[] {
  const dir = mkdtempSync(join(tmpdir(), 'augment-ref-'));
  try {
    writeFileSync(join(dir, 'in.f32'), image);
    if (mask) writeFileSync(join(dir, 'mask.f32'), mask);
    const spec = {
      shape,
      input: join(dir, 'in.f32'),
      mask: mask ? join(dir, 'mask.f32') : undefined,
      ops: ops.map((op, i) => ({ ...op, out: join(dir, `${i}.f32`), maskOut: mask ? join(dir, `${i}.mask.f32`) : undefined })),
    };
    writeFileSync(join(dir, 'spec.json'), JSON.stringify(spec));
    execFileSync('/usr/bin/python3', [script, join(dir, 'spec.json')], { stdio: ['ignore', 'ignore', 'inherit'] });
    const read = (f: string) => {
      const b = readFileSync(f);
      return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
    };
    return ops.map((_, i) => ({ image: read(join(dir, `${i}.f32`)), ...(mask ? { mask: read(join(dir, `${i}.mask.f32`)) } : {}) }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A reproducible volume of values in [0, 1). */
export function randomVolume(shape: readonly number[], seed = 1): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 16807) % 2147483647;
    out[i] = s / 2147483647;
  }
  return out;
}

/** A label volume: 1 inside a box, 0 elsewhere. */
export function boxMask(shape: readonly number[]): Float32Array {
  const [d, h, w] = shape;
  const out = new Float32Array(d * h * w);
  for (let z = 0; z < d; z++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        if (z > d / 4 && z < (3 * d) / 4 && y > h / 5 && y < (2 * h) / 3 && x > w / 3 && x < w - 2) out[(z * h + y) * w + x] = 1;
      }
  return out;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export function countDifferent(a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-5): number {
  let c = 0;
  for (let i = 0; i < a.length; i++) if (Math.abs(a[i] - b[i]) > tol) c++;
  return c;
}
