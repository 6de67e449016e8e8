/**
 * The training loop of the study: epochs of seeded, shuffled mini-batches through
 * {@link TrainableNetwork.trainStep}, a validation pass after every epoch, the network's
 * ReduceLROnPlateau stepped on a validation metric, a Gumbel temperature schedule, and model
 * selection by M = 0.6 SEN + 0.4 SPE on the validation fold alone, counting an epoch only when
 * SEN and SPE exceed their thresholds (the last epoch's model when none does).
 *
 * Runs are robust: with `outDir` every epoch ends with an atomic checkpoint (model, optimiser and
 * scheduler state, epoch, seeds, config, metrics, best so far) and rewritten metric logs, and
 * `run({ resume: true })` continues a killed run from its last checkpoint to the same selected
 * model an uninterrupted run reaches (every random draw is a function of the seed, the epoch and
 * the batch, never of how many draws came before).
 *
 * The loop is TypeScript; each step is one native call on a worker thread, and the next batch is
 * loaded (and augmented) while the current step runs.
 * @see docs/study.md section 5
 * @module
 */
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { resolveTrainConfig, type TrainConfig, type TrainOptions } from '../config/train.js';
import type { VolumeSample } from '../data/augment.js';
import { AugmentRng, deriveSeed } from '../data/transforms/rng.js';
import { loadCheckpoint, saveCheckpoint } from '../io/pth/index.js';
import { savePth, loadPth, stateDictOf } from '../io/pth/index.js';
import { CheckpointError, TorchError } from '../native/errors.js';
import type { StateDict } from '../types.js';
import { removeStaleTemporaries, writeFileAtomic, writeJsonAtomic } from '../util/atomic.js';
import { checkShape, describeValue } from '../util/validate.js';
import { bceWithLogits, passMetrics, type PassMetrics } from './metrics.js';

/** The learning-rate schedule's state as a network reports it (ReduceLROnPlateau). */
export interface TrainableSchedulerState {
  best: number | null;
  numBadEpochs: number;
  cooldownCounter: number;
  lastEpoch: number;
  learningRates: number[];
}

/**
 * What the trainer needs of a network: the {@link Network} of lib/models satisfies it. Inputs are
 * float32 [N, 1, D, H, W] batches; labels float32 [N, 1].
 */
export interface TrainableNetwork {
  readonly isSpotTune: boolean;
  readonly config: { scheduler: { mode: 'max' | 'min' } };
  trainStep(
    input: Float32Array,
    shape: readonly number[],
    labels: Float32Array,
    options: { seed: number; tau: number },
  ): Promise<{ loss: number; probabilities: Float32Array }>;
  predict(
    input: Float32Array,
    shape: readonly number[],
    options?: { seed?: number; policy?: 'sample' | 'argmax' },
  ): Promise<{ logits: Float32Array; probabilities: Float32Array }>;
  schedulerStep(metric: number): { reduced: boolean; learningRates: number[] };
  schedulerState(): TrainableSchedulerState;
  loadSchedulerState(state: TrainableSchedulerState): void;
  learningRates(): number[];
  stateDict(): Promise<StateDict>;
  loadStateDict(stateDict: StateDict, options?: { strict?: boolean; inflate?: boolean }): Promise<unknown>;
  optimizerState(): Promise<StateDict>;
  loadOptimizerState(state: StateDict): Promise<void>;
  /**
   * Loads a checkpoint's weights, optimiser state and schedule together: every part is checked
   * before any changes, so a checkpoint refused in one part leaves the network as it was.
   */
  loadTrainingState(
    state: { model: StateDict; optimizer?: StateDict; scheduler?: TrainableSchedulerState },
    options?: { strict?: boolean; inflate?: boolean },
  ): Promise<unknown>;
}

/** Options of a {@link Trainer}. */
export interface TrainerOptions {
  /** The network to train, already initialised (and loaded with pretrained weights). */
  network: TrainableNetwork;
  /** The training set (already expanded by {@link expandTrainingSet} when augmenting). */
  train: readonly VolumeSample[];
  /** The validation fold, untouched. */
  validation: readonly VolumeSample[];
  /** [D, H, W] of every volume (one channel). */
  shape: readonly number[];
  /** {@link TrainSchema}; the study's values unless given. */
  config?: TrainOptions;
  /**
   * Run folder for checkpoint.pth, best.pth, model.pth, metrics.jsonl, metrics.csv,
   * config.resolved.json and selection.json. Without it nothing is written and runs cannot resume.
   */
  outDir?: string;
  /** Stops the run between steps; `run()` then rejects with an AbortError. */
  signal?: AbortSignal;
  /** Recorded in config.resolved.json and every checkpoint (network options, fold, modality, ...). */
  meta?: Record<string, unknown>;
}

/** One epoch's record: what metrics.jsonl holds per line. */
export interface EpochRecord {
  /** 0-based. */
  epoch: number;
  /** Learning rates during the epoch ([network] or [network, agent]). */
  learningRates: number[];
  /** Gumbel temperature during the epoch. */
  tau: number;
  train: PassMetrics;
  validation: PassMetrics;
  /** Validation SEN and SPE both above their thresholds. */
  qualified: boolean;
  /** The selected model so far is this epoch's. */
  best: boolean;
  /** The learning rates were cut after this epoch. */
  lrReduced: boolean;
  seconds: number;
}

/** What {@link Trainer.run} resolves to. */
export interface TrainResult {
  /** 0-based epoch of the selected model. */
  selectedEpoch: number;
  /** 'best': the epoch with the highest M among qualified epochs; 'last': none qualified. */
  selection: 'best' | 'last';
  /** The selected epoch's record. */
  selected: EpochRecord;
  history: EpochRecord[];
  /** The epoch the run resumed at (0 for a fresh run). */
  resumedFrom: number;
  /** outDir/model.pth, the selected model's state dict. */
  modelPath?: string;
  config: TrainConfig;
}

/** Payloads of the trainer's events. */
export interface TrainerEvents {
  epochStart: [{ epoch: number; epochs: number; learningRates: number[]; tau: number; batches: number }];
  step: [{ epoch: number; batch: number; batches: number; loss: number; samples: number; seconds: number }];
  validation: [{ epoch: number; metrics: PassMetrics }];
  epochEnd: [EpochRecord];
  checkpoint: [{ epoch: number; path: string; best: boolean }];
}

/** One batch's volumes, [N, 1, D, H, W], and labels, [N, 1]. */
interface LoadedBatch {
  input: Float32Array;
  labels: Float32Array;
}

interface Best {
  epoch: number;
  m: number;
}

/** What a checkpoint stores besides tensors (metrics_json). */
interface RunState {
  history: EpochRecord[];
  scheduler: TrainableSchedulerState;
  best: Best | null;
  seeds: { seed: number };
}

const CHECKPOINT = 'checkpoint.pth';
const BEST = 'best.pth';
const MODEL = 'model.pth';

function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.name === 'AbortError') return reason;
  const err = new Error('Training was aborted', { cause: reason });
  err.name = 'AbortError';
  return err;
}

/** The Gumbel temperature of an epoch under a constant or stepwise schedule. */
export function tauAt(schedule: TrainConfig['gumbelTau'], epoch: number): number {
  if (typeof schedule === 'number') return schedule;
  let tau = schedule[0][1];
  for (const [from, value] of [...schedule].sort((a, b) => a[0] - b[0])) if (epoch >= from) tau = value;
  return tau;
}

/**
 * Trains one network on one fold. Listen to its typed events (`epochStart`, `step`, `validation`,
 * `epochEnd`, `checkpoint`), then `await trainer.run()`.
 *
 * @example
 * const net = await createSpotTune3d({ depth: 50 });
 * await net.loadStateDict(medicalNetWeights, { strict: false });
 * const { samples } = expandTrainingSet(trainFold, [70, 86, 86]);
 * const trainer = new Trainer({ network: net, train: samples, validation: valFold, shape: [70, 86, 86], outDir: 'runs/DTI_FA/fold0' });
 * trainer.on('epochEnd', (r) => console.log(r.epoch, r.validation.m));
 * const { selectedEpoch, selection } = await trainer.run({ resume: true });
 */
export class Trainer extends EventEmitter<TrainerEvents> {
  readonly config: TrainConfig;
  readonly #network: TrainableNetwork;
  readonly #train: readonly VolumeSample[];
  readonly #validation: readonly VolumeSample[];
  readonly #shape: [number, number, number];
  readonly #outDir: string | undefined;
  readonly #signal: AbortSignal | undefined;
  readonly #meta: Record<string, unknown>;
  #running = false;

  /**
   * @throws TypeError/RangeError for malformed samples, shape or config, or a network whose
   *   scheduler direction does not fit `plateauMetric`
   */
  constructor(options: TrainerOptions) {
    super();
    if (!options || typeof options !== 'object') throw new TypeError(`Expected trainer options but received ${describeValue(options)}`);
    const { network } = options;
    if (!network || typeof network.trainStep !== 'function' || typeof network.predict !== 'function') {
      throw new TypeError(`Expected options.network to be a Network but received ${describeValue(network)}`);
    }
    this.config = resolveTrainConfig(options.config ?? {});
    const wanted = this.config.plateauMetric === 'loss' ? 'min' : 'max';
    if (network.config.scheduler.mode !== wanted) {
      throw new RangeError(
        `plateauMetric ${JSON.stringify(this.config.plateauMetric)} needs the network's scheduler.mode ${JSON.stringify(wanted)} but it is ${JSON.stringify(network.config.scheduler.mode)}; create the network with scheduler: { mode: ${JSON.stringify(wanted)} }`,
      );
    }
    const shape = checkShape(options.shape, 'options.shape', { rank: 3 });
    if (shape.some((d) => d < 1))
      throw new RangeError(`Expected options.shape to be a positive [D, H, W] but received [${shape.join(', ')}]`);
    this.#shape = shape as [number, number, number];
    this.#train = checkSamples(options.train, 'options.train');
    this.#validation = checkSamples(options.validation, 'options.validation');
    if (this.#train.length === 0) throw new RangeError('Expected options.train to hold at least one sample');
    if (this.#validation.length === 0)
      throw new RangeError('Expected options.validation to hold at least one sample (selection is on the validation fold)');
    if (options.outDir !== undefined && (typeof options.outDir !== 'string' || options.outDir === '')) {
      throw new TypeError(`Expected options.outDir to be a folder path but received ${describeValue(options.outDir)}`);
    }
    if (options.signal !== undefined && !(options.signal instanceof AbortSignal))
      throw new TypeError('Expected options.signal to be an AbortSignal');
    this.#network = network;
    this.#outDir = options.outDir;
    this.#signal = options.signal;
    this.#meta = options.meta ?? {};
  }

  /** Training batches per epoch. */
  get batchesPerEpoch(): number {
    return Math.ceil(this.#train.length / this.config.batchSize);
  }

  /**
   * Trains to `config.epochs`, validating, scheduling, selecting and checkpointing every epoch.
   * At the end the network holds the selected model's weights (and outDir/model.pth has them).
   * @param options.resume continue from outDir/checkpoint.pth when it exists (a fresh run otherwise)
   * @throws AbortError when the signal fires (after the running step; the last checkpoint stays);
   *   TorchError ERR_NONFINITE_LOSS naming the epoch and batch; TorchError ERR_OUT_OF_MEMORY with
   *   what to reduce; CheckpointError when a checkpoint does not belong to this run's config
   */
  async run(options: { resume?: boolean } = {}): Promise<TrainResult> {
    if (this.#running) throw new TorchError('This trainer is already running', 'ERR_BUSY');
    if (options.resume && !this.#outDir) throw new TypeError('resume needs options.outDir (where the checkpoints are)');
    this.#running = true;
    try {
      return await this.#run(Boolean(options.resume));
    } finally {
      this.#running = false;
    }
  }

  get #resolved(): Record<string, unknown> {
    return {
      train: this.config,
      shape: this.#shape,
      trainSamples: this.#train.length,
      validationSamples: this.#validation.length,
      meta: this.#meta,
    };
  }

  async #run(resume: boolean): Promise<TrainResult> {
    const net = this.#network;
    const cfg = this.config;
    let state: RunState = { history: [], scheduler: net.schedulerState(), best: null, seeds: { seed: cfg.seed } };
    let bestModel: StateDict | undefined; // without outDir the selected weights stay in memory
    let startEpoch = 0;
    // a killed run (kill -9 mid-write) leaves .checkpoint.pth.<pid>.<hex>.tmp files as big as a checkpoint
    if (this.#outDir) await removeStaleTemporaries(this.#outDir);
    if (resume && existsSync(join(this.#outDir!, CHECKPOINT))) {
      const restored = await this.#restore();
      state = restored;
      startEpoch = restored.history.length;
    } else if (this.#outDir) {
      // a fresh run in a used folder must not resume stale files later
      for (const f of [CHECKPOINT, BEST, MODEL, 'selection.json']) await rm(join(this.#outDir, f), { force: true });
      await writeJsonAtomic(join(this.#outDir, 'config.resolved.json'), this.#resolved);
      await this.#writeLogs([]);
    }
    this.#checkAborted();

    for (let epoch = startEpoch; epoch < cfg.epochs; epoch++) {
      const started = performance.now();
      const tau = tauAt(cfg.gumbelTau, epoch);
      const learningRates = net.learningRates();
      this.emit('epochStart', { epoch, epochs: cfg.epochs, learningRates, tau, batches: this.batchesPerEpoch });
      const train = await this.#trainEpoch(epoch, tau);
      const validation = await this.#validate(epoch);
      this.emit('validation', { epoch, metrics: validation });
      const plateau = cfg.plateauMetric === 'loss' ? validation.loss : validation.acc + validation.auc;
      // a validation fold of one class has no AUC: the schedule then skips the epoch
      const lrReduced = Number.isFinite(plateau) ? net.schedulerStep(plateau).reduced : false;
      const qualified = validation.sen > cfg.senThreshold && validation.spe > cfg.speThreshold;
      const isBest = qualified && (state.best === null || validation.m > state.best.m);
      if (isBest) state.best = { epoch, m: validation.m };
      const record: EpochRecord = {
        epoch,
        learningRates,
        tau,
        train,
        validation,
        qualified,
        best: isBest,
        lrReduced,
        seconds: (performance.now() - started) / 1000,
      };
      state.history.push(record);
      if (isBest) {
        const weights = await net.stateDict();
        if (this.#outDir)
          await savePth(
            join(this.#outDir, BEST),
            new Map<string, unknown>([
              ['state_dict', weights],
              ['epoch', epoch],
            ]),
          );
        else bestModel = weights;
      }
      const last = epoch === cfg.epochs - 1;
      if (this.#outDir) {
        await this.#writeLogs(state.history);
        if (last || (epoch + 1) % cfg.checkpointEvery === 0) {
          await this.#checkpoint(state, epoch);
          this.emit('checkpoint', { epoch, path: join(this.#outDir, CHECKPOINT), best: isBest });
        }
      }
      this.emit('epochEnd', record);
      if (!last) this.#checkAborted();
    }
    return this.#finish(state, bestModel, startEpoch);
  }

  #checkAborted(): void {
    if (this.#signal?.aborted) throw abortError(this.#signal);
  }

  /** Loads one batch's volumes into [N, 1, D, H, W] with labels [N, 1]. */
  async #loadBatch(samples: readonly VolumeSample[]): Promise<LoadedBatch> {
    const voxels = this.#shape[0] * this.#shape[1] * this.#shape[2];
    const input = new Float32Array(samples.length * voxels);
    const volumes = await Promise.all(samples.map((s) => s.load()));
    volumes.forEach((v, i) => {
      if (!(v instanceof Float32Array) || v.length !== voxels) {
        throw new RangeError(
          `Sample ${JSON.stringify(samples[i].id)} loaded ${describeValue(v)}; expected a Float32Array of ${this.#shape.join(' x ')} = ${voxels} values`,
        );
      }
      input.set(v, i * voxels);
    });
    return { input, labels: Float32Array.from(samples, (s) => s.label) };
  }

  #batches(samples: readonly VolumeSample[], order: readonly number[]): VolumeSample[][] {
    const out: VolumeSample[][] = [];
    for (let i = 0; i < order.length; i += this.config.batchSize)
      out.push(order.slice(i, i + this.config.batchSize).map((j) => samples[j]));
    return out;
  }

  /**
   * Runs `body` on every batch in order, loading (and augmenting, on the libuv pool) the next
   * batch while the current one runs: the one prefetch loop of training and validation.
   * @param body gets the loaded batch, its index and when its turn began (load wait included)
   * @param between runs after every batch but the last (the abort check of training)
   */
  async #forEachBatch(
    batches: readonly VolumeSample[][],
    body: (batch: LoadedBatch, b: number, started: number) => Promise<void>,
    between?: () => void,
  ): Promise<void> {
    let next: Promise<LoadedBatch> | undefined = this.#loadBatch(batches[0]);
    try {
      for (let b = 0; b < batches.length; b++) {
        const started = performance.now();
        const batch = await next!;
        next = b + 1 < batches.length ? this.#loadBatch(batches[b + 1]) : undefined;
        await body(batch, b, started);
        if (b + 1 < batches.length) between?.();
      }
    } finally {
      // a pending prefetch must not become an unhandled rejection when the loop stops early
      next?.catch(() => undefined);
    }
  }

  async #trainEpoch(epoch: number, tau: number): Promise<PassMetrics> {
    const cfg = this.config;
    const n = this.#train.length;
    const order = cfg.shuffle
      ? new AugmentRng(deriveSeed(cfg.seed, 'shuffle', epoch)).permutation(n)
      : Array.from({ length: n }, (_, i) => i);
    const batches = this.#batches(this.#train, order);
    const labels: number[] = [];
    const probabilities: number[] = [];
    let lossSum = 0;
    await this.#forEachBatch(
      batches,
      async (batch, b, started) => {
        const count = batches[b].length;
        const shape = [count, 1, ...this.#shape];
        let result: { loss: number; probabilities: Float32Array };
        try {
          // every step gets the epoch's temperature (train.gumbelTau); the ResNets ignore it
          result = await this.#network.trainStep(batch.input, shape, batch.labels, { seed: deriveSeed(cfg.seed, 'step', epoch, b), tau });
        } catch (err) {
          throw this.#stepError(err, epoch, b, batches[b]);
        }
        if (!Number.isFinite(result.loss))
          throw this.#stepError(new TorchError(`loss is ${result.loss}`, 'ERR_NONFINITE_LOSS'), epoch, b, batches[b]);
        lossSum += result.loss * count;
        for (let i = 0; i < count; i++) {
          labels.push(batch.labels[i]);
          probabilities.push(result.probabilities[i]);
        }
        this.emit('step', {
          epoch,
          batch: b,
          batches: batches.length,
          loss: result.loss,
          samples: count,
          seconds: (performance.now() - started) / 1000,
        });
      },
      () => this.#checkAborted(),
    );
    return passMetrics(labels, probabilities, lossSum, cfg);
  }

  #stepError(err: unknown, epoch: number, batch: number, samples: readonly VolumeSample[]): Error {
    const code = (err as { code?: unknown } | null)?.code;
    const where = `epoch ${epoch}, batch ${batch} (samples ${samples.map((s) => s.id).join(', ')})`;
    const message = err instanceof Error ? err.message : String(err);
    if (code === 'ERR_NONFINITE_LOSS') {
      return new TorchError(
        `Non-finite training loss at ${where}: ${message}. Lower the learning rate, or check these volumes for NaN/Inf values`,
        'ERR_NONFINITE_LOSS',
        { cause: err },
      );
    }
    if (code === 'ERR_OUT_OF_MEMORY' || /out of memory|CUBLAS_STATUS_ALLOC_FAILED|DefaultCPUAllocator: can't allocate/i.test(message)) {
      return new TorchError(
        `Out of memory at ${where} with batchSize ${this.config.batchSize} and volumes of ${this.#shape.join(' x ')}: ${message}. Reduce batchSize, use a smaller input, or train on a device with more memory`,
        'ERR_OUT_OF_MEMORY',
        { cause: err },
      );
    }
    return err instanceof Error ? err : new TorchError(message);
  }

  async #validate(epoch: number): Promise<PassMetrics> {
    const cfg = this.config;
    const order = Array.from({ length: this.#validation.length }, (_, i) => i);
    const batches = this.#batches(this.#validation, order);
    const labels: number[] = [];
    const probabilities: number[] = [];
    let lossSum = 0;
    await this.#forEachBatch(batches, async (batch, b) => {
      const count = batches[b].length;
      // SpotTune samples its policy at evaluation too (the study); seeded per epoch and batch
      const out = await this.#network.predict(batch.input, [count, 1, ...this.#shape], {
        seed: deriveSeed(cfg.seed, 'validation', epoch, b),
        ...(this.#network.isSpotTune ? { policy: 'sample' as const } : {}),
      });
      for (let i = 0; i < count; i++) {
        labels.push(batch.labels[i]);
        probabilities.push(out.probabilities[i]);
        lossSum += bceWithLogits(out.logits[i], batch.labels[i]);
      }
    });
    return passMetrics(labels, probabilities, lossSum, cfg);
  }

  async #checkpoint(state: RunState, epoch: number): Promise<void> {
    const net = this.#network;
    state.scheduler = net.schedulerState();
    await saveCheckpoint(join(this.#outDir!, CHECKPOINT), {
      model: await net.stateDict(),
      optimizer: await net.optimizerState(),
      scheduler: { ...state.scheduler },
      epoch: epoch + 1,
      config: this.#resolved,
      metrics: { ...state } as unknown as Record<string, unknown>,
    });
  }

  async #restore(): Promise<RunState> {
    const path = join(this.#outDir!, CHECKPOINT);
    const ckpt = await loadCheckpoint(path);
    const saved = ckpt.config as { train?: unknown; shape?: unknown } | null;
    const mine = this.#resolved;
    for (const key of ['train', 'shape', 'trainSamples', 'validationSamples'] as const) {
      if (JSON.stringify((saved as Record<string, unknown> | null)?.[key]) !== JSON.stringify(mine[key])) {
        throw new CheckpointError(
          `${path} belongs to another run: its ${key} is ${JSON.stringify((saved as Record<string, unknown> | null)?.[key])}, this run's is ${JSON.stringify(mine[key])}. Use another outDir or start without resume`,
          'ERR_CHECKPOINT_MISMATCH',
        );
      }
    }
    const state = ckpt.metrics as unknown as RunState;
    if (!Array.isArray(state?.history) || state.history.length !== ckpt.epoch) {
      throw new CheckpointError(`${path} holds ${ckpt.epoch} epochs but ${describeValue(state?.history)} records`, 'ERR_CHECKPOINT_LAYOUT');
    }
    // one load for the three parts, checked before any is applied; the scheduler's counters travel
    // as JSON (exact, and free of pickle's int/float typing)
    const optimizer = ckpt.optimizer instanceof Map && ckpt.optimizer.size > 0 ? stateDictOf(ckpt.optimizer) : undefined;
    await this.#network.loadTrainingState({ model: ckpt.model, optimizer, scheduler: state.scheduler }, { strict: true, inflate: false });
    // the logs may be ahead of the checkpoint when a run died between the two writes
    await this.#writeLogs(state.history);
    return state;
  }

  async #writeLogs(history: readonly EpochRecord[]): Promise<void> {
    if (!this.#outDir) return;
    await writeFileAtomic(join(this.#outDir, 'metrics.jsonl'), history.map((r) => `${JSON.stringify(r)}\n`).join(''));
    await writeFileAtomic(join(this.#outDir, 'metrics.csv'), metricsCsv(history));
  }

  async #finish(state: RunState, bestModel: StateDict | undefined, resumedFrom: number): Promise<TrainResult> {
    const history = state.history;
    const last = history[history.length - 1];
    const selection: 'best' | 'last' = state.best ? 'best' : 'last';
    const selectedEpoch = state.best ? state.best.epoch : last.epoch;
    let modelPath: string | undefined;
    if (state.best) {
      const weights = bestModel ?? (this.#outDir ? stateDictOf(await loadPth(join(this.#outDir, BEST))) : undefined);
      if (weights) await this.#network.loadStateDict(weights, { strict: true, inflate: false });
    }
    if (this.#outDir) {
      modelPath = join(this.#outDir, MODEL);
      const selected = history[selectedEpoch];
      await savePth(
        modelPath,
        new Map<string, unknown>([
          ['state_dict', await this.#network.stateDict()],
          ['epoch', selectedEpoch],
          ['metrics_json', JSON.stringify(selected.validation)],
        ]),
      );
      await writeJsonAtomic(join(this.#outDir, 'selection.json'), {
        selectedEpoch,
        selection,
        reason: state.best
          ? `highest validation M among epochs with SEN > ${this.config.senThreshold} and SPE > ${this.config.speThreshold}`
          : `no epoch had validation SEN > ${this.config.senThreshold} and SPE > ${this.config.speThreshold}; the last epoch's model is kept`,
        validation: selected.validation,
        epochs: history.length,
      });
    }
    return { selectedEpoch, selection, selected: history[selectedEpoch], history, resumedFrom, modelPath, config: this.config };
  }
}

function checkSamples(samples: unknown, name: string): readonly VolumeSample[] {
  if (!Array.isArray(samples))
    throw new TypeError(`Expected ${name} to be an array of {id, label, load()} but received ${describeValue(samples)}`);
  samples.forEach((s: VolumeSample, i) => {
    if (!s || typeof s.id !== 'string' || typeof s.load !== 'function')
      throw new TypeError(`Expected ${name}[${i}] to be {id, label, load()} but received ${describeValue(s)}`);
    if (s.label !== 0 && s.label !== 1)
      throw new RangeError(`Expected ${name}[${i}].label to be 0 or 1 but received ${describeValue(s.label)}`);
  });
  return samples as VolumeSample[];
}

const CSV_METRICS = ['loss', 'acc', 'auc', 'sen', 'spe', 'm'] as const;

/** metrics.csv: one row per epoch, train_* and val_* columns. */
export function metricsCsv(history: readonly EpochRecord[]): string {
  const header = [
    'epoch',
    'lr',
    'agent_lr',
    'tau',
    ...CSV_METRICS.map((k) => `train_${k}`),
    ...CSV_METRICS.map((k) => `val_${k}`),
    'qualified',
    'best',
    'lr_reduced',
    'seconds',
  ];
  const num = (v: number) => (Number.isFinite(v) ? String(v) : '');
  const rows = history.map((r) =>
    [
      r.epoch,
      num(r.learningRates[0]),
      r.learningRates.length > 1 ? num(r.learningRates[1]) : '',
      num(r.tau),
      ...CSV_METRICS.map((k) => num(r.train[k])),
      ...CSV_METRICS.map((k) => num(r.validation[k])),
      r.qualified,
      r.best,
      r.lrReduced,
      r.seconds.toFixed(3),
    ].join(','),
  );
  return `${[header.join(','), ...rows].join('\n')}\n`;
}
