/**
 * Facts about the loaded LibTorch, and the process-wide settings it has.
 * @module
 */
import { fromNative } from './native/errors.js';
import { native, type NativeRuntime } from './native/binding.js';
import { checkInteger } from './util/validate.js';

/** What {@link runtime} reports. */
export type RuntimeInfo = NativeRuntime;

/** The LibTorch version, CUDA and cuDNN availability, intra-op threads and build details. */
export function runtime(): RuntimeInfo {
  try {
    return native().runtime();
  } catch (err) {
    throw fromNative(err);
  }
}

/** True when CUDA is usable from this build on this machine. Never throws. */
export function cudaAvailable(): boolean {
  try {
    return native().runtime().cudaAvailable;
  } catch {
    return false;
  }
}

/** Sets LibTorch's intra-op thread count (process-wide). */
export function setNumThreads(n: number): void {
  checkInteger(n, 'n', { min: 1, max: 1024 });
  native().setNumThreads(n);
}

/** Seeds LibTorch's CPU and CUDA generators (process-wide), like torch.manual_seed. */
export function manualSeed(seed: number): void {
  checkInteger(seed, 'seed', { min: 0, max: Number.MAX_SAFE_INTEGER });
  native().manualSeed(seed);
}
