// A tiny deterministic stand-in for a Network: logistic regression on a volume's mean, plain SGD,
// and a ReduceLROnPlateau with the network's counters. It lets the trainer's logic be tested
// without LibTorch; test/train/trainer-native.test.ts runs the real networks.
import type { StateDict } from '../../lib/types.js';
import type { TrainableNetwork, TrainableSchedulerState } from '../../lib/train/index.js';

export interface FakeCall {
  kind: 'trainStep' | 'predict';
  n: number;
  seed: number;
  tau?: number;
}

export class FakeNetwork implements TrainableNetwork {
  isSpotTune = true;
  config: { scheduler: { mode: 'max' | 'min' } };
  w = 0;
  b = 0;
  lr = 20;
  steps = 0;
  sched = { best: null as number | null, numBadEpochs: 0, cooldownCounter: 0, lastEpoch: 0 };
  calls: FakeCall[] = [];
  failWith?: Error;
  stepDelayMs = 0;

  constructor(
    mode: 'max' | 'min' = 'max',
    readonly patience = 1,
  ) {
    this.config = { scheduler: { mode } };
  }

  #features(input: Float32Array, n: number): number[] {
    const per = input.length / n;
    return Array.from({ length: n }, (_, i) => {
      let s = 0;
      for (let j = 0; j < per; j++) s += input[i * per + j];
      return s / per - 0.5;
    });
  }

  async trainStep(input: Float32Array, shape: readonly number[], labels: Float32Array, options: { seed: number; tau?: number }) {
    this.calls.push({ kind: 'trainStep', n: shape[0], seed: options.seed, tau: options.tau });
    if (this.failWith) throw this.failWith;
    if (this.stepDelayMs) await new Promise((r) => setTimeout(r, this.stepDelayMs));
    const x = this.#features(input, shape[0]);
    // the seed jitters the gradient, as Gumbel noise would
    const jitter = ((options.seed % 1000) / 1000 - 0.5) * 0.01;
    let loss = 0,
      gw = 0,
      gb = 0;
    const probabilities = new Float32Array(shape[0]);
    x.forEach((xi, i) => {
      const z = this.w * xi + this.b;
      const p = 1 / (1 + Math.exp(-z));
      probabilities[i] = p;
      loss += Math.max(z, 0) - z * labels[i] + Math.log1p(Math.exp(-Math.abs(z)));
      gw += (p - labels[i]) * xi;
      gb += p - labels[i];
    });
    this.w -= this.lr * (gw / shape[0] + jitter);
    this.b -= this.lr * (gb / shape[0]);
    this.steps++;
    return { loss: loss / shape[0], probabilities };
  }

  async predict(input: Float32Array, shape: readonly number[], options: { seed?: number } = {}) {
    this.calls.push({ kind: 'predict', n: shape[0], seed: options.seed ?? -1 });
    const x = this.#features(input, shape[0]);
    const logits = Float32Array.from(x, (xi) => this.w * xi + this.b);
    return { logits, probabilities: logits.map((z) => 1 / (1 + Math.exp(-z))) };
  }

  schedulerStep(metric: number) {
    const better = this.sched.best === null || (this.config.scheduler.mode === 'max' ? metric > this.sched.best : metric < this.sched.best);
    this.sched.lastEpoch++;
    let reduced = false;
    if (better) {
      this.sched.best = metric;
      this.sched.numBadEpochs = 0;
    } else if (++this.sched.numBadEpochs > this.patience) {
      this.lr *= 0.1;
      this.sched.numBadEpochs = 0;
      reduced = true;
    }
    return { reduced, learningRates: [this.lr, this.lr * 10] };
  }

  schedulerState(): TrainableSchedulerState {
    return { ...this.sched, learningRates: [this.lr, this.lr * 10] };
  }

  loadSchedulerState(state: TrainableSchedulerState) {
    this.sched = { best: state.best, numBadEpochs: state.numBadEpochs, cooldownCounter: state.cooldownCounter, lastEpoch: state.lastEpoch };
    this.lr = state.learningRates[0];
  }

  learningRates() {
    return [this.lr, this.lr * 10];
  }

  async stateDict(): Promise<StateDict> {
    return new Map([
      ['w', { dtype: 'float64' as const, shape: [1], data: Float64Array.of(this.w) }],
      ['b', { dtype: 'float64' as const, shape: [1], data: Float64Array.of(this.b) }],
    ]);
  }

  async loadStateDict(sd: StateDict) {
    this.w = Number(sd.get('w')!.data[0]);
    this.b = Number(sd.get('b')!.data[0]);
  }

  async optimizerState(): Promise<StateDict> {
    return new Map([['main.step.w', { dtype: 'int64' as const, shape: [], data: BigInt64Array.of(BigInt(this.steps)) }]]);
  }

  async loadOptimizerState(state: StateDict) {
    this.steps = Number(state.get('main.step.w')!.data[0]);
  }

  async loadTrainingState(state: { model: StateDict; optimizer?: StateDict; scheduler?: TrainableSchedulerState }) {
    await this.loadStateDict(state.model);
    if (state.optimizer && state.optimizer.size > 0) await this.loadOptimizerState(state.optimizer);
    if (state.scheduler) this.loadSchedulerState(state.scheduler);
  }
}
