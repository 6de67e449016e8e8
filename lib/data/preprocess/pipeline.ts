/**
 * The whole preprocessing of one modality of one patient (docs/study.md section 2): mask -> crop
 * -> rescale -> min-max -> pad, the values of the dense steps computed over the tumour's box.
 * @module
 */
import type { CropBox, PreprocessConfig } from '../../config/data.js';
import type { VoxelArray } from '../../io/volume.js';
import { maskConvertBox } from './convert.js';
import { maskRegion, type MaskRegion } from './geometry.js';
import { rescalePlan, sparseMinMaxPad, sparseRange, sparseRescale, type Sparse } from './tumour-box.js';
import type { PreprocessInput, PreprocessResult, RealArray, Shape3 } from './types.js';

/**
 * The whole pipeline for one modality of one patient: mask -> crop -> rescale -> min-max -> pad.
 * Never throws for bad data: returns `{ ok: false, code, reason }` for a shape mismatch with the
 * mask, an empty mask, NaN/Inf voxels inside the mask, a tumour outside the crop box, or a
 * constant result. The work after masking follows the tumour's bounding box, not the crop's size.
 *
 * @param image Voxels as stored ('kji', [D, H, W]).
 * @param mask Segmentation labels, same shape (label > 0 = tumour), with its {@link maskRegion} when
 *   the caller has it (preprocessing several modalities against one mask: computed once, not per call).
 * @param box The crop box (see `presetCropBox`).
 * @param config Resolved parameters (`resolvePreprocess`).
 * @returns Float32 [D', H', W'] in [0, 1] (`padTo`'s shape when set), or why the volume was skipped.
 * @throws RangeError only for inconsistent parameters (`padTo` smaller than the rescaled crop).
 */
export function preprocessVolume(
  image: PreprocessInput,
  mask: { data: ArrayLike<number>; shape: readonly number[]; region?: MaskRegion },
  box: CropBox,
  config: PreprocessConfig,
): PreprocessResult {
  if (image.shape.length !== 3 || mask.shape.some((n, i) => n !== image.shape[i]) || mask.data.length !== image.data.length) {
    return {
      ok: false,
      code: 'shape-mismatch',
      reason: `image shape [${image.shape.join(', ')}] differs from mask shape [${mask.shape.join(', ')}]`,
    };
  }
  if (box.some(([, end], i) => end > image.shape[i])) {
    return {
      ok: false,
      code: 'shape-mismatch',
      reason: `crop box [${box.map(([a, b]) => `${a}:${b}`).join(', ')}] exceeds the volume shape [${image.shape.join(', ')}]`,
    };
  }
  const region = mask.region ?? maskRegion(mask.data, image.shape);
  if (region.inside === 0 || !region.box) return { ok: false, code: 'empty-mask', reason: 'the tumour mask is empty (no label > 0)' };
  const bad = nonFiniteInside(image.data, mask.data, image.shape, region.box);
  if (bad > 0) return { ok: false, code: 'non-finite', reason: `${bad} NaN/Inf voxel(s) inside the tumour mask` };

  // Everything outside the tumour's box is zero once masked: the rest runs on that box (and the
  // neighbourhood the filters reach), giving exactly the values of the whole-crop computation.
  const crop = box.map(([a, b]) => b - a) as Shape3;
  const inner = box.map(([a, b], i) => [Math.max(a, region.box![i][0]), Math.min(b, region.box![i][1])]) as CropBox;
  if (inner.some(([a, b]) => b <= a)) return { ok: false, code: 'outside-crop', reason: 'no non-zero tumour voxel inside the crop box' };
  const lo = inner.map(([a], i) => a - box[i][0]) as Shape3; // in the crop
  const hi = inner.map(([, b], i) => b - box[i][0]) as Shape3;
  const plan = config.scale === 1 ? undefined : rescalePlan(crop, lo, hi, config.scale, config.antiAliasing ?? true);
  const layout = plan ? (plan.axes.map((a) => a.layout) as CropBox) : lo.map((a, i) => [a, hi[i]] as [number, number]);
  const cropped = maskConvertBox(
    image,
    mask.data,
    inner,
    config.intensity,
    layout.map(([a], i) => a + box[i][0]) as Shape3,
    layout.map(([a, b]) => b - a) as Shape3,
    crop[2],
  );
  const sparse: Sparse<RealArray> = { full: crop, at: layout.map(([a]) => a) as Shape3, shape: cropped.shape, lo, hi, data: cropped.data };
  const range = sparseRange(sparse);
  const any = range[0] !== 0 || range[1] !== 0; // asked before the rescale reuses the buffer
  const scaled = plan ? sparseRescale(sparse, plan, true, range) : sparse;
  const prepared = sparseMinMaxPad(scaled, config.padTo ?? undefined);
  if (!prepared) {
    return any
      ? { ok: false, code: 'constant', reason: 'the masked, cropped, rescaled volume is constant (max = min)' }
      : { ok: false, code: 'outside-crop', reason: 'no non-zero tumour voxel inside the crop box' };
  }
  return { ok: true, data: prepared.data, shape: prepared.shape };
}

/** Voxels with label > 0 whose value is NaN or +-Infinity (0 for integer sources), looked for inside `box` only. */
function nonFiniteInside(data: VoxelArray, mask: ArrayLike<number>, shape: Shape3, box: CropBox): number {
  if (!(data instanceof Float32Array || data instanceof Float64Array)) return 0;
  const [[z0, z1], [y0, y1], [x0, x1]] = box;
  let bad = 0;
  for (let z = z0; z < z1; z++) {
    for (let y = y0; y < y1; y++) {
      const row = (z * shape[1] + y) * shape[2];
      // v - v is NaN exactly for NaN and +-Infinity
      for (let i = row + x0; i < row + x1; i++) if (mask[i] > 0 && data[i] - data[i] !== 0) bad++;
    }
  }
  return bad;
}
