/**
 * The only module that loads spottune3d.node. It declares the addon's TypeScript type; everything
 * else reaches native code through the typed wrappers in lib/.
 * @module
 */
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { packageRoot } from '../util/package-root.js';
import { NativeLoadError } from './errors.js';

/** The opaque native tensor (native/bridge/tensor.cc). */
export interface NativeTensor {
  shape(): number[];
  dtype(): string;
  device(): string;
  disposed(): boolean;
  dataSync(): NativeTypedArray;
  data(): Promise<NativeTypedArray>;
  to(device: string, dtype?: string): Promise<NativeTensor>;
  dispose(): void;
}

export type NativeTypedArray =
  | Float32Array
  | Float64Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint8Array
  | BigInt64Array;

/** What runtime() returns (native/bridge/runtime.cc). */
export interface NativeRuntime {
  torchVersion: string;
  cudaAvailable: boolean;
  cudaDevices: number;
  cudnn: boolean;
  threads: number;
  buildInfo: {
    buildSystem: string;
    compiledWithCuda: boolean;
    cxx11Abi: boolean;
    napiVersion: number;
    parallel: string;
    config: string;
  };
}

/**
 * The addon's exports. Later modules add their verbs here as they add them to native/addon.cc;
 * an index signature keeps the loader usable while a build is older than this file.
 */
export interface NativeBinding {
  NativeTensor: {
    fromArray(data: NativeTypedArray, shape: readonly number[], dtype?: string): NativeTensor;
  };
  runtime(): NativeRuntime;
  setNumThreads(n: number): void;
  manualSeed(seed: number): void;
  /** Ends the process at once with `code` when native work is still running; otherwise returns false. */
  exitIfBusy(code: number): boolean;
  conv3d(
    input: NativeTensor,
    weight: NativeTensor,
    bias: NativeTensor | null,
    options: { stride?: number; padding?: number; dilation?: number },
  ): Promise<NativeTensor>;
  augmentFlip(image: NativeTensor, mask: NativeTensor | null, dims: number[]): Promise<NativeTensor[]>;
  augmentRotate(
    image: NativeTensor,
    mask: NativeTensor | null,
    options: { angleDeg: number; axes: number[]; order: number; mode: string },
  ): Promise<NativeTensor[]>;
  augmentElastic(
    image: NativeTensor,
    mask: NativeTensor | null,
    displacement: Float64Array,
    points: number[],
    options: { order: number; mode: string },
  ): Promise<NativeTensor[]>;
  augmentNoise(image: NativeTensor, options: { seed: number; mean: number; std: number; clip: boolean }): Promise<NativeTensor>;
  [verb: string]: unknown;
}

const root = packageRoot();

let cached: NativeBinding | undefined;
let failure: NativeLoadError | undefined;

/** Where the loader looks, in order: an explicit override, prebuilds/, build/Release, build/Debug. */
export function candidatePaths(base = root): string[] {
  const out: string[] = [];
  if (process.env.SPOTTUNE3D_ADDON) out.push(resolve(process.env.SPOTTUNE3D_ADDON));
  out.push(join(base, 'prebuilds', `${process.platform}-${process.arch}`));
  out.push(join(base, 'build', 'Release', 'spottune3d.node'));
  out.push(join(base, 'build', 'Debug', 'spottune3d.node'));
  return out;
}

function loadFrom(base: string): NativeBinding {
  const require = createRequire(import.meta.url);
  const tried: string[] = [];
  const attempt = (label: string, load: () => unknown): NativeBinding | undefined => {
    try {
      return load() as NativeBinding;
    } catch (err) {
      const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
      tried.push(`${label}: ${reason}`);
      return undefined;
    }
  };
  const override = process.env.SPOTTUNE3D_ADDON;
  const found =
    (override ? attempt(`SPOTTUNE3D_ADDON=${override}`, () => require(resolve(override))) : undefined) ??
    // node-gyp-build: prebuilds/<platform>-<arch>/*.node first, then build/Release and build/Debug.
    attempt(`node-gyp-build: ${candidatePaths(base).slice(-3).join(', ')}`, () =>
      (require('node-gyp-build') as (dir: string) => unknown)(base),
    );
  if (found) return found;
  throw new NativeLoadError(
    [
      'The spottune3d native addon could not be loaded. Tried:',
      ...tried.map((t) => `  - ${t}`),
      'To fix:',
      '  - build it: `npm run build:native` (needs LibTorch; `node scripts/libtorch.mjs --which` shows which one is found)',
      '  - on Debian: `apt-get install libtorch-dev`, or set LIBTORCH=/path/to/libtorch (see README, "LibTorch discovery")',
      '  - "cannot open shared object file": the LibTorch it was built against moved; rebuild, or add its lib/ to LD_LIBRARY_PATH',
    ].join('\n'),
    tried,
  );
}

/**
 * The loaded addon. Throws {@link NativeLoadError} (listing every path tried) when it cannot load;
 * the failure is remembered so that later calls fail fast with the same message.
 */
export function native(): NativeBinding {
  if (cached) return cached;
  if (failure) throw failure;
  try {
    cached = loadFrom(root);
    guardExit(cached);
    return cached;
  } catch (err) {
    failure = err as NativeLoadError;
    throw failure;
  }
}

/**
 * At process exit, C++ static objects of LibTorch and oneDNN are destroyed while a network step or
 * another native call may still be running on a background thread, which then crashes the process
 * (SIGSEGV instead of the exit code asked for). The addon's 'exit' listener ends the process
 * straight away in that case, with the same code; with nothing running it does nothing. Worker
 * threads do not install it: their native work is released with their environment.
 */
function guardExit(binding: NativeBinding): void {
  if (!isMainThread || typeof binding.exitIfBusy !== 'function') return;
  process.on('exit', (code) => {
    binding.exitIfBusy(typeof code === 'number' ? code : 0);
  });
}

/** True when the addon loads; never throws. */
export function nativeAvailable(): boolean {
  try {
    native();
    return true;
  } catch {
    return false;
  }
}

/** The package root the loader searches (exported for diagnostics and tests). */
export const addonRoot = root;
