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

/*
 * The whole native surface, as spottune3d.node exports it (native/addon.cc builds the table). Each
 * declaration names the C++ file that implements it. Every field of every option object is
 * required: TS resolves defaults (lib/config) and checks values before a call; C++ checks only that
 * fields are present and of the right JS type (a TorchError-coded Error naming the field otherwise).
 */

/** A JS-side TypedArray a tensor is copied from or into. */
export type NativeTypedArray = Float32Array | Float64Array | Int32Array | Int16Array | Int8Array | Uint8Array | BigInt64Array;

/** A dtype name as native/bridge/common.cc parses and prints it. */
export type NativeDType = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

/** The opaque native tensor (native/bridge/tensor.cc, TensorWrap). */
export interface NativeTensor {
  shape(): number[];
  dtype(): NativeDType;
  /** 'cpu' or 'cuda:N'. */
  device(): string;
  disposed(): boolean;
  dataSync(): NativeTypedArray;
  data(): Promise<NativeTypedArray>;
  /** A copy on `device`, converted to `dtype` unless null. */
  to(device: string, dtype: NativeDType | null): Promise<NativeTensor>;
  dispose(): void;
}

/** The NativeTensor class (native/bridge/tensor.cc). */
export interface NativeTensorClass {
  /** Copies `data` into a CPU tensor of `shape`; `dtype` converts it (null keeps the array's type). */
  fromArray(data: NativeTypedArray, shape: readonly number[], dtype: NativeDType | null): NativeTensor;
}

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

/** conv3d's options (native/ops/conv.cc), bounded by lib/ops.ts. */
export interface NativeConv3dOptions {
  stride: number;
  padding: number;
  dilation: number;
}

/** How augmentRotate and augmentElastic sample (native/ops/augment.cc). */
export interface NativeSamplingOptions {
  /** 0 nearest, 1 linear. */
  order: 0 | 1;
  /** scipy.ndimage's boundary modes. */
  mode: 'constant' | 'grid-constant';
}

/** augmentRotate's options (native/ops/augment.cc). */
export interface NativeRotateOptions extends NativeSamplingOptions {
  angleDeg: number;
  /** The plane's two axes of [D, H, W]: rows, then columns. */
  axes: [number, number];
}

/** augmentNoise's options (native/ops/augment.cc). */
export interface NativeNoiseOptions {
  seed: number;
  mean: number;
  std: number;
  clip: boolean;
}

/** A ResNet's block layout, from RESNET_LAYOUTS (native/models/network_config.cc). */
export interface NativeArchitecture {
  bottleneck: boolean;
  /** Blocks in layer1..layer4: exactly 4 entries. */
  layers: number[];
  shortcut: 'A' | 'B';
}

/** ReduceLROnPlateau's resolved options (native/models/network_config.cc -> native/optim/plateau.h). */
export interface NativeSchedulerConfig {
  mode: 'min' | 'max';
  factor: number;
  patience: number;
  threshold: number;
  thresholdMode: 'rel' | 'abs';
  cooldown: number;
  minLr: number;
  eps: number;
}

/** The resolved network configuration NativeNetwork.init reads (native/models/network_config.cc). */
export interface NativeNetworkConfig {
  kind: 'resnet' | 'spottune';
  architecture: NativeArchitecture;
  /** Read for every kind; used by SpotTune's agent only. */
  agentArchitecture: NativeArchitecture;
  inputChannels: number;
  numClasses: number;
  dropout: number;
  /** -1: every parameter trains; N: the classifier and the last N residual blocks. */
  trainableBlocks: number;
  frozenBatchNormUpdatesStats: boolean;
  device: string;
  mixedPrecision: 'bf16' | 'none';
  channelsLast: boolean;
  learningRate: number;
  agentLearningRate: number;
  weightDecay: number;
  agentWeightDecay: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** One weight per class, or null for none. */
  posWeight: number[] | null;
  scheduler: NativeSchedulerConfig;
  seed: number;
}

/** predict's options (native/models/network_config.cc, read_predict_options). */
export interface NativePredictOptions {
  /** 'none' for the ResNets. */
  policyMode: 'sample' | 'argmax' | 'fixed' | 'none';
  /** [N, blocks] of 0/1 when policyMode is 'fixed', else null. */
  policy: Float32Array | null;
  /** The Gumbel noise [N, blocks, 2], or null to sample it from `seed`. */
  noise: Float32Array | null;
  seed: number;
  routing: 'select' | 'both';
}

/** trainStep's options (native/models/network_config.cc, read_train_step_options). */
export interface NativeTrainStepOptions {
  seed: number;
  /** The Gumbel-softmax temperature; null for the ResNets, which have none. */
  tau: number | null;
  /** The Gumbel noise [N, blocks, 2], or null to sample it from `seed`. */
  noise: Float32Array | null;
}

/** What predict resolves to (native/models/network_wrap.cc, outputs_to_js). */
export interface NativePrediction {
  logits: Float32Array;
  probabilities: Float32Array;
  /** SpotTune only. */
  policy?: Uint8Array;
  /** SpotTune with an agent-chosen policy only. */
  agentLogits?: Float32Array;
}

/** What trainStep resolves to (native/models/network_wrap.cc, outputs_to_js). */
export interface NativeTrainStepResult {
  loss: number;
  probabilities: Float32Array;
  /** SpotTune only. */
  policy?: Uint8Array;
}

/** One named tensor going into the network (loadState, loadOptimizerState). */
export interface NativeEntryIn {
  name: string;
  shape: number[];
  data: NativeTypedArray;
}

/** One named tensor coming out of the network (stateDict, gradients, optimizerState). */
export interface NativeEntry extends NativeEntryIn {
  dtype: NativeDType;
}

/** One parameter or buffer, without data (stateInfo). */
export interface NativeStateEntryInfo {
  name: string;
  shape: number[];
  dtype: NativeDType;
  parameter: boolean;
  trainable: boolean;
}

/** ReduceLROnPlateau's counters (schedulerState, loadSchedulerState); `best` is +-Infinity before any step. */
export interface NativeSchedulerState {
  best: number;
  numBadEpochs: number;
  cooldownCounter: number;
  lastEpoch: number;
  learningRates: number[];
}

/**
 * One network with its optimisers and scheduler (native/models/network_wrap.cc; the state is built
 * in network_state.cc, the maths is network_step.cc). One call at a time; lib/models/network.ts
 * holds the lifecycle users see and refuses overlapping or late calls before they get here.
 */
export interface NativeNetwork {
  /** Builds the state on the network's own thread; once per object. */
  init(config: NativeNetworkConfig): Promise<void>;
  /** `input` float32 [N, C, D, H, W] with `shape`. */
  predict(input: Float32Array, shape: readonly number[], options: NativePredictOptions): Promise<NativePrediction>;
  /** `labels` float32 [N, numClasses]. */
  trainStep(
    input: Float32Array,
    shape: readonly number[],
    labels: Float32Array,
    options: NativeTrainStepOptions,
  ): Promise<NativeTrainStepResult>;
  schedulerStep(metric: number): { reduced: boolean; learningRates: number[] };
  schedulerState(): NativeSchedulerState;
  loadSchedulerState(state: NativeSchedulerState): void;
  stateInfo(): NativeStateEntryInfo[];
  stateDict(): Promise<NativeEntry[]>;
  loadState(entries: readonly NativeEntryIn[]): Promise<void>;
  gradients(): Promise<NativeEntry[]>;
  optimizerState(): Promise<NativeEntry[]>;
  loadOptimizerState(entries: readonly NativeEntryIn[]): Promise<void>;
  to(device: string): Promise<void>;
  /** 'cpu' or 'cuda:N'. */
  device(): string;
  dispose(): void;
}

/** The addon's exports (native/addon.cc). */
export interface NativeBinding {
  /** native/bridge/tensor.cc */
  NativeTensor: NativeTensorClass;
  /** native/models/network_wrap.cc; call init() on a new object. */
  NativeNetwork: new () => NativeNetwork;
  /** native/bridge/runtime.cc */
  runtime(): NativeRuntime;
  /** native/bridge/runtime.cc; n in [1, 1024] (lib/runtime.ts). */
  setNumThreads(n: number): void;
  /** native/bridge/runtime.cc; a safe non-negative integer. */
  manualSeed(seed: number): void;
  /** native/bridge/runtime.cc: ends the process at once with `code` when native work is still running; otherwise returns false. */
  exitIfBusy(code: number): boolean;
  /** native/ops/conv.cc */
  conv3d(input: NativeTensor, weight: NativeTensor, bias: NativeTensor | null, options: NativeConv3dOptions): Promise<NativeTensor>;
  /** native/ops/augment.cc: [image] or [image, mask], each [D, H, W]. */
  augmentFlip(image: NativeTensor, mask: NativeTensor | null, dims: readonly number[]): Promise<NativeTensor[]>;
  /** native/ops/augment.cc */
  augmentRotate(image: NativeTensor, mask: NativeTensor | null, options: NativeRotateOptions): Promise<NativeTensor[]>;
  /** native/ops/augment.cc: `displacement` float64 [3, points[0], points[1], points[2]] in voxels. */
  augmentElastic(
    image: NativeTensor,
    mask: NativeTensor | null,
    displacement: Float64Array,
    points: readonly [number, number, number],
    options: NativeSamplingOptions,
  ): Promise<NativeTensor[]>;
  /** native/ops/augment.cc */
  augmentNoise(image: NativeTensor, options: NativeNoiseOptions): Promise<NativeTensor>;
  /**
   * native/bridge/runtime.cc: not API. Hooks that let test/native/exception-paths.test.ts reach error
   * paths no input reaches on demand; compiled into every build, and all they do is throw.
   * @internal
   */
  testHooks: NativeTestHooks;
}

/** @internal see {@link NativeBinding.testHooks} */
export interface NativeTestHooks {
  /**
   * Throws one kind of C++ exception on the JS thread (`'sync'`, thrown), a libuv pool thread
   * (`'pool'`) or a serial network thread (`'thread'`) (both rejecting the returned Promise).
   */
  raise(kind: 'coded' | 'torch' | 'torch-oom' | 'bad_alloc' | 'std' | 'unknown', where: 'sync' | 'pool' | 'thread'): Promise<void>;
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
      // The one unchecked step: a require() of the .node file, typed by the declarations above.
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
      '  - on Debian: `apt-get install libtorch-dev`, or set LIBTORCH=/path/to/libtorch (see docs/install.md, "LibTorch discovery")',
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
  if (!isMainThread) return;
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
