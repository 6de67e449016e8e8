// Public exports of lib/io. lib/index.ts re-exports everything here.
export * from './pth/index.js';
export {
  readNifti,
  readNiftiRaw,
  readNiftiHeader,
  writeNifti,
  headerAffine,
  NiftiError,
  type NiftiErrorCode,
  type NiftiHeader,
  type NiftiVolume,
  type NiftiRawVolume,
  type ReadNiftiOptions,
  type ReadNiftiRawOptions,
  type InflateMode,
  type WriteNiftiOptions,
} from './nifti.js';
export {
  checkVolume,
  dtypeOf,
  identityAffine,
  reverseAxes,
  voxelCount,
  type Affine,
  type AxisOrder,
  type Volume,
  type VoxelArray,
  type VoxelDType,
} from './volume.js';
export { readNpy, writeNpy, NpyError, type NpyErrorCode } from './npy.js';
