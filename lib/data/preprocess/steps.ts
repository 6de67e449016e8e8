/**
 * The study's dense steps (docs/study.md section 2), one named, parameterised step per function:
 * mask -> crop -> (float conversion, convert.ts) -> rescale (rescale.ts) -> min-max -> pad.
 *
 * Arrays are C-contiguous [D, H, W] buffers (the NIfTI voxel order, 'kji'). `preprocessVolume`
 * gives the values these steps give in sequence, computed over the tumour's box only.
 * @module
 */
import { PreprocessSchema, type CropBox, type PreprocessConfig, type PreprocessOptions } from '../../config/data.js';
import { checkCropBox } from './geometry.js';
import { rangeOf } from './rescale.js';
import { allocLike, type RealArray, type Shape3 } from './types.js';

/** Resolves preprocessing options against the schema (defaults: the paper's values). */
export function resolvePreprocess(options: PreprocessOptions = {}): PreprocessConfig {
  return PreprocessSchema.parse(options);
}

/**
 * Step 1: `np.where(mask > 0, image, 0)`: the whole tumour (labels 1, 2 and 4) keeps its voxels.
 * @throws RangeError when the mask and image differ in length.
 * @returns a new buffer of the image's type.
 */
export function applyMask<T extends RealArray>(image: T, mask: ArrayLike<number>): T {
  if (image.length !== mask.length)
    throw new RangeError(`Expected mask to hold ${image.length} voxels like the image but it holds ${mask.length}`);
  const out = allocLike(image, image.length);
  for (let i = 0; i < image.length; i++) if (mask[i] > 0) out[i] = image[i];
  return out;
}

/** Step 2: `volume[z0:z1, y0:y1, x0:x1]`. Throws RangeError when the box leaves the volume. */
export function cropVolume<T extends RealArray>(data: T, shape: Shape3, box: CropBox): { data: T; shape: Shape3 } {
  checkCropBox(box, shape);
  const [[z0, z1], [y0, y1], [x0, x1]] = box;
  const out: Shape3 = [z1 - z0, y1 - y0, x1 - x0];
  const result = allocLike(data, out[0] * out[1] * out[2]);
  let o = 0;
  for (let z = z0; z < z1; z++) {
    for (let y = y0; y < y1; y++) {
      const start = (z * shape[1] + y) * shape[2];
      result.set(data.subarray(start + x0, start + x1), o);
      o += out[2];
    }
  }
  return { data: result, shape: out };
}

/** Step 4: `(x - min) / (max - min)` over the whole volume, into float32. Returns undefined for a constant volume. */
export function minMaxScale(data: RealArray): Float32Array | undefined {
  const [lo, hi] = rangeOf(data);
  if (!(hi > lo)) return undefined;
  const out = new Float32Array(data.length);
  const k = 1 / (hi - lo);
  for (let i = 0; i < data.length; i++) out[i] = (data[i] - lo) * k;
  return out;
}

/**
 * Step 5: zero-pads to `target`, `d // 2` before and the rest after on each axis (REF's padding).
 * Throws RangeError when the volume is larger than the target on some axis.
 */
export function padTo(data: Float32Array, shape: Shape3, target: readonly number[]): { data: Float32Array; shape: Shape3 } {
  if (shape.some((n, i) => n > target[i]))
    throw new RangeError(`Cannot pad a volume of shape [${shape.join(', ')}] to the smaller [${target.join(', ')}]`);
  if (shape.every((n, i) => n === target[i])) return { data, shape };
  const before = shape.map((n, i) => Math.floor((target[i] - n) / 2));
  const out = new Float32Array(target[0] * target[1] * target[2]);
  for (let z = 0; z < shape[0]; z++) {
    for (let y = 0; y < shape[1]; y++) {
      const src = (z * shape[1] + y) * shape[2];
      const dst = ((z + before[0]) * target[1] + (y + before[1])) * target[2] + before[2];
      out.set(data.subarray(src, src + shape[2]), dst);
    }
  }
  return { data: out, shape: [target[0], target[1], target[2]] };
}
