/**
 * The study's networks on LibTorch: MedicalNet's 3D ResNets and the 3D SpotTune network, with their
 * optimisers and learning-rate schedule, behind one {@link Network} object.
 *
 * TS validates every argument and resolves the configuration; native/models/network.cc runs each
 * call on a worker thread. One optimisation step per {@link Network.trainStep} call: a training
 * loop is a TS loop, so the event loop and libuv's pool stay free between steps.
 * @see reference-study.md section 6; Chen, Ma, Zheng 2019 (MedicalNet); Guo et al. 2019 (SpotTune)
 * @module
 */
import { CheckpointError, fromNative, TorchError } from '../native/errors.js';
import { native, type NativeTypedArray } from '../native/binding.js';
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
import { PAPER_TRAIN } from '../config/train.js';
import { assertCleanLoad, inflateStem, type LoadReport } from './medicalnet.js';

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
  /** Gumbel-softmax temperature of the backward pass (the Trainer passes train.gumbelTau's value). */
  tau?: number;
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

interface NativeEntry {
  name: string;
  dtype: DType;
  shape: number[];
  data: NativeTypedArray;
}

interface NativeNetwork {
  init(config: object): Promise<void>;
  predict(input: Float32Array, shape: number[], options: object): Promise<Prediction>;
  trainStep(input: Float32Array, shape: number[], labels: Float32Array, options: object): Promise<TrainStepResult>;
  schedulerStep(metric: number): { reduced: boolean; learningRates: number[] };
  schedulerState(): { best: number; numBadEpochs: number; cooldownCounter: number; lastEpoch: number; learningRates: number[] };
  loadSchedulerState(state: object): void;
  learningRates(): number[];
  stateInfo(): StateEntryInfo[];
  stateDict(): Promise<NativeEntry[]>;
  loadState(entries: { name: string; shape: number[]; data: NativeTypedArray }[]): Promise<void>;
  gradients(): Promise<NativeEntry[]>;
  optimizerState(): Promise<NativeEntry[]>;
  loadOptimizerState(entries: { name: string; shape: number[]; data: NativeTypedArray }[]): Promise<void>;
  parameterCount(mode: number): number;
  to(device: string): Promise<void>;
  device(): string;
  busy(): boolean;
  dispose(): void;
}

/** @internal */
const kNative: unique symbol = Symbol('spottune3d.network');

function toStateDict(entries: NativeEntry[]): StateDict {
  const out: StateDict = new Map();
  for (const e of entries) out.set(e.name, { dtype: e.dtype, shape: e.shape, data: e.data });
  return out;
}

const FLOAT_DTYPES: ReadonlySet<string> = new Set(['float32', 'float64', 'float16', 'bfloat16']);

function fromStateDict(map: StateDict, what: string): { name: string; shape: number[]; data: NativeTypedArray }[] {
  const out: { name: string; shape: number[]; data: NativeTypedArray }[] = [];
  for (const [name, t] of map) {
    if (!t || !ArrayBuffer.isView(t.data) || !Array.isArray(t.shape)) {
      throw new TypeError(`Expected ${what} entry "${name}" to be a HostTensor {dtype, shape, data} but received ${describeValue(t)}`);
    }
    const numel = t.shape.reduce((a, b) => a * b, 1);
    if (numel !== t.data.length) {
      throw new RangeError(`${what} entry "${name}": shape [${t.shape.join(', ')}] holds ${numel} elements but data has ${t.data.length}`);
    }
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
    if (s.some((d) => d < 1)) throw new RangeError(`Expected every dimension of shape [N, C, D, H, W] to be positive but received [${s.join(', ')}]`);
    if (s[1] !== this.config.inputChannels) {
      throw new RangeError(`Expected ${this.config.inputChannels} input channel(s) (shape [N, ${this.config.inputChannels}, D, H, W]) but received shape [${s.join(', ')}]`);
    }
    const numel = s.reduce((a, b) => a * b, 1);
    if (numel !== input.length) throw new RangeError(`Expected shape [${s.join(', ')}] to hold input.length = ${input.length} elements but it holds ${numel}`);
    return s as VolumeShape;
  }

  #checkNoise(noise: unknown, n: number): Float32Array | undefined {
    if (noise === undefined) return undefined;
    if (!this.isSpotTune) throw new TypeError('gumbelNoise applies to SpotTune networks only');
    if (!(noise instanceof Float32Array)) throw new TypeError(`Expected gumbelNoise to be a Float32Array [N, blocks, 2] but received ${describeValue(noise)}`);
    const expected = n * this.policyLength * 2;
    if (noise.length !== expected) {
      throw new RangeError(`Expected gumbelNoise to hold [${n}, ${this.policyLength}, 2] = ${expected} values but received ${noise.length}`);
    }
    return noise;
  }

  #checkPolicy(policy: PolicyChoice, n: number): Float32Array {
    const b = this.policyLength;
    let flat: Float32Array;
    if (Array.isArray(policy)) {
      if (policy.length !== n) throw new RangeError(`Expected policy to have ${n} rows (one per sample) of ${b} blocks but received ${policy.length} rows`);
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
      if (policy.length !== n * b) throw new RangeError(`Expected policy to hold [${n}, ${b}] = ${n * b} values but received ${policy.length}`);
      for (let i = 0; i < policy.length; i++) {
        if (policy[i] !== 0 && policy[i] !== 1) throw new RangeError(`Expected policy values to be 0 or 1 but policy[${i}] is ${policy[i]}`);
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
   * @see reference-study.md section 5 (evaluation samples the policy: 'sample', seed 42)
   */
  async predict(input: Float32Array, shape: readonly number[], options: PredictOptions = {}): Promise<Prediction> {
    this.#live('predict');
    const s = this.#checkInput(input, shape);
    const opts: Record<string, unknown> = {
      seed: checkInteger(options.seed ?? PAPER_MODEL.seed, 'options.seed', { min: 0, max: Number.MAX_SAFE_INTEGER }),
      routing: options.routing ?? 'select',
    };
    if (opts.routing !== 'select' && opts.routing !== 'both') throw new RangeError(`Unknown options.routing ${describeValue(opts.routing)}; expected "select" or "both"`);
    if (this.isSpotTune) {
      const policy = options.policy ?? 'sample';
      if (policy === 'sample' || policy === 'argmax') {
        opts.policyMode = policy;
      } else {
        opts.policyMode = 'fixed';
        opts.policy = this.#checkPolicy(policy, s[0]);
      }
      const noise = this.#checkNoise(options.gumbelNoise, s[0]);
      if (noise) opts.noise = noise;
    } else if (options.policy !== undefined) {
      throw new TypeError(`options.policy applies to SpotTune networks only; this is a ${this.config.kind} ResNet${this.config.depth}`);
    }
    return this.#run('predict', () => this[kNative].predict(input, s, opts));
  }

  /**
   * One optimisation step on a batch: forward in train mode (SpotTune: agent -> hard Gumbel-softmax
   * policy -> both copies mixed), BCE-with-logits (with `posWeight` if set), backward, one Adam step
   * on the network and one on the agent.
   * @param labels float32 [N, numClasses], usually 0/1
   * @throws TorchError ERR_NONFINITE_LOSS when the loss is NaN or infinite (the step is not applied)
   */
  async trainStep(input: Float32Array, shape: readonly number[], labels: Float32Array, options: TrainStepOptions): Promise<TrainStepResult> {
    this.#live('trainStep');
    const s = this.#checkInput(input, shape);
    if (!(labels instanceof Float32Array)) throw new TypeError(`Expected labels to be a Float32Array [N, numClasses] but received ${describeValue(labels)}`);
    const expected = s[0] * this.config.numClasses;
    if (labels.length !== expected) throw new RangeError(`Expected labels to hold [${s[0]}, ${this.config.numClasses}] = ${expected} values but received ${labels.length}`);
    for (let i = 0; i < labels.length; i++) {
      if (!Number.isFinite(labels[i])) throw new RangeError(`Expected finite labels but labels[${i}] is ${labels[i]}`);
    }
    if (options === null || typeof options !== 'object') throw new TypeError(`Expected options {seed} but received ${describeValue(options)}`);
    const opts: Record<string, unknown> = {
      seed: checkInteger(options.seed, 'options.seed', { min: 0, max: Number.MAX_SAFE_INTEGER }),
      // stop-gap until the native helper makes tau required: the temperature is train.gumbelTau now
      tau: checkNumber(options.tau ?? PAPER_TRAIN.gumbelTau, 'options.tau', { min: Number.MIN_VALUE }),
    };
    const noise = this.#checkNoise(options.gumbelNoise, s[0]);
    if (noise) opts.noise = noise;
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
    return this[kNative].learningRates();
  }

  /** The schedule's counters and rates, for a checkpoint. */
  schedulerState(): SchedulerState {
    this.#live('schedulerState');
    const s = this[kNative].schedulerState();
    return { ...s, best: Number.isFinite(s.best) ? s.best : null };
  }

  /** Restores {@link schedulerState}. */
  loadSchedulerState(state: SchedulerState): void {
    this.#live('loadSchedulerState');
    if (state === null || typeof state !== 'object') throw new TypeError(`Expected a SchedulerState but received ${describeValue(state)}`);
    const n = this.isSpotTune ? 2 : 1;
    if (!Array.isArray(state.learningRates) || state.learningRates.length !== n) {
      throw new RangeError(`Expected state.learningRates to hold ${n} rate(s) but received ${describeValue(state.learningRates)}`);
    }
    state.learningRates.forEach((lr, i) => checkNumber(lr, `state.learningRates[${i}]`, { min: 0 }));
    const initialBest = this.config.scheduler.mode === 'max' ? -Infinity : Infinity;
    const best = state.best === null ? initialBest : checkNumber(state.best, 'state.best');
    try {
      this[kNative].loadSchedulerState({
        best,
        numBadEpochs: checkInteger(state.numBadEpochs, 'state.numBadEpochs', { min: 0 }),
        cooldownCounter: checkInteger(state.cooldownCounter, 'state.cooldownCounter', { min: 0 }),
        lastEpoch: checkInteger(state.lastEpoch, 'state.lastEpoch', { min: 0 }),
        learningRates: state.learningRates,
      });
    } catch (err) {
      throw fromNative(err);
    }
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
   * A copy of every parameter and buffer by name (MedicalNet's names; see README, "Networks").
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
   * @throws CheckpointError ERR_CHECKPOINT_MISMATCH (strict, nothing loaded) listing every problem key;
   *   TypeError for a malformed entry or float data for an integer buffer (and the reverse)
   */
  async loadStateDict(stateDict: StateDict, options: LoadStateDictOptions = {}): Promise<LoadReport> {
    this.#live('loadStateDict');
    if (!(stateDict instanceof Map)) throw new TypeError(`Expected stateDict to be a Map<string, HostTensor> but received ${describeValue(stateDict)}`);
    const strict = options.strict ?? true;
    const inflate = options.inflate ?? true;
    const info = new Map(this.stateInfo().map((e) => [e.name, e]));
    const report: LoadReport = { loaded: [], missing: [], initialised: [], unexpected: [], mismatched: [] };
    const load: StateDict = new Map();
    for (const [key, given] of stateDict) {
      const own = info.get(key);
      if (!own) {
        report.unexpected.push(key);
        continue;
      }
      if (!given || !ArrayBuffer.isView(given.data) || !Array.isArray(given.shape)) {
        throw new TypeError(`Expected stateDict entry "${key}" to be a HostTensor {dtype, shape, data} but received ${describeValue(given)}`);
      }
      const ownFloat = FLOAT_DTYPES.has(own.dtype);
      const givenFloat = given.data instanceof Float32Array || given.data instanceof Float64Array;
      if (ownFloat !== givenFloat) {
        throw new TypeError(`stateDict entry "${key}": expected ${ownFloat ? 'floating-point' : 'integer'} data (${own.dtype}) but received ${describeValue(given.data)}`);
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
    const entries = fromStateDict(load, 'stateDict');
    await this.#run('loadStateDict', () => this[kNative].loadState(entries));
    return report;
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

  /** Restores {@link optimizerState}; parameters without entries start Adam afresh. */
  async loadOptimizerState(state: StateDict): Promise<void> {
    this.#live('loadOptimizerState');
    if (!(state instanceof Map)) throw new TypeError(`Expected state to be a Map<string, HostTensor> but received ${describeValue(state)}`);
    for (const key of state.keys()) {
      if (!/^(main|agent)\.(step|exp_avg|exp_avg_sq)\./.test(key)) {
        throw new CheckpointError(`Unexpected optimizer state key "${key}"; expected main.|agent. + step.|exp_avg.|exp_avg_sq. + a parameter name`, 'ERR_CHECKPOINT_MISMATCH');
      }
    }
    const entries = fromStateDict(state, 'optimizer state');
    await this.#run('loadOptimizerState', () => this[kNative].loadOptimizerState(entries));
  }

  /**
   * Parameters (not buffers), all or only the trainable (`trainable: true`) or frozen (`false`) ones.
   * SpotTune3D-50 at one input channel: 60,506,977 trainable (the paper's "60 million").
   */
  parameterCount(options: { trainable?: boolean } = {}): number {
    this.#live('parameterCount');
    return this[kNative].parameterCount(options.trainable === undefined ? 0 : options.trainable ? 1 : 2);
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

function architecture(depth: ResNetDepth, shortcut: 'A' | 'B') {
  const layout = RESNET_LAYOUTS[depth];
  return { bottleneck: layout.block === 'bottleneck', layers: [...layout.layers], shortcut };
}

/** The object native/models/network.cc reads: every value resolved, nothing left to default. */
function nativeConfig(c: NetworkConfig): object {
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
  const binding = native() as unknown as { NativeNetwork: new () => NativeNetwork };
  const handle = new binding.NativeNetwork();
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
