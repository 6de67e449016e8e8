/**
 * The study's networks on LibTorch: MedicalNet's 3D ResNets and the 3D SpotTune network, with their
 * optimisers and learning-rate schedule, behind one {@link Network} object.
 *
 * TS validates every argument, resolves the configuration and holds the lifecycle (busy, disposed);
 * native/models/network_wrap.cc runs each call on the network's own thread. One optimisation step per {@link Network.trainStep} call: a training
 * loop is a TS loop, so the event loop and libuv's pool stay free between steps.
 * @see docs/study.md section 6; Chen, Ma, Zheng 2019 (MedicalNet); Guo et al. 2019 (SpotTune)
 * @module
 */
import { MIN_GUMBEL_TAU } from '../config/train.js';
import { CheckpointError, fromNative, TorchError } from '../native/errors.js';
import {
  native,
  type NativeArchitecture,
  type NativeEntry,
  type NativeEntryIn,
  type NativeNetwork,
  type NativeNetworkConfig,
  type NativePredictOptions,
  type NativeSchedulerState,
  type NativeTrainStepOptions,
  type NativeTypedArray,
} from '../native/binding.js';
import type { HostTensor, StateDict } from '../types.js';
import type { DType } from '../tensor.js';
import { checkDevice } from '../tensor.js';
import { checkInteger, checkNumber, checkShape, describeValue } from '../util/validate.js';
import { describeConfigIssues } from '../config/experiment.js';
import {
  NetworkSchema,
  PAPER_MODEL,
  RESNET_LAYOUTS,
  residualBlockCount,
  type NetworkConfig,
  type NetworkOptions,
  type ResNetDepth,
} from '../config/model.js';
import { assertCleanLoad, inflateStem, type LoadReport } from './medicalnet-keys.js';

/** A batch of volumes: [N, C, D, H, W] (D, H, W = the NIfTI axes k, j, i). */
export type VolumeShape = [number, number, number, number, number];

/**
 * How SpotTune picks each block's copy in {@link Network.predict}:
 * - `'sample'`: hard Gumbel-softmax sample, argmax(logits + G), seeded by `seed` (the study);
 * - `'argmax'`: argmax of the agent's logits, no noise (deterministic);
 * - a fixed policy, N rows of one 0/1 per block (1 = the fine-tuned copy), as `number[][]` or a
 *   flat Uint8Array/Float32Array of N x blocks.
 */
export type PolicyChoice = 'sample' | 'argmax' | readonly (readonly number[])[] | Uint8Array | Float32Array;

/** Options of {@link Network.predict}. */
export interface PredictOptions {
  /** SpotTune only; default 'sample'. */
  policy?: PolicyChoice;
  /** Seed of the Gumbel noise (and nothing else: prediction runs in eval mode). Default {@link PAPER_MODEL}.seed. */
  seed?: number;
  /**
   * 'select' (default) computes only the chosen copy of each block per sample, grouping samples by
   * their choice; 'both' computes both copies and mixes them, as training does. The outputs agree.
   */
  routing?: 'select' | 'both';
  /** The Gumbel noise G itself, [N, blocks, 2] flat, instead of sampling it (to reproduce another implementation). */
  gumbelNoise?: Float32Array;
}

/** What {@link Network.predict} returns. */
export interface Prediction {
  /** [N, numClasses], row-major. */
  logits: Float32Array;
  /** sigmoid(logits), [N, numClasses]. */
  probabilities: Float32Array;
  /** SpotTune: [N, blocks], 1 where the sample went through the fine-tuned copy of the block. */
  policy?: Uint8Array;
  /** SpotTune with an agent-chosen policy: the agent's logits [N, blocks, 2]. */
  agentLogits?: Float32Array;
}

/** Options of {@link Network.trainStep}. */
export interface TrainStepOptions {
  /** Seed of everything random in the step (Gumbel noise, dropout masks). */
  seed: number;
  /**
   * Gumbel-softmax temperature of the backward pass (at least {@link MIN_GUMBEL_TAU}): the Trainer passes train.gumbelTau's
   * schedule. Required for SpotTune; the ResNets have no agent and ignore it (the Trainer omits it there).
   * @see docs/study.md section 5
   */
  tau: number;
  /** The Gumbel noise G, [N, blocks, 2] flat, instead of sampling it. */
  gumbelNoise?: Float32Array;
}

/** What {@link Network.trainStep} returns. */
export interface TrainStepResult {
  /** Mean BCE-with-logits over the batch, before the step. */
  loss: number;
  /** sigmoid of the train-mode logits, [N, numClasses]. */
  probabilities: Float32Array;
  /** SpotTune: the sampled policy [N, blocks]. */
  policy?: Uint8Array;
}

/** ReduceLROnPlateau's counters; what a checkpoint stores to resume the schedule exactly. */
export interface SchedulerState {
  /** Best metric so far; null before the first step (PyTorch's +-inf). */
  best: number | null;
  numBadEpochs: number;
  cooldownCounter: number;
  lastEpoch: number;
  /** Current learning rates: [network] or [network, agent]. */
  learningRates: number[];
}

/** One parameter or buffer of a network. */
export interface StateEntryInfo {
  name: string;
  shape: number[];
  dtype: DType;
  /** A parameter (else a buffer such as bn1.running_mean). */
  parameter: boolean;
  /** Receives gradients and is optimised. */
  trainable: boolean;
}

/** Options of {@link Network.loadStateDict}. */
export interface LoadStateDictOptions {
  /** Throw a CheckpointError (nothing loaded) when any key is missing, unexpected or mismatched. Default true. */
  strict?: boolean;
  /** Inflate a one-channel stem weight `conv1.weight` (and `agent.conv1.weight`) to the network's input channels. Default true. */
  inflate?: boolean;
}

export { MIN_GUMBEL_TAU } from '../config/train.js';

/** @internal */
const kNative: unique symbol = Symbol('spottune3d.network');

function toStateDict(entries: NativeEntry[]): StateDict {
  const out: StateDict = new Map();
  for (const e of entries) out.set(e.name, { dtype: e.dtype, shape: e.shape, data: e.data });
  return out;
}

const FLOAT_DTYPES: ReadonlySet<string> = new Set(['float32', 'float64', 'float16', 'bfloat16']);

/**
 * Checks that `t` is a whole HostTensor: a TypedArray `data` and a `shape` of non-negative safe
 * integers whose product is data.length. `what` names it in messages.
 */
function checkHostTensor(t: unknown, what: string): HostTensor {
  const given = t as Partial<HostTensor> | null | undefined;
  if (
    !given ||
    typeof given !== 'object' ||
    !ArrayBuffer.isView(given.data) ||
    given.data instanceof DataView ||
    !Array.isArray(given.shape)
  ) {
    throw new TypeError(`Expected ${what} to be a HostTensor {dtype, shape, data} but received ${describeValue(t)}`);
  }
  const shape = checkShape(given.shape, `${what}.shape`);
  const numel = shape.reduce((a, b) => a * b, 1);
  if (numel !== given.data.length) {
    throw new RangeError(`${what}: shape [${shape.join(', ')}] holds ${numel} elements but data has ${given.data.length}`);
  }
  return given as HostTensor;
}

function fromStateDict(map: StateDict, what: string): NativeEntryIn[] {
  const out: NativeEntryIn[] = [];
  for (const [name, t] of map) {
    checkHostTensor(t, `${what} entry "${name}"`);
    out.push({ name, shape: [...t.shape], data: t.data as NativeTypedArray });
  }
  return out;
}

/**
 * A 3D ResNet or 3D SpotTune network in LibTorch memory, with its Adam optimisers and
 * ReduceLROnPlateau schedule. Create one with {@link createNetwork} (or {@link createSpotTune3d},
 * {@link createResNet3d}, {@link createTransferResNet}, {@link createRandomResNet}); free it with
 * {@link Network.dispose} or `await using`.
 *
 * Calls that run the network return Promises and run off the JS thread; a network runs one call at
 * a time and refuses a second concurrent one with TorchError `ERR_BUSY`.
 */
export class Network {
  /** The resolved options. */
  readonly config: NetworkConfig;
  /** SpotTune's policy length (residual blocks of the trunk); 0 for the ResNets. */
  readonly policyLength: number;
  /** @internal */
  readonly [kNative]: NativeNetwork;
  #busyWith: string | undefined;
  #disposed = false;
  #info: StateEntryInfo[] | undefined;

  /** @internal use {@link createNetwork} */
  constructor(handle: NativeNetwork, config: NetworkConfig) {
    this[kNative] = handle;
    this.config = config;
    this.policyLength = config.kind === 'spottune' ? residualBlockCount(config.depth) : 0;
  }

  /** True for SpotTune3D (it has an agent and returns policies). */
  get isSpotTune(): boolean {
    return this.config.kind === 'spottune';
  }

  /** The device the network lives on. */
  get device(): string {
    this.#live('read the device');
    return this[kNative].device();
  }

  /** True while a call runs. */
  get busy(): boolean {
    return this.#busyWith !== undefined;
  }

  /** True after {@link dispose}. */
  get disposed(): boolean {
    return this.#disposed;
  }

  // The network's one lifecycle: every message and code users see for a busy or disposed network
  // comes from here, checked before any argument. native/models/network_wrap.cc refuses the same
  // cases only to keep memory safe when the binding is called directly.
  #live(what: string): void {
    if (this.#disposed) throw new TorchError(`The network was disposed; cannot ${what}`, 'ERR_DISPOSED');
    if (this.#busyWith) throw new TorchError(`The network is busy with ${this.#busyWith}; await it before calling ${what}`, 'ERR_BUSY');
  }

  async #run<T>(what: string, call: () => Promise<T>): Promise<T> {
    this.#live(what);
    const callSite = new Error();
    this.#busyWith = what;
    try {
      return await call();
    } catch (err) {
      throw fromNative(err, callSite);
    } finally {
      this.#busyWith = undefined;
    }
  }

  #checkInput(input: unknown, shape: unknown): VolumeShape {
    if (!(input instanceof Float32Array)) {
      throw new TypeError(`Expected input to be a Float32Array (a [N, C, D, H, W] batch, float32) but received ${describeValue(input)}`);
    }
    const s = checkShape(shape, 'shape', { rank: 5 });
    if (s.some((d) => d < 1))
      throw new RangeError(`Expected every dimension of shape [N, C, D, H, W] to be positive but received [${s.join(', ')}]`);
    if (s[1] !== this.config.inputChannels) {
      throw new RangeError(
        `Expected ${this.config.inputChannels} input channel(s) (shape [N, ${this.config.inputChannels}, D, H, W]) but received shape [${s.join(', ')}]`,
      );
    }
    const numel = s.reduce((a, b) => a * b, 1);
    if (numel !== input.length)
      throw new RangeError(`Expected shape [${s.join(', ')}] to hold input.length = ${input.length} elements but it holds ${numel}`);
    return s as VolumeShape;
  }

  #checkNoise(noise: unknown, n: number): Float32Array | undefined {
    if (noise === undefined) return undefined;
    if (!this.isSpotTune) throw new TypeError('gumbelNoise applies to SpotTune networks only');
    if (!(noise instanceof Float32Array))
      throw new TypeError(`Expected gumbelNoise to be a Float32Array [N, blocks, 2] but received ${describeValue(noise)}`);
    const expected = n * this.policyLength * 2;
    if (noise.length !== expected) {
      throw new RangeError(
        `Expected gumbelNoise to hold [${n}, ${this.policyLength}, 2] = ${expected} values but received ${noise.length}`,
      );
    }
    return noise;
  }

  #checkPolicy(policy: PolicyChoice, n: number): Float32Array {
    const b = this.policyLength;
    let flat: Float32Array;
    if (Array.isArray(policy)) {
      if (policy.length !== n)
        throw new RangeError(`Expected policy to have ${n} rows (one per sample) of ${b} blocks but received ${policy.length} rows`);
      flat = new Float32Array(n * b);
      policy.forEach((row: unknown, i) => {
        if (!Array.isArray(row) || row.length !== b) {
          throw new RangeError(`Expected policy[${i}] to hold ${b} values (one per residual block) but received ${describeValue(row)}`);
        }
        row.forEach((v: unknown, j) => {
          if (v !== 0 && v !== 1) throw new RangeError(`Expected policy[${i}][${j}] to be 0 or 1 but received ${describeValue(v)}`);
          flat[i * b + j] = v;
        });
      });
      return flat;
    }
    if (policy instanceof Uint8Array || policy instanceof Float32Array) {
      if (policy.length !== n * b)
        throw new RangeError(`Expected policy to hold [${n}, ${b}] = ${n * b} values but received ${policy.length}`);
      for (let i = 0; i < policy.length; i++) {
        if (policy[i] !== 0 && policy[i] !== 1)
          throw new RangeError(`Expected policy values to be 0 or 1 but policy[${i}] is ${policy[i]}`);
      }
      return Float32Array.from(policy);
    }
    throw new TypeError(`Expected policy to be 'sample', 'argmax', number[][] or a Uint8Array but received ${describeValue(policy)}`);
  }

  /**
   * Eval-mode prediction (BatchNorm running statistics, no dropout, no gradients).
   * @param input float32 [N, C, D, H, W], C-order
   * @param shape [N, C, D, H, W]; C must equal the network's `inputChannels`
   * @throws TypeError/RangeError for a wrong input, shape, policy or noise (naming expected and received)
   * @see docs/study.md section 5 (evaluation samples the policy: 'sample', seed 42)
   */
  async predict(input: Float32Array, shape: readonly number[], options: PredictOptions = {}): Promise<Prediction> {
    this.#live('predict');
    const s = this.#checkInput(input, shape);
    const routing = options.routing ?? 'select';
    if (routing !== 'select' && routing !== 'both')
      throw new RangeError(`Unknown options.routing ${describeValue(routing)}; expected "select" or "both"`);
    const opts: NativePredictOptions = {
      policyMode: 'none',
      policy: null,
      noise: null,
      seed: checkInteger(options.seed ?? PAPER_MODEL.seed, 'options.seed', { min: 0, max: Number.MAX_SAFE_INTEGER }),
      routing,
    };
    if (this.isSpotTune) {
      const policy = options.policy ?? 'sample';
      if (policy === 'sample' || policy === 'argmax') {
        opts.policyMode = policy;
      } else {
        opts.policyMode = 'fixed';
        opts.policy = this.#checkPolicy(policy, s[0]);
      }
      opts.noise = this.#checkNoise(options.gumbelNoise, s[0]) ?? null;
    } else if (options.policy !== undefined) {
      throw new TypeError(`options.policy applies to SpotTune networks only; this is a ${this.config.kind} ResNet${this.config.depth}`);
    }
    return this.#run('predict', () => this[kNative].predict(input, s, opts));
  }

  /**
   * One optimisation step on a batch: forward in train mode (SpotTune: agent -> hard Gumbel-softmax
   * policy -> both copies mixed), BCE-with-logits (with `posWeight` if set), backward, one Adam step
   * on the network and one on the agent.
   * @param labels float32 [N, numClasses], each in [0, 1] (usually 0/1)
   * @throws RangeError for labels outside [0, 1] or `options.tau` below {@link MIN_GUMBEL_TAU};
   *   TorchError ERR_NONFINITE_LOSS when the loss is NaN or infinite. A step that throws leaves the
   *   network as it was: parameters, BatchNorm running statistics and `num_batches_tracked`, Adam's
   *   state and the schedule, bit for bit (only {@link gradients} is emptied: the previous step's
   *   gradients are freed before the forward pass).
   */
  async trainStep(
    input: Float32Array,
    shape: readonly number[],
    labels: Float32Array,
    options: TrainStepOptions,
  ): Promise<TrainStepResult> {
    this.#live('trainStep');
    const s = this.#checkInput(input, shape);
    if (!(labels instanceof Float32Array))
      throw new TypeError(`Expected labels to be a Float32Array [N, numClasses] but received ${describeValue(labels)}`);
    const expected = s[0] * this.config.numClasses;
    if (labels.length !== expected)
      throw new RangeError(
        `Expected labels to hold [${s[0]}, ${this.config.numClasses}] = ${expected} values but received ${labels.length}`,
      );
    for (let i = 0; i < labels.length; i++) {
      // BCE-with-logits takes targets in [0, 1] (hard 0/1 or soft); outside it the loss has no minimum.
      if (!(labels[i] >= 0 && labels[i] <= 1)) throw new RangeError(`Expected labels in [0, 1] but labels[${i}] is ${labels[i]}`);
    }
    if (options === null || typeof options !== 'object')
      throw new TypeError(`Expected options {seed, tau} but received ${describeValue(options)}`);
    // Required for SpotTune; a ResNet has no Gumbel-softmax, so it passes null (a given tau is still checked).
    const tau = this.isSpotTune || options.tau !== undefined ? checkNumber(options.tau, 'options.tau', { min: MIN_GUMBEL_TAU }) : null;
    const opts: NativeTrainStepOptions = {
      seed: checkInteger(options.seed, 'options.seed', { min: 0, max: Number.MAX_SAFE_INTEGER }),
      tau: this.isSpotTune ? tau : null,
      noise: this.#checkNoise(options.gumbelNoise, s[0]) ?? null,
    };
    return this.#run('trainStep', () => this[kNative].trainStep(input, s, labels, opts));
  }

  /**
   * One epoch's ReduceLROnPlateau step on the validation metric (both optimisers).
   * @returns whether the rates were reduced, and the current rates ([network] or [network, agent])
   */
  schedulerStep(metric: number): { reduced: boolean; learningRates: number[] } {
    this.#live('schedulerStep');
    checkNumber(metric, 'metric');
    try {
      return this[kNative].schedulerStep(metric);
    } catch (err) {
      throw fromNative(err);
    }
  }

  /** Current learning rates: [network] or [network, agent]. */
  learningRates(): number[] {
    this.#live('learningRates');
    return this[kNative].schedulerState().learningRates;
  }

  /** The schedule's counters and rates, for a checkpoint. */
  schedulerState(): SchedulerState {
    this.#live('schedulerState');
    const s = this[kNative].schedulerState();
    return { ...s, best: Number.isFinite(s.best) ? s.best : null };
  }

  /**
   * Restores {@link schedulerState}. Every field is checked before anything changes.
   * @throws TypeError/RangeError naming the field (nothing changed)
   */
  loadSchedulerState(state: SchedulerState): void {
    this.#live('loadSchedulerState');
    const payload = this.#schedulerPayload(state);
    try {
      this[kNative].loadSchedulerState(payload);
    } catch (err) {
      throw fromNative(err);
    }
  }

  // The checked native form of a SchedulerState; throws before anything changes.
  #schedulerPayload(state: SchedulerState): NativeSchedulerState {
    if (state === null || typeof state !== 'object') throw new TypeError(`Expected a SchedulerState but received ${describeValue(state)}`);
    const n = this.isSpotTune ? 2 : 1;
    if (!Array.isArray(state.learningRates) || state.learningRates.length !== n) {
      throw new RangeError(`Expected state.learningRates to hold ${n} rate(s) but received ${describeValue(state.learningRates)}`);
    }
    state.learningRates.forEach((lr, i) => checkNumber(lr, `state.learningRates[${i}]`, { min: 0 }));
    const initialBest = this.config.scheduler.mode === 'max' ? -Infinity : Infinity;
    return {
      best: state.best === null ? initialBest : checkNumber(state.best, 'state.best'),
      numBadEpochs: checkInteger(state.numBadEpochs, 'state.numBadEpochs', { min: 0 }),
      cooldownCounter: checkInteger(state.cooldownCounter, 'state.cooldownCounter', { min: 0 }),
      lastEpoch: checkInteger(state.lastEpoch, 'state.lastEpoch', { min: 0 }),
      learningRates: [...state.learningRates],
    };
  }

  /** Every parameter and buffer: name, shape, dtype, whether it trains (PyTorch's state_dict order). */
  stateInfo(): StateEntryInfo[] {
    this.#live('stateInfo');
    this.#info ??= this[kNative].stateInfo();
    return this.#info.map((e) => ({ ...e, shape: [...e.shape] }));
  }

  /** Names of the parameters and buffers, in PyTorch's state_dict order. */
  stateNames(): string[] {
    return this.stateInfo().map((e) => e.name);
  }

  /**
   * A copy of every parameter and buffer by name (MedicalNet's names; see docs/networks.md).
   * float32 parameters and buffers; `num_batches_tracked` is int64 (BigInt64Array).
   */
  async stateDict(): Promise<StateDict> {
    return toStateDict(await this.#run('stateDict', () => this[kNative].stateDict()));
  }

  /**
   * Copies tensors into the network by name. Float data (float32 or float64) goes into float
   * parameters, integer data into integer buffers. A one-channel stem weight is inflated to the
   * network's input channels (repeated, divided by C) unless `inflate: false`.
   * @returns which keys were loaded, missing, unexpected or of another shape (`initialised` is empty)
   * @throws CheckpointError ERR_CHECKPOINT_MISMATCH (strict) listing every problem key; TypeError
   *   for a malformed entry or float data for an integer buffer (and the reverse); RangeError for an
   *   entry whose data does not fill its shape. Whatever it throws, nothing was loaded.
   */
  async loadStateDict(stateDict: StateDict, options: LoadStateDictOptions = {}): Promise<LoadReport> {
    this.#live('loadStateDict');
    const { report, entries } = this.#stateDictPayload(stateDict, options);
    await this.#run('loadStateDict', () => this[kNative].loadState(entries));
    return report;
  }

  // The checked entries of a state dict and the report; throws before anything changes.
  #stateDictPayload(stateDict: StateDict, options: LoadStateDictOptions): { report: LoadReport; entries: NativeEntryIn[] } {
    if (options === null || typeof options !== 'object')
      throw new TypeError(`Expected options to be an object but received ${describeValue(options)}`);
    if (!(stateDict instanceof Map))
      throw new TypeError(`Expected stateDict to be a Map<string, HostTensor> but received ${describeValue(stateDict)}`);
    const strict = options.strict ?? true;
    const inflate = options.inflate ?? true;
    const info = new Map(this.stateInfo().map((e) => [e.name, e]));
    const report: LoadReport = { loaded: [], missing: [], initialised: [], unexpected: [], mismatched: [] };
    // Every tensor handed in is whole before anything else is looked at, the unexpected ones too: a
    // stem weight declared [64, 1, 7, 7, 7] over 3 values would otherwise be inflated, zero-filled.
    for (const [key, given] of stateDict) checkHostTensor(given, `stateDict entry "${key}"`);
    const load: StateDict = new Map();
    for (const [key, given] of stateDict) {
      const own = info.get(key);
      if (!own) {
        report.unexpected.push(key);
        continue;
      }
      const ownFloat = FLOAT_DTYPES.has(own.dtype);
      const givenFloat = given.data instanceof Float32Array || given.data instanceof Float64Array;
      if (ownFloat !== givenFloat) {
        throw new TypeError(
          `stateDict entry "${key}": expected ${ownFloat ? 'floating-point' : 'integer'} data (${own.dtype}) but received ${describeValue(given.data)}`,
        );
      }
      let tensor: HostTensor = given;
      const isStem = key === 'conv1.weight' || key === 'agent.conv1.weight';
      if (inflate && isStem && given.shape.length === 5 && given.shape[1] === 1 && own.shape[1] !== 1) {
        tensor = inflateStem(given, own.shape[1]);
      }
      if (tensor.shape.length !== own.shape.length || tensor.shape.some((d, i) => d !== own.shape[i])) {
        report.mismatched.push({ key, expected: [...own.shape], actual: [...given.shape] });
        continue;
      }
      report.loaded.push(key);
      load.set(key, tensor);
    }
    for (const key of info.keys()) if (!stateDict.has(key)) report.missing.push(key);
    if (strict) assertCleanLoad(report, 'state dict');
    return { report, entries: fromStateDict(load, 'stateDict') };
  }

  /**
   * The gradients left by the last {@link trainStep}, by parameter name (frozen parameters have none).
   * @param names only these (default: all)
   */
  async gradients(names?: readonly string[]): Promise<StateDict> {
    const all = toStateDict(await this.#run('gradients', () => this[kNative].gradients()));
    if (!names) return all;
    return new Map(names.filter((n) => all.has(n)).map((n) => [n, all.get(n)!]));
  }

  /**
   * Adam's state as tensors by name: `main.step.<param>` (int64 scalar), `main.exp_avg.<param>`,
   * `main.exp_avg_sq.<param>`, and `agent.*` likewise for SpotTune's agent. With
   * {@link schedulerState} and {@link stateDict} it resumes a run exactly.
   */
  async optimizerState(): Promise<StateDict> {
    return toStateDict(await this.#run('optimizerState', () => this[kNative].optimizerState()));
  }

  /**
   * Restores {@link optimizerState}; parameters without entries start Adam afresh. Every entry is
   * checked before anything changes, so a load that throws leaves both optimisers as they were.
   * @throws CheckpointError ERR_CHECKPOINT_MISMATCH for a key that names no trainable parameter of
   *   its optimiser (`agent.*` belongs to SpotTune's agent, `main.*` to the rest) or a parameter
   *   without all three of step, exp_avg and exp_avg_sq; TypeError/RangeError for a malformed entry,
   *   a step that is not one non-negative integer, or exp_avg* of another shape than its parameter
   */
  async loadOptimizerState(state: StateDict): Promise<void> {
    this.#live('loadOptimizerState');
    const entries = this.#optimizerPayload(state);
    await this.#run('loadOptimizerState', () => this[kNative].loadOptimizerState(entries));
  }

  // The checked entries of an optimizer state; throws before anything changes.
  #optimizerPayload(state: StateDict): NativeEntryIn[] {
    if (!(state instanceof Map)) throw new TypeError(`Expected state to be a Map<string, HostTensor> but received ${describeValue(state)}`);
    const trainable = new Map<string, StateEntryInfo>();
    for (const e of this.stateInfo()) {
      if (e.trainable) trainable.set(`${this.isSpotTune && e.name.startsWith('agent.') ? 'agent' : 'main'}.${e.name}`, e);
    }
    const fields = new Map<string, Set<string>>();
    for (const [key, t] of state) {
      const match = /^(main|agent)\.(step|exp_avg|exp_avg_sq)\.(.+)$/.exec(key);
      if (!match) {
        throw new CheckpointError(
          `Unexpected optimizer state key "${key}"; expected main.|agent. + step.|exp_avg.|exp_avg_sq. + a parameter name`,
          'ERR_CHECKPOINT_MISMATCH',
        );
      }
      const [, group, field, name] = match;
      const param = trainable.get(`${group}.${name}`);
      if (!param) {
        throw new CheckpointError(
          `Optimizer state key "${key}" names no trainable parameter of the ${group === 'agent' ? "agent's" : "network's"} optimizer`,
          'ERR_CHECKPOINT_MISMATCH',
        );
      }
      const what = `optimizer state entry "${key}"`;
      const tensor = checkHostTensor(t, what);
      if (field === 'step') {
        const count = tensor.data.length === 1 ? Number(tensor.data[0]) : Number.NaN;
        if (!Number.isSafeInteger(count) || count < 0) {
          throw new RangeError(
            `Expected ${what} to hold one non-negative integer (Adam's step count) but received ${tensor.data.length} value(s)${tensor.data.length === 1 ? `: ${String(tensor.data[0])}` : ''}`,
          );
        }
      } else {
        if (!(tensor.data instanceof Float32Array || tensor.data instanceof Float64Array)) {
          throw new TypeError(`Expected ${what} to hold floating-point data but received ${describeValue(tensor.data)}`);
        }
        if (tensor.shape.length !== param.shape.length || tensor.shape.some((d, i) => d !== param.shape[i])) {
          throw new RangeError(
            `Expected ${what} to have its parameter's shape [${param.shape.join(', ')}] but received [${tensor.shape.join(', ')}]`,
          );
        }
      }
      const seen = fields.get(`${group}.${name}`) ?? new Set<string>();
      fields.set(`${group}.${name}`, seen.add(field));
    }
    for (const [param, seen] of fields) {
      if (seen.size !== 3) {
        const [group, ...rest] = param.split('.');
        const absent = ['step', 'exp_avg', 'exp_avg_sq'].filter((f) => !seen.has(f)).map((f) => `${group}.${f}.${rest.join('.')}`);
        throw new CheckpointError(
          `Optimizer state for "${rest.join('.')}" lacks ${absent.map((k) => `"${k}"`).join(' and ')}: step, exp_avg and exp_avg_sq travel together`,
          'ERR_CHECKPOINT_MISMATCH',
        );
      }
    }
    return fromStateDict(state, 'optimizer state');
  }

  /**
   * Restores a training checkpoint: the model's state dict, Adam's state and the schedule together.
   * All three are checked before any changes, so a checkpoint with one bad part (a corrupt Adam
   * entry, a scheduler field of the wrong type) leaves the network wholly as it was, not with new
   * weights and old optimiser state.
   * @param state `model` as for {@link loadStateDict}, `optimizer` as for {@link loadOptimizerState}
   *   (absent or empty: Adam starts afresh), `scheduler` as for {@link loadSchedulerState} (absent:
   *   the schedule stays as it is)
   * @throws what those three throw, before anything is loaded
   */
  async loadTrainingState(
    state: { model: StateDict; optimizer?: StateDict; scheduler?: SchedulerState },
    options: LoadStateDictOptions = {},
  ): Promise<LoadReport> {
    this.#live('loadTrainingState');
    if (state === null || typeof state !== 'object')
      throw new TypeError(`Expected state {model, optimizer, scheduler} but received ${describeValue(state)}`);
    const { report, entries } = this.#stateDictPayload(state.model, options);
    const optimizer = this.#optimizerPayload(state.optimizer ?? new Map());
    const scheduler = state.scheduler === undefined ? undefined : this.#schedulerPayload(state.scheduler);
    await this.#run('loadTrainingState', async () => {
      await this[kNative].loadState(entries);
      await this[kNative].loadOptimizerState(optimizer);
      if (scheduler) this[kNative].loadSchedulerState(scheduler);
    });
    return report;
  }

  /**
   * Parameters (not buffers), all or only the trainable (`trainable: true`) or frozen (`false`) ones.
   * SpotTune3D-50 at one input channel: 60,506,977 trainable (the paper's "60 million").
   */
  parameterCount(options: { trainable?: boolean } = {}): number {
    this.#live('parameterCount');
    const { trainable } = options;
    let count = 0;
    for (const e of this.stateInfo()) {
      if (e.parameter && (trainable === undefined || e.trainable === trainable)) count += e.shape.reduce((a, b) => a * b, 1);
    }
    return count;
  }

  /** Moves the network and its optimiser state to `device` ('cpu', 'cuda', 'cuda:N'). */
  async to(device: string): Promise<void> {
    checkDevice(device);
    await this.#run('to', () => this[kNative].to(device));
  }

  /** Frees the network now (a running call finishes first); later calls throw ERR_DISPOSED. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this[kNative].dispose();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.dispose();
  }

  toString(): string {
    return `Network(${this.config.kind}, depth ${this.config.depth}${this.#disposed ? ', disposed' : ''})`;
  }
}

function parseOptions(options: unknown): NetworkConfig {
  if (options !== undefined && (options === null || typeof options !== 'object' || Array.isArray(options))) {
    throw new TypeError(`Expected network options to be an object but received ${describeValue(options)}`);
  }
  const parsed = NetworkSchema.safeParse(options ?? {}, { reportInput: true });
  if (!parsed.success) {
    const issues = describeConfigIssues(NetworkSchema, parsed.error);
    const message = `Invalid network options:\n${issues.map((i) => `  - ${i.path}: ${i.message}`).join('\n')}`;
    const typeOnly = parsed.error.issues.every((i) => i.code === 'invalid_type');
    throw typeOnly ? new TypeError(message) : new RangeError(message);
  }
  const config: NetworkConfig = { ...parsed.data, shortcutType: parsed.data.shortcutType ?? RESNET_LAYOUTS[parsed.data.depth].shortcut };
  if (config.kind === 'transfer' && config.transfer.trainableBlocks > residualBlockCount(config.depth)) {
    throw new RangeError(
      `Expected transfer.trainableBlocks to be at most ${residualBlockCount(config.depth)} (the residual blocks of a ResNet${config.depth}) but received ${config.transfer.trainableBlocks}`,
    );
  }
  const posWeight = config.posWeight === undefined ? undefined : Array.isArray(config.posWeight) ? config.posWeight : [config.posWeight];
  if (posWeight && posWeight.length !== config.numClasses) {
    throw new RangeError(`Expected posWeight to hold ${config.numClasses} value(s) (one per class) but received ${posWeight.length}`);
  }
  return config;
}

function architecture(depth: ResNetDepth, shortcut: 'A' | 'B'): NativeArchitecture {
  const layout = RESNET_LAYOUTS[depth];
  return { bottleneck: layout.block === 'bottleneck', layers: [...layout.layers], shortcut };
}

/** The object native/models/network_config.cc reads: every value resolved, nothing left to default. */
function nativeConfig(c: NetworkConfig): NativeNetworkConfig {
  return {
    kind: c.kind === 'spottune' ? 'spottune' : 'resnet',
    architecture: architecture(c.depth, c.shortcutType),
    agentArchitecture: architecture(c.agentDepth, RESNET_LAYOUTS[c.agentDepth].shortcut),
    inputChannels: c.inputChannels,
    numClasses: c.numClasses,
    dropout: c.dropout,
    trainableBlocks: c.kind === 'transfer' ? c.transfer.trainableBlocks : -1,
    frozenBatchNormUpdatesStats: c.frozenBatchNormUpdatesStats,
    device: c.device,
    mixedPrecision: c.mixedPrecision === 'bf16' ? 'bf16' : 'none',
    channelsLast: c.channelsLast,
    learningRate: c.learningRate,
    agentLearningRate: c.agentLearningRate,
    weightDecay: c.weightDecay,
    agentWeightDecay: c.agentWeightDecay,
    beta1: c.beta1,
    beta2: c.beta2,
    eps: c.eps,
    posWeight: c.posWeight === undefined ? null : Array.isArray(c.posWeight) ? c.posWeight : [c.posWeight],
    scheduler: c.scheduler,
    seed: c.seed,
  };
}

/**
 * Builds a network (off the JS thread: a ResNet200 takes a few seconds) with seeded MedicalNet
 * initialisation: Conv3d kaiming normal (fan_out), BatchNorm 1/0, Linear PyTorch's default.
 * SpotTune's fine-tuned copy starts equal to the frozen copy.
 *
 * @example
 * await using net = await createNetwork({ kind: 'spottune', depth: 50 });
 * const { loss, policy } = await net.trainStep(batch, [12, 1, 70, 86, 86], labels, { seed: step });
 * const { probabilities } = await net.predict(volume, [1, 1, 70, 86, 86], { policy: 'sample', seed: 42 });
 * @throws TypeError/RangeError for invalid options (with the key path and a did-you-mean);
 *   TorchError ERR_CUDA_UNAVAILABLE for a CUDA device without CUDA
 * @see NetworkSchema for every option and its source
 */
export async function createNetwork(options: NetworkOptions = {}): Promise<Network> {
  const config = parseOptions(options);
  checkDevice(config.device, 'options.device');
  const callSite = new Error();
  const handle = new (native().NativeNetwork)();
  try {
    await handle.init(nativeConfig(config));
  } catch (err) {
    throw fromNative(err, callSite);
  }
  return new Network(handle, config);
}

/** SpotTune3D (frozen + fine-tuned copies of a ResNet3D's blocks, an agent ResNet3D-10). */
export function createSpotTune3d(options: Omit<NetworkOptions, 'kind'> = {}): Promise<Network> {
  return createNetwork({ ...options, kind: 'spottune' });
}

/** A plain ResNet3D, every parameter trainable. */
export function createResNet3d(options: Omit<NetworkOptions, 'kind'> = {}): Promise<Network> {
  return createNetwork({ ...options, kind: 'resnet' });
}

/** The paper's transferred ResNet: only the classifier (and the last `transfer.trainableBlocks` blocks) trains. */
export function createTransferResNet(options: Omit<NetworkOptions, 'kind'> = {}): Promise<Network> {
  return createNetwork({ ...options, kind: 'transfer' });
}

/** The paper's randomly initialised ResNet (everything trains). */
export function createRandomResNet(options: Omit<NetworkOptions, 'kind'> = {}): Promise<Network> {
  return createNetwork({ ...options, kind: 'random' });
}
