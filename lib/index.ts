/**
 * spottune3d: the public API. Everything users may import is re-exported here and nowhere else.
 * @module
 */
export { Tensor, DTYPES, checkDevice, type DType, type Device, type TensorData } from './tensor.js';
export { runtime, cudaAvailable, setNumThreads, manualSeed, type RuntimeInfo } from './runtime.js';
export { conv3d, type Conv3dOptions } from './ops.js';
export { TorchError, NativeLoadError, CheckpointError } from './native/errors.js';
export { nativeAvailable } from './native/binding.js';
export { writeFileAtomic, writeJsonAtomic } from './util/atomic.js';
export type { HostTensor, StateDict } from './types.js';
export * from './config/index.js';
export * from './io/index.js';
export * from './data/index.js';
export * from './models/index.js';
export * from './train/index.js';
export * from './eval/index.js';
export * from './stats/index.js';
export * from './report/index.js';
export * from './radiomics/index.js';
export * from './experiment/index.js';
