/**
 * Plain data types shared across the library, free of the addon.
 * @module
 */
import type { DType, TensorData } from './tensor.js';

/**
 * A tensor held in JS memory: what the .pth reader returns for each tensor, what networks'
 * stateDict() yields and loadStateDict() takes. `data` is C-contiguous in `shape` unless
 * `strides` says otherwise (the .pth reader always returns contiguous data and keeps the
 * original strides for information).
 */
export interface HostTensor {
  dtype: DType;
  shape: number[];
  data: TensorData;
  strides?: number[];
}

/** Parameters and buffers by name (PyTorch's naming: `layer1.0.conv1.weight`). */
export type StateDict = Map<string, HostTensor>;
