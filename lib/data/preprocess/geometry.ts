/**
 * Crop geometry (docs/study.md section 2): the crop box of a preset, the cohort's tumour box, where
 * one mask's tumour lies, and the shape the pipeline produces. Every bounding box comes from the one
 * scanner, {@link scanBox}.
 * @module
 */
import { GEOMETRY_PRESETS, type CropBox, type PreprocessConfig } from '../../config/data.js';
import { scanBox } from './bounding-box.js';
import { rescaledShape } from './rescale.js';
import type { Shape3 } from './types.js';

/** Throws RangeError unless `box` is a non-empty half-open box inside a volume of `shape`. */
export function checkCropBox(box: CropBox, shape: readonly number[]): void {
  const [[z0, z1], [y0, y1], [x0, x1]] = box;
  if (z1 > shape[0] || y1 > shape[1] || x1 > shape[2] || z0 < 0 || y0 < 0 || x0 < 0 || z1 <= z0 || y1 <= y0 || x1 <= x0) {
    throw new RangeError(`Crop box [${box.map(([a, b]) => `${a}:${b}`).join(', ')}] does not fit a volume of shape [${shape.join(', ')}]`);
  }
}

/**
 * Where a mask's tumour lies: the number of voxels with label > 0 and their bounding box
 * (half-open, undefined when there are none). Computed once per patient by the pipelines that
 * preprocess several modalities against one mask, and passed to `preprocessVolume` as
 * `mask.region`.
 */
export interface MaskRegion {
  inside: number;
  box: CropBox | undefined;
}

/**
 * {@link MaskRegion} of a mask of shape [D, H, W]: one pass over its voxels.
 * @throws RangeError when `mask` does not hold D x H x W voxels.
 */
export function maskRegion(mask: ArrayLike<number>, shape: readonly number[]): MaskRegion {
  checkMaskLength(mask, shape);
  const { count, box } = scanBox(mask, shape, 'positive');
  return { inside: count, box };
}

/**
 * Bounding box of `mask > 0` as a half-open crop box, or undefined for an empty mask.
 * @throws RangeError when `mask` does not hold D x H x W voxels.
 */
export function tumourBox(mask: ArrayLike<number>, shape: Shape3): CropBox | undefined {
  checkMaskLength(mask, shape);
  return scanBox(mask, shape, 'positive').box;
}

function checkMaskLength(mask: ArrayLike<number>, shape: readonly number[]): void {
  const [D, H, W] = shape;
  if (mask.length !== D * H * W)
    throw new RangeError(`Expected mask to hold ${D * H * W} voxels for shape [${shape.join(', ')}] but it holds ${mask.length}`);
}

/** Union of boxes, widened by `margin` and clipped to `shape`. */
export function unionBox(boxes: readonly CropBox[], shape: Shape3, margin = 0): CropBox | undefined {
  if (boxes.length === 0) return undefined;
  // reduce, not Math.min(...boxes): one box per patient, and a spread of an unbounded array overflows the stack
  return [0, 1, 2].map((a) => [
    Math.max(0, boxes.reduce((m, b) => Math.min(m, b[a][0]), Infinity) - margin),
    Math.min(shape[a], boxes.reduce((m, b) => Math.max(m, b[a][1]), -Infinity) + margin),
  ]) as CropBox;
}

/** The crop box of a preset name or explicit box ('tumour' must be resolved first with {@link tumourBox}). */
export function presetCropBox(crop: PreprocessConfig['crop']): CropBox {
  if (crop === 'tumour') throw new RangeError("crop 'tumour' depends on the cohort; compute it with cohortCropBox() and pass the box");
  if (typeof crop === 'string') return GEOMETRY_PRESETS[crop].crop.map(([a, b]) => [a, b]) as CropBox;
  return crop;
}

/**
 * The shape `preprocessVolume` produces for a crop box and config (before any skip).
 * @throws RangeError when `config.padTo` is smaller than the rescaled crop.
 */
export function preparedShape(box: CropBox, config: Pick<PreprocessConfig, 'scale' | 'padTo'>): Shape3 {
  const cropped = box.map(([a, b]) => b - a);
  const scaled = rescaledShape(cropped, config.scale);
  if (config.padTo && scaled.some((n, i) => n > config.padTo![i])) {
    throw new RangeError(
      `padTo [${config.padTo.join(', ')}] is smaller than the rescaled crop [${scaled.join(', ')}]; raise padTo or shrink the crop box`,
    );
  }
  return config.padTo ? [...config.padTo] : scaled;
}
