/**
 * Training checkpoints: a network's state dict with the optimizer and scheduler state, the epoch,
 * the resolved config and the metrics, in one .pth file PyTorch can open
 * (`torch.load(f)['state_dict']` is a plain state dict).
 * @module
 */
import { CheckpointError } from '../../native/errors.js';
import type { StateDict } from '../../types.js';
import { describeValue } from '../../util/validate.js';
import { loadPth } from './reader.js';
import { stateDictOf } from './state-dict.js';
import type { LoadPthOptions } from './types.js';
import { savePth } from './writer.js';

/** The format tag stored in every checkpoint the library writes. */
export const CHECKPOINT_FORMAT = 'spottune3d.checkpoint';
const CHECKPOINT_VERSION = 1;

/** What a training checkpoint holds. */
export interface CheckpointContents {
  /** The network's stateDict() (SpotTune3d's includes the agent as `agent.*`). */
  model: StateDict;
  /** Optimizer state as the training loop exports it: tensors, numbers, containers. */
  optimizer?: unknown;
  /** Learning-rate scheduler state. */
  scheduler?: unknown;
  /** Epochs completed. */
  epoch: number;
  /** The resolved configuration (JSON-serialisable; stored as a JSON string). */
  config?: unknown;
  /** Metrics at this epoch (JSON-serialisable; stored as a JSON string). */
  metrics?: Record<string, unknown>;
}

/**
 * Writes a training checkpoint atomically. On disk: `{format, version, state_dict, optimizer,
 * scheduler, epoch, config_json, metrics_json}`; config and metrics are JSON strings so that
 * `torch.load(f, weights_only=True)` of torch 1.13 (which refuses Python floats) opens the file
 * whenever the optimizer state holds no floats; `torch.load(f)` always does.
 * @example
 * await saveCheckpoint('runs/fold0/epoch-12.pth', { model: await net.stateDict(), epoch: 12, config, metrics: { auc: 0.71 } });
 */
export async function saveCheckpoint(path: string, contents: CheckpointContents): Promise<void> {
  if (!contents || !(contents.model instanceof Map))
    throw new TypeError(`Expected contents.model to be a Map of tensors but received ${describeValue(contents?.model)}`);
  if (!Number.isSafeInteger(contents.epoch) || contents.epoch < 0)
    throw new RangeError(`Expected a non-negative integer for contents.epoch but received ${describeValue(contents.epoch)}`);
  await savePth(
    path,
    new Map<string, unknown>([
      ['format', CHECKPOINT_FORMAT],
      ['version', CHECKPOINT_VERSION],
      ['state_dict', contents.model],
      ['optimizer', contents.optimizer ?? null],
      ['scheduler', contents.scheduler ?? null],
      ['epoch', contents.epoch],
      ['config_json', JSON.stringify(contents.config ?? null)],
      ['metrics_json', JSON.stringify(contents.metrics ?? {})],
    ]),
  );
}

/**
 * Reads a checkpoint written by {@link saveCheckpoint}.
 * @throws CheckpointError ERR_CHECKPOINT_LAYOUT for a .pth that is not such a checkpoint (use
 *   loadPth / loadMedicalNet for other files)
 */
export async function loadCheckpoint(source: string | Uint8Array, options: LoadPthOptions = {}): Promise<CheckpointContents> {
  const tree = await loadPth(source, options);
  if (!(tree instanceof Map) || tree.get('format') !== CHECKPOINT_FORMAT) {
    throw new CheckpointError(
      `Not a spottune3d training checkpoint (no format '${CHECKPOINT_FORMAT}'); read other .pth files with loadPth`,
      'ERR_CHECKPOINT_LAYOUT',
    );
  }
  const version = tree.get('version');
  if (typeof version !== 'number' || version > CHECKPOINT_VERSION) {
    throw new CheckpointError(
      `Checkpoint version ${describeValue(version)} is newer than this library reads (${CHECKPOINT_VERSION})`,
      'ERR_CHECKPOINT_LAYOUT',
    );
  }
  const json = (key: string): unknown => {
    const text = tree.get(key);
    if (typeof text !== 'string') throw new CheckpointError(`Checkpoint field ${key} is not a string`, 'ERR_CHECKPOINT_LAYOUT');
    try {
      return JSON.parse(text);
    } catch {
      throw new CheckpointError(`Checkpoint field ${key} is not valid JSON`, 'ERR_CHECKPOINT_LAYOUT');
    }
  };
  const epoch = tree.get('epoch');
  if (typeof epoch !== 'number') throw new CheckpointError('Checkpoint epoch is not a number', 'ERR_CHECKPOINT_LAYOUT');
  const model = tree.get('state_dict');
  return {
    model: model instanceof Map && model.size === 0 ? new Map() : stateDictOf(model),
    optimizer: tree.get('optimizer') ?? undefined,
    scheduler: tree.get('scheduler') ?? undefined,
    epoch,
    config: json('config_json'),
    metrics: json('metrics_json') as Record<string, unknown>,
  };
}
