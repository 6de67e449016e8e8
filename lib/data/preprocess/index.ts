/**
 * The study's preprocessing (docs/study.md section 2), one named, parameterised step per
 * function: mask -> crop -> rescale (scikit-image `rescale` semantics) -> min-max -> pad.
 *
 * - steps.ts: the dense steps (applyMask, cropVolume, minMaxScale, padTo) and resolvePreprocess;
 * - convert.ts: skimage's `img_as_float`, alone or fused with mask and crop (maskCropConvert);
 * - rescale.ts: `skimage.transform.rescale` exactly (gaussianFilter, zoomLinear, rescaleVolume);
 * - geometry.ts: crop boxes and where a tumour lies (presetCropBox, tumourBox, unionBox,
 *   maskRegion, preparedShape), every box from bounding-box.ts's one scanner;
 * - tumour-box.ts + pipeline.ts: preprocessVolume, the dense steps' values computed over the
 *   tumour's box.
 *
 * Arrays are C-contiguous [D, H, W] buffers (the NIfTI voxel order, 'kji').
 * @module
 */
export type { RealArray, Shape3, SkipCode, PreprocessResult, PreprocessInput } from './types.js';
export { resolvePreprocess, applyMask, cropVolume, minMaxScale, padTo } from './steps.js';
export { imgAsFloat, maskCropConvert } from './convert.js';
export { rescaledShape, gaussianKernel, gaussianFilter, zoomLinear, rescaleVolume, type RescaleOptions } from './rescale.js';
export { maskRegion, tumourBox, unionBox, presetCropBox, preparedShape, type MaskRegion } from './geometry.js';
export { preprocessVolume } from './pipeline.js';
/** Re-export for callers that build configs by hand. */
export type { PreprocessConfig, PreprocessOptions, CropBox } from '../../config/data.js';
