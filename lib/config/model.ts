/**
 * Network configuration: the 3D ResNets (MedicalNet), the 3D SpotTune network and their optimisation
 * (Adam per part, ReduceLROnPlateau). Every default cites its source; C++ holds none.
 * @module
 */
import { z } from 'zod';
import { DeviceSchema } from './device.js';

/** The ResNet depths MedicalNet publishes. */
export const RESNET_DEPTHS = [10, 18, 34, 50, 101, 152, 200] as const;
/** One of {@link RESNET_DEPTHS}: the number of weighted layers of a 3D ResNet. */
export type ResNetDepth = (typeof RESNET_DEPTHS)[number];

/**
 * Block layout per depth, as MedicalNet's models/resnet.py builds it, and the shortcut type of its
 * released checkpoints (10 = B, 18 = A, 34 = A, 50 and deeper = B).
 * @see docs/study.md section 7; Chen, Ma, Zheng 2019 (MedicalNet) models/resnet.py
 */
export const RESNET_LAYOUTS: Readonly<
  Record<ResNetDepth, { block: 'basic' | 'bottleneck'; layers: readonly [number, number, number, number]; shortcut: 'A' | 'B' }>
> = Object.freeze({
  10: { block: 'basic', layers: [1, 1, 1, 1], shortcut: 'B' },
  18: { block: 'basic', layers: [2, 2, 2, 2], shortcut: 'A' },
  34: { block: 'basic', layers: [3, 4, 6, 3], shortcut: 'A' },
  50: { block: 'bottleneck', layers: [3, 4, 6, 3], shortcut: 'B' },
  101: { block: 'bottleneck', layers: [3, 4, 23, 3], shortcut: 'B' },
  152: { block: 'bottleneck', layers: [3, 8, 36, 3], shortcut: 'B' },
  200: { block: 'bottleneck', layers: [3, 24, 36, 3], shortcut: 'B' },
});

/** Residual blocks of a ResNet of this depth (16 for ResNet50: SpotTune's policy length). */
export function residualBlockCount(depth: ResNetDepth): number {
  return RESNET_LAYOUTS[depth].layers.reduce((a, b) => a + b, 0);
}

/** The study's network and optimiser values (docs/study.md sections 5 and 6). */
export const PAPER_MODEL = {
  /** MedicalNet ResNet50 trunk (section 6). */
  depth: 50,
  /** Agent: a 3D ResNet10, BasicBlock [1, 1, 1, 1], head 512 -> 2 per block (section 6). */
  agentDepth: 10,
  /** n_channels = 1: one model per derivative (section 5, gen_params). */
  inputChannels: 1,
  /** n_classes = 1: one logit, BCE-with-logits (section 5). */
  numClasses: 1,
  /** dropout = 0.0 (section 5 table). */
  dropout: 0,
  /** model.train() keeps updating the running statistics of frozen BatchNorms (section 6, deviation 4). */
  frozenBatchNormUpdatesStats: true,
  /** Adam lr on the fine-tuned blocks and the classifier (section 5: learning_rate 1e-5). */
  learningRate: 1e-5,
  /** Adam lr on the agent (section 5: agent_learning_rate 1e-4). */
  agentLearningRate: 1e-4,
  /** Adam weight_decay, coupled L2 (section 5: l2_reg, agent_l2_reg 1e-8). */
  weightDecay: 1e-8,
  agentWeightDecay: 1e-8,
  /** Adam betas and eps: PyTorch's defaults, which the study keeps (section 5). */
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  /** ReduceLROnPlateau(factor=0.1, patience=20), other arguments PyTorch's defaults (section 5). */
  scheduler: { factor: 0.1, patience: 20, threshold: 1e-4, thresholdMode: 'rel', cooldown: 0, minLr: 0, eps: 1e-8 },
  /**
   * The study stepped the scheduler on validation ACC + AUC in PyTorch's default mode 'min', which
   * cuts the rate when the metric stops *falling* (reference bug 6); 'max' is what that metric needs.
   */
  schedulerMode: 'max',
  /** torch.manual_seed(42) before building each fold's model (section 5, seeds). */
  seed: 42,
} as const;

const device = DeviceSchema.describe('Where the network lives');

const depth = z.literal(RESNET_DEPTHS).describe('ResNet depth: 10, 18, 34 (BasicBlock), 50, 101, 152, 200 (Bottleneck)');

/** ReduceLROnPlateau settings (PyTorch's names in camelCase). */
export const SchedulerSchema = z
  .object({
    mode: z.enum(['max', 'min']).default(PAPER_MODEL.schedulerMode).describe("'max': reduce when the metric stops rising"),
    factor: z
      .number()
      .positive()
      .max(1)
      .default(PAPER_MODEL.scheduler.factor)
      .describe('Learning rates are multiplied by this on a plateau'),
    patience: z.number().int().min(0).default(PAPER_MODEL.scheduler.patience).describe('Epochs without improvement before a reduction'),
    threshold: z.number().min(0).default(PAPER_MODEL.scheduler.threshold).describe('Least change counted as an improvement'),
    thresholdMode: z
      .enum(['rel', 'abs'])
      .default(PAPER_MODEL.scheduler.thresholdMode)
      .describe('threshold relative to the best value, or absolute'),
    cooldown: z
      .number()
      .int()
      .min(0)
      .default(PAPER_MODEL.scheduler.cooldown)
      .describe('Epochs to wait after a reduction before counting again'),
    minLr: z.number().min(0).default(PAPER_MODEL.scheduler.minLr).describe('Learning rates never go below this'),
    eps: z.number().min(0).default(PAPER_MODEL.scheduler.eps).describe('Reductions smaller than this are skipped'),
  })
  .strict();

/**
 * Options of every network ({@link createNetwork}). `kind` picks the study's network:
 * - `spottune`: SpotTune3D, frozen + fine-tuned copies of every block and an agent;
 * - `random`: a ResNet trained from random initialisation, everything trainable;
 * - `transfer`: a ResNet whose classifier (and optionally its last `trainableBlocks` blocks) trains;
 * - `resnet`: a plain ResNet3D, everything trainable (`random` under its architectural name).
 *
 * There is no Gumbel temperature here: it is a training value, `train.gumbelTau`
 * ({@link TrainSchema}), which the Trainer passes to every step (docs/study.md section 5).
 */
export const NetworkSchema = z
  .object({
    kind: z.enum(['spottune', 'random', 'transfer', 'resnet']).default('spottune').describe('Which network'),
    depth: depth.default(PAPER_MODEL.depth),
    shortcutType: z
      .enum(['A', 'B'])
      .optional()
      .describe("'A' zero-padded identity, 'B' 1x1x1 conv + BatchNorm; default: the MedicalNet checkpoint's for the depth"),
    inputChannels: z.number().int().min(1).max(64).default(PAPER_MODEL.inputChannels).describe('Channels of the input volume'),
    numClasses: z.number().int().min(1).default(PAPER_MODEL.numClasses).describe('Logits per sample (1 = binary, one logit)'),
    dropout: z.number().min(0).max(1).default(PAPER_MODEL.dropout).describe('Dropout before the classifier (train mode only)'),
    agentDepth: depth.default(PAPER_MODEL.agentDepth).describe('Depth of the SpotTune agent ResNet'),
    frozenBatchNormUpdatesStats: z
      .boolean()
      .default(PAPER_MODEL.frozenBatchNormUpdatesStats)
      .describe(
        'In training, frozen BatchNorms normalise by batch statistics and update their running statistics (the study); false keeps them in eval mode',
      ),
    transfer: z
      .object({
        trainableBlocks: z
          .number()
          .int()
          .min(0)
          .default(0)
          .describe('Residual blocks, counted from the last, that train besides the classifier'),
      })
      .strict()
      .default({ trainableBlocks: 0 })
      .describe("kind 'transfer' only: what trains"),
    device,
    mixedPrecision: z
      .union([z.literal('bf16'), z.literal(false)])
      .default(false)
      .describe('bf16 autocast of the forward pass (CUDA only)'),
    channelsLast: z.boolean().default(false).describe('channels_last_3d memory format (CUDA only)'),
    learningRate: z.number().positive().default(PAPER_MODEL.learningRate).describe('Adam lr of the trainable network'),
    agentLearningRate: z.number().positive().default(PAPER_MODEL.agentLearningRate).describe('Adam lr of the SpotTune agent'),
    weightDecay: z.number().min(0).default(PAPER_MODEL.weightDecay).describe('Adam weight decay (coupled L2) of the network'),
    agentWeightDecay: z.number().min(0).default(PAPER_MODEL.agentWeightDecay).describe('Adam weight decay of the agent'),
    beta1: z.number().min(0).lt(1).default(PAPER_MODEL.beta1).describe('Adam beta1'),
    beta2: z.number().min(0).lt(1).default(PAPER_MODEL.beta2).describe('Adam beta2'),
    eps: z.number().positive().default(PAPER_MODEL.eps).describe('Adam eps'),
    posWeight: z
      .union([z.number().positive(), z.array(z.number().positive()).min(1)])
      .optional()
      .describe('BCE-with-logits pos_weight (the study used none)'),
    scheduler: SchedulerSchema.default(SchedulerSchema.parse({})),
    seed: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(PAPER_MODEL.seed).describe('Seed of the initialisation'),
  })
  .strict();

/** What callers pass to {@link createNetwork}. */
// Documented field by field (hover) in the generated options.ts, checked there against z.input<typeof NetworkSchema>.
import type { NetworkOptions, SchedulerOptions } from './options.js';
export type { NetworkOptions, SchedulerOptions };
/** The resolved options every network holds. */
export type NetworkConfig = z.output<typeof NetworkSchema> & { shortcutType: 'A' | 'B' };

/** Resolves network options against the study's defaults (shortcutType from the depth). */
export function resolveNetworkConfig(options: NetworkOptions = {}): NetworkConfig {
  const parsed = NetworkSchema.parse(options);
  return { ...parsed, shortcutType: parsed.shortcutType ?? RESNET_LAYOUTS[parsed.depth].shortcut };
}
