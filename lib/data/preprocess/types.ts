/**
 * The shapes (and the one allocation helper) the preprocessing modules share (docs/study.md
 * section 2). Internal to lib/data/preprocess; the public ones are re-exported by its index.
 * @module
 */
import type { VoxelArray, VoxelDType } from '../../io/volume.js';

/** A floating-point working buffer. */
export type RealArray = Float32Array | Float64Array;
/** Shape of a 3-D buffer, [D, H, W]. */
export type Shape3 = [number, number, number];

/** Why a volume was skipped. */
export type SkipCode = 'shape-mismatch' | 'empty-mask' | 'non-finite' | 'constant' | 'outside-crop' | 'read-error';

/** The result of `preprocessVolume`: the prepared volume, or why it was skipped. */
export type PreprocessResult = { ok: true; data: Float32Array; shape: Shape3 } | { ok: false; code: SkipCode; reason: string };

/** What `preprocessVolume` needs to know about the image. */
export interface PreprocessInput {
  /** Voxels: float32 from readNifti, or the stored array from readNiftiRaw (with slope/inter). */
  data: VoxelArray;
  shape: Shape3;
  /** scl_slope / scl_inter still to apply to `data` (readNiftiRaw); values then round to float32, as readNifti's do. */
  slope?: number;
  inter?: number;
  /** The stored voxel type, for the img_as_float conversion; 'float32' when scl_slope/inter applied (SimpleITK then reads float). */
  sourceDtype: VoxelDType;
}

/** A new zeroed buffer of `like`'s type (the working precision is the input's, as in scikit-image). */
export function allocLike<T extends RealArray>(like: T, length: number): T {
  return new (like.constructor as new (n: number) => T)(length);
}
