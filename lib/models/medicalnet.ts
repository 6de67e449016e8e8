/**
 * MedicalNet weights into this library's networks: {@link loadMedicalNet} (a checkpoint into a
 * ResNet3d or SpotTune3d) and {@link createMedicalNetEncoder} (a pretrained feature extractor).
 * The key mapping and the architecture detection they use are medicalnet-keys.ts; the architecture
 * table is RESNET_LAYOUTS (lib/config/model.ts).
 * @see https://github.com/Tencent/MedicalNet models/resnet.py (MONAI: monai.networks.nets.resnet)
 * @module
 */
import { CheckpointError } from '../native/errors.js';
import type { StateDict } from '../types.js';
import { loadPth, stateDictOf, type LoadPthOptions } from '../io/pth/index.js';
import { RESNET_LAYOUTS } from '../config/model.js';
import { describeValue } from '../util/validate.js';
import {
  assertCleanLoad,
  compareStateDicts,
  detectArchitecture,
  isResNetDepth,
  mapMedicalNet,
  type LoadReport,
} from './medicalnet-keys.js';
import { createResNet3d } from './network.js';

/** A network that exposes its parameters and buffers by name, like PyTorch's nn.Module. */
export interface StateDictModule {
  stateDict(): StateDict | Promise<StateDict>;
  loadStateDict(stateDict: StateDict, options?: { strict?: boolean }): unknown;
}

/** Options of {@link loadMedicalNet}. */
export interface LoadMedicalNetOptions extends LoadPthOptions {
  /** Throw a CheckpointError when any key is missing, unexpected or mismatched. Default true. */
  strict?: boolean;
}

/**
 * Loads MedicalNet weights (a .pth path, its bytes, or an already loaded tree or state dict) into a
 * ResNet3d or SpotTune3d, detected from the network's own names; inflates the stem to the network's
 * input channels. Returns what was loaded.
 *
 * @example
 * const net = await createSpotTune3d({ depth: 50 });
 * const report = await loadMedicalNet(net, 'resnet_50.pth');   // strict: throws if anything is off
 * console.log(report.loaded.length, report.initialised);        // fc.*, agent.* stay initialised
 * @throws CheckpointError ERR_CHECKPOINT_MISMATCH (strict) listing every problem key
 */
export async function loadMedicalNet(
  network: StateDictModule,
  source: string | Uint8Array | StateDict | Map<unknown, unknown> | Record<string, unknown>,
  options: LoadMedicalNetOptions = {},
): Promise<LoadReport> {
  if (typeof network?.stateDict !== 'function' || typeof network.loadStateDict !== 'function') {
    throw new TypeError(`Expected network to have stateDict() and loadStateDict() but received ${describeValue(network)}`);
  }
  const tree = typeof source === 'string' || source instanceof Uint8Array ? await loadPth(source, options) : source;
  const checkpoint = stateDictOf(tree);
  const own = await network.stateDict();
  const target = [...own.keys()].some((k) => k.startsWith('parallel_blocks.')) ? 'spottune3d' : 'resnet3d';
  const inputChannels = own.get('conv1.weight')?.shape[1];
  const mapped = mapMedicalNet(checkpoint, target, { inputChannels });
  const report = compareStateDicts(own, mapped, target === 'spottune3d' ? ['fc.', 'agent.'] : ['fc.']);
  if (options.strict ?? true) assertCleanLoad(report, 'MedicalNet checkpoint');
  const loadable: StateDict = new Map(report.loaded.map((k) => [k, mapped.get(k)!]));
  await network.loadStateDict(loadable, { strict: false });
  return report;
}

/** A MedicalNet ResNet used as a feature extractor; see {@link createMedicalNetEncoder}. */
export interface MedicalNetEncoder {
  /** Depth of the ResNet (10, 18, 34, 50, ...). */
  readonly depth: number;
  /** Length of a feature vector: 512 (basic blocks) or 2048 (bottlenecks). */
  readonly features: number;
  /**
   * Global-average-pooled last-stage features, eval mode (BatchNorm running statistics).
   * @param input float32 [N, 1, D, H, W], C-order
   * @returns [N, features], row-major
   */
  embed(input: Float32Array, shape: readonly number[]): Promise<Float32Array>;
  dispose(): void;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Options of {@link createMedicalNetEncoder}. */
export interface MedicalNetEncoderOptions extends LoadPthOptions {
  /** ResNet depth; default: read from the checkpoint's keys. */
  depth?: number;
  /** 'cpu' (default), 'cuda' or 'cuda:N'. */
  device?: 'cpu' | 'cuda' | `cuda:${number}`;
}

/**
 * Loads MedicalNet weights into a ResNet3d and returns a feature extractor: the global-average-
 * pooled output of layer4 (2048 values per volume for ResNet50, 512 for ResNet10/18/34).
 *
 * The network's head is set to the identity (fc = I, bias 0), so its logits are exactly the pooled
 * features: x_i * 1 plus zeros, with no rounding.
 * @example
 * await using encoder = await createMedicalNetEncoder('resnet_50.pth');
 * const features = await encoder.embed(volume.data, [1, 1, ...volume.shape]);   // Float32Array(2048)
 * @throws CheckpointError when the weights are not a MedicalNet ResNet (or not of `depth`)
 */
export async function createMedicalNetEncoder(
  weights: string | Uint8Array | StateDict | Map<unknown, unknown>,
  options: MedicalNetEncoderOptions = {},
): Promise<MedicalNetEncoder> {
  const tree = typeof weights === 'string' || weights instanceof Uint8Array ? await loadPth(weights, options) : weights;
  const checkpoint = stateDictOf(tree);
  const detected = detectArchitecture(checkpoint);
  const depth = options.depth ?? detected.depth;
  if (depth === undefined || !isResNetDepth(depth)) {
    throw new CheckpointError(
      `Cannot tell which MedicalNet ResNet these weights are (${detected.summary}); pass options.depth`,
      'ERR_CHECKPOINT_LAYOUT',
    );
  }
  if (options.depth !== undefined && detected.depth !== undefined && detected.depth !== options.depth) {
    throw new CheckpointError(
      `These weights are a ResNet${detected.depth} (${detected.summary}), not a ResNet${options.depth}`,
      'ERR_CHECKPOINT_MISMATCH',
    );
  }
  const architecture = RESNET_LAYOUTS[depth];
  const features = 512 * (architecture.block === 'bottleneck' ? 4 : 1);
  const network = await createResNet3d({
    depth,
    shortcutType: detected.shortcut ?? architecture.shortcut,
    numClasses: features,
    device: options.device ?? 'cpu',
  });
  try {
    await loadMedicalNet(network, checkpoint);
    const identity = new Float32Array(features * features);
    for (let i = 0; i < features; i++) identity[i * features + i] = 1;
    await network.loadStateDict(
      new Map([
        ['fc.weight', { dtype: 'float32', shape: [features, features], data: identity }],
        ['fc.bias', { dtype: 'float32', shape: [features], data: new Float32Array(features) }],
      ]),
      { strict: false },
    );
  } catch (err) {
    network.dispose();
    throw err;
  }
  return {
    depth,
    features,
    async embed(input, shape) {
      return (await network.predict(input, shape)).logits;
    },
    dispose: () => network.dispose(),
    [Symbol.asyncDispose]: async () => network.dispose(),
  };
}
