/**
 * scikit-image's float conversion (docs/study.md section 2), alone ({@link imgAsFloat}) or fused
 * with the mask and the crop ({@link maskCropConvert}), which is how the pipeline reads an image:
 * one pass over the crop box, straight from the stored voxels, with no full-size intermediate.
 * @module
 */
import type { CropBox, PreprocessConfig } from '../../config/data.js';
import type { VoxelDType } from '../../io/volume.js';
import { checkCropBox } from './geometry.js';
import type { PreprocessInput, RealArray, Shape3 } from './types.js';

const INT_MAX: Partial<Record<VoxelDType, number>> = {
  uint8: 255,
  int8: 127,
  int16: 32767,
  uint16: 65535,
  int32: 2147483647,
  uint32: 4294967295,
};

/**
 * skimage's `img_as_float` (via `convert_to_float(image, preserve_range=False)`) for data whose
 * stored type was `sourceDtype`: integers -> float64 x / max (signed floored at -1); float32 stays
 * float32; float64 stays float64.
 * @returns `data` itself when it already has the result's type, else a new buffer.
 */
export function imgAsFloat(data: RealArray, sourceDtype: VoxelDType): RealArray {
  const max = INT_MAX[sourceDtype];
  if (max !== undefined) {
    const out = new Float64Array(data.length);
    const k = 1 / max;
    const signed = sourceDtype.startsWith('int');
    for (let i = 0; i < data.length; i++) {
      const v = data[i] * k;
      out[i] = signed && v < -1 ? -1 : v;
    }
    return out;
  }
  if (sourceDtype === 'float64') return data instanceof Float64Array ? data : Float64Array.from(data);
  return data instanceof Float32Array ? data : Float32Array.from(data);
}

/**
 * Steps 1-2 and skimage's float conversion in one pass over the crop box only: equal to
 * `imgAsFloat(cropVolume(applyMask(image, mask)), sourceDtype)` (or, with intensity 'raw', the
 * values as float64, float32 kept), without a full-size intermediate.
 * @throws RangeError when the box leaves the volume.
 */
export function maskCropConvert(
  image: PreprocessInput,
  mask: ArrayLike<number>,
  box: CropBox,
  intensity: PreprocessConfig['intensity'] = 'img_as_float',
): { data: RealArray; shape: Shape3 } {
  checkCropBox(box, image.shape);
  return maskConvertBox(image, mask, box, intensity);
}

/**
 * {@link maskCropConvert}'s values inside `box` (which fits the volume), into an array laid out
 * over the box `at` + `layout` (volume coordinates; default: `box` itself, which it must hold),
 * zero elsewhere, with `tail` zeros after it. The tumour-box path converts straight into its layout.
 */
export function maskConvertBox(
  image: PreprocessInput,
  mask: ArrayLike<number>,
  box: CropBox,
  intensity: PreprocessConfig['intensity'],
  at?: Shape3,
  layout?: Shape3,
  tail = 0,
): { data: RealArray; shape: Shape3 } {
  const [[z0, z1], [y0, y1], [x0, x1]] = box;
  const shape = image.shape;
  const out: Shape3 = layout ?? [z1 - z0, y1 - y0, x1 - x0];
  const [a0, a1, a2] = at ?? [z0, y0, x0];
  const slope = image.slope ?? 1;
  const inter = image.inter ?? 0;
  const scaled = slope !== 1 || inter !== 0;
  const sourceDtype = scaled ? 'float32' : image.sourceDtype;
  const max = intensity === 'img_as_float' ? INT_MAX[sourceDtype] : undefined;
  const keep32 = sourceDtype === 'float32'; // skimage keeps float32 as float32; everything else becomes float64
  const size = out[0] * out[1] * out[2] + tail;
  const result: RealArray = keep32 ? new Float32Array(size) : new Float64Array(size);
  const k = max === undefined ? 1 : 1 / max;
  const signed = max !== undefined && sourceDtype.startsWith('int');
  const src = image.data;
  // One row loop for every type pair: type-specialised copies (int16 -> float64, float32 -> float32,
  // scaled int16 -> float32) measured no faster (bench/results/2026-12-04-preprocess-kernel-twins-cpu2.json).
  const row = scaled ? scaledRow : convertRow;
  const [a, b] = scaled ? [slope, inter] : [k, signed ? -1 : -Infinity];
  for (let z = z0; z < z1; z++) {
    for (let y = y0; y < y1; y++) {
      const at = (z * shape[1] + y) * shape[2];
      row(src, mask, result, at + x0, at + x1, ((z - a0) * out[1] + (y - a1)) * out[2] + (x0 - a2), a, b);
    }
  }
  return { data: result, shape: out };
}

/** One row of {@link maskConvertBox} with scl_slope/inter: out[o] = fround(src * slope + inter) where the mask is > 0 (float32, as readNifti rounds). */
function scaledRow(
  src: ArrayLike<number>,
  mask: ArrayLike<number>,
  out: RealArray,
  from: number,
  to: number,
  o: number,
  slope: number,
  inter: number,
): void {
  for (let x = from; x < to; x++, o++) if (mask[x] > 0) out[o] = Math.fround(src[x] * slope + inter);
}

/** One row of {@link maskConvertBox}: out[o] = max(src * k, floor) where the mask is > 0 (floor -1 for signed img_as_float, else -Infinity). */
function convertRow(
  src: ArrayLike<number>,
  mask: ArrayLike<number>,
  out: RealArray,
  from: number,
  to: number,
  o: number,
  k: number,
  floor: number,
): void {
  for (let x = from; x < to; x++, o++) {
    if (mask[x] > 0) {
      const v = src[x] * k;
      out[o] = v < floor ? floor : v;
    }
  }
}
