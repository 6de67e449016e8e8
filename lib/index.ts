/**
 * spottune3d: the everyday API, in one import. Tensors and the runtime, configuration, NIfTI and
 * PyTorch checkpoint I/O, data preparation and augmentation, the networks, training, evaluation,
 * statistics, radiomics and the in-process experiment.
 *
 * Two areas have their own doors and are not re-exported here, because they are the ones with
 * heavy dependencies: `spottune3d/queue` (the scaled-out executor on BullMQ and Redis) and
 * `spottune3d/report` (tables and vega-lite figures). Every area also has a door of its own
 * (`spottune3d/io`, `/data`, `/models`, `/train`, `/eval`, `/stats`, `/radiomics`, `/experiment`,
 * `/config`) exporting the same names as here. What no door exports is internal.
 * @module
 */
export { Tensor, DTYPES, checkDevice, type DType, type TensorData } from './tensor.js';
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
export * from './radiomics/index.js';
export * from './experiment/index.js';
