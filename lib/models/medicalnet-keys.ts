/**
 * MedicalNet state dicts (Chen, Ma, Zheng 2019: resnet_10.pth ... resnet_200.pth) and this library's
 * networks, by their keys: architecture detection from a state dict's names and shapes, the key
 * mapping into ResNet3d / SpotTune3d, stem inflation for multi-channel input, and the load report.
 *
 * Pure TypeScript over {@link StateDict}s: no addon, no network. The architecture table itself is
 * RESNET_LAYOUTS (lib/config/model.ts).
 * @see https://github.com/Tencent/MedicalNet models/resnet.py (MONAI: monai.networks.nets.resnet)
 * @see docs/study.md section 7
 * @module
 */
import { CheckpointError } from '../native/errors.js';
import type { HostTensor, StateDict } from '../types.js';
import { RESNET_DEPTHS, RESNET_LAYOUTS, type ResNetDepth } from '../config/model.js';
import { describeValue } from '../util/validate.js';

/** True for a depth RESNET_LAYOUTS knows. */
export function isResNetDepth(depth: number): depth is ResNetDepth {
  return (RESNET_DEPTHS as readonly number[]).includes(depth);
}

/** The networks a state dict's names can belong to. */
export type StateDictLayout = 'medicalnet' | 'resnet3d' | 'spottune3d' | 'unknown';

/** What {@link detectArchitecture} reads from a state dict's names and shapes. */
export interface DetectedArchitecture {
  layout: StateDictLayout;
  /** Keys carry DataParallel's `module.` prefix. */
  modulePrefix: boolean;
  /** Depth when the blocks per stage match a known ResNet, else undefined. */
  depth?: number;
  block?: 'basic' | 'bottleneck';
  layers?: [number, number, number, number];
  /** 'B' when any block has downsample weights, else 'A' (or undefined with no stage change). */
  shortcut?: 'A' | 'B';
  /** Input channels of the stem conv (conv1.weight [64, C, 7, 7, 7]). */
  inputChannels?: number;
  /** Output features of `fc` when present. */
  numClasses?: number;
  hasSegmentationHead: boolean;
  /** The released MedicalNet checkpoint this layout equals, like `resnet50` (shortcut included). */
  medicalNet?: string;
  /** One line for people: `MedicalNet resnet50 (bottleneck [3, 4, 6, 3], shortcut B), 1 input channel`. */
  summary: string;
}

const STAGE_KEY = /^layer([1-4])\.(\d+)\./;

/** Removes DataParallel's `module.` prefix (any number of times) from every key. */
export function stripModulePrefix(stateDict: StateDict): StateDict {
  const out: StateDict = new Map();
  for (const [k, v] of stateDict) out.set(k.replace(/^(module\.)+/, ''), v);
  return out;
}

/**
 * Reads the architecture from a state dict's keys: MedicalNet (`conv1`, `layerX.Y`, maybe `module.`
 * and `conv_seg`), this library's ResNet3d (with `fc`) or SpotTune3d (`blocks.`, `parallel_blocks.`,
 * `agent.`); block type from conv3, blocks per stage from the indices, shortcut from downsample.
 */
export function detectArchitecture(stateDict: StateDict): DetectedArchitecture {
  const keys = [...stateDict.keys()];
  const modulePrefix = keys.length > 0 && keys.every((k) => k.startsWith('module.'));
  const sd = modulePrefix ? stripModulePrefix(stateDict) : stateDict;
  const spottune =
    [...sd.keys()].some((k) => k.startsWith('blocks.layer')) && [...sd.keys()].some((k) => k.startsWith('parallel_blocks.layer'));
  const trunk = new Map<string, HostTensor>();
  for (const [k, v] of sd) {
    if (spottune) {
      if (k.startsWith('blocks.')) trunk.set(k.slice('blocks.'.length), v);
      else if (!k.startsWith('parallel_blocks.') && !k.startsWith('agent.')) trunk.set(k, v);
    } else {
      trunk.set(k, v);
    }
  }
  const counts = [0, 0, 0, 0];
  let bottleneck = false;
  let downsample = false;
  let stageKeys = 0;
  for (const k of trunk.keys()) {
    const m = STAGE_KEY.exec(k);
    if (!m) continue;
    stageKeys++;
    const stage = Number(m[1]) - 1;
    counts[stage] = Math.max(counts[stage], Number(m[2]) + 1);
    if (k.endsWith('.conv3.weight')) bottleneck = true;
    if (k.includes('.downsample.')) downsample = true;
  }
  const stem = trunk.get('conv1.weight');
  const fc = trunk.get('fc.weight');
  const hasSegmentationHead = [...trunk.keys()].some((k) => k.startsWith('conv_seg.'));
  const result: DetectedArchitecture = { layout: 'unknown', modulePrefix, hasSegmentationHead, summary: '' };
  if (!stem || stem.shape.length !== 5 || stageKeys === 0 || counts.some((c) => c === 0)) {
    result.summary = 'not a 3D ResNet state dict (no conv1 [64, C, 7, 7, 7] with layer1..layer4)';
    return result;
  }
  const layers = counts as [number, number, number, number];
  const block = bottleneck ? 'bottleneck' : 'basic';
  const depth = (bottleneck ? 3 : 2) * layers.reduce((a, b) => a + b, 0) + 2;
  const known = isResNetDepth(depth) ? RESNET_LAYOUTS[depth] : undefined;
  const matches = known && known.block === block && known.layers.every((n, i) => n === layers[i]);
  const shortcut = downsample ? 'B' : 'A';
  Object.assign(result, {
    layout: spottune ? 'spottune3d' : fc ? 'resnet3d' : 'medicalnet',
    depth: matches ? depth : undefined,
    block,
    layers,
    shortcut,
    inputChannels: stem.shape[1],
    numClasses: fc?.shape[0],
  });
  if (matches && known.shortcut === shortcut) result.medicalNet = `resnet${depth}`;
  const name = { medicalnet: 'MedicalNet', resnet3d: 'ResNet3d', spottune3d: 'SpotTune3d', unknown: '' }[result.layout];
  result.summary =
    `${name} ${matches ? `resnet${depth}` : 'ResNet'} (${block} [${layers.join(', ')}], shortcut ${shortcut}), ` +
    `${stem.shape[1]} input channel${stem.shape[1] === 1 ? '' : 's'}` +
    (fc ? `, fc -> ${fc.shape[0]}` : '') +
    (hasSegmentationHead ? ', with segmentation head conv_seg' : '') +
    (modulePrefix ? ", 'module.' prefix" : '');
  return result;
}

/**
 * Repeats a stem weight [64, 1, k, k, k] over `channels` input channels and divides by
 * `channels`, so that a volume repeated over channels gives the pretrained response.
 * @see docs/study.md section 6, deviation 5 (`conv1.weight.repeat(1, C, 1, 1, 1) / C`)
 */
export function inflateStem(weight: HostTensor, channels: number): HostTensor {
  if (!Number.isInteger(channels) || channels < 1)
    throw new RangeError(`Expected a positive integer for channels but received ${describeValue(channels)}`);
  const [out, inChannels, ...kernel] = weight.shape;
  if (weight.shape.length !== 5 || inChannels !== 1) {
    throw new RangeError(`inflateStem needs a weight [out, 1, kd, kh, kw] but received shape [${weight.shape.join(', ')}]`);
  }
  if (!(weight.data instanceof Float32Array || weight.data instanceof Float64Array)) {
    throw new TypeError(`inflateStem needs floating-point weights but received ${describeValue(weight.data)}`);
  }
  if (channels === 1) return weight;
  const k = kernel.reduce((a, b) => a * b, 1);
  const src = weight.data;
  const data = new (src.constructor as Float32ArrayConstructor)(out * channels * k);
  for (let o = 0; o < out; o++) {
    const filter = src.subarray(o * k, (o + 1) * k);
    for (let c = 0; c < channels; c++) {
      const at = (o * channels + c) * k;
      data.set(filter, at);
      for (let i = at; i < at + k; i++) data[i] /= channels;
    }
  }
  return { dtype: weight.dtype, shape: [out, channels, ...kernel], data };
}

/** Options of {@link mapMedicalNet}. */
export interface MapMedicalNetOptions {
  /** Inflate conv1 from 1 to this many input channels (see {@link inflateStem}). */
  inputChannels?: number;
}

/**
 * Maps a MedicalNet state dict onto a network's parameter names: strips `module.`, drops the
 * segmentation head `conv_seg.*`, keeps `num_batches_tracked`, inflates the stem if asked, then
 * - `resnet3d`: names unchanged (ResNet3d's names are MedicalNet's; the transferred ResNet50 is
 *   this with depth 50); `fc` is not in MedicalNet files and stays initialised.
 * - `spottune3d`: stem -> `conv1`/`bn1`; every `layerX.Y.*` -> both `blocks.layerX.Y.*` (the frozen
 *   copy F) and `parallel_blocks.layerX.Y.*` (the fine-tuned copy F^, starting equal), every block
 *   of every stage; `fc` and the agent stay initialised (the study trains the agent from scratch).
 * The two SpotTune copies share the same HostTensor objects; loading copies them into the network.
 * @see docs/study.md section 6 (REF's key map left layer3.3-5 random: not copied here)
 */
export function mapMedicalNet(stateDict: StateDict, target: 'resnet3d' | 'spottune3d', options: MapMedicalNetOptions = {}): StateDict {
  if (target !== 'resnet3d' && target !== 'spottune3d')
    throw new RangeError(`Unknown target ${describeValue(target)}; expected "resnet3d" or "spottune3d"`);
  const out: StateDict = new Map();
  for (const [key, tensor] of stripModulePrefix(stateDict)) {
    if (key.startsWith('conv_seg.')) continue;
    let value = tensor;
    if (key === 'conv1.weight' && options.inputChannels !== undefined && options.inputChannels !== tensor.shape[1]) {
      value = inflateStem(tensor, options.inputChannels);
    }
    if (target === 'spottune3d' && STAGE_KEY.test(key)) {
      out.set(`blocks.${key}`, value);
      out.set(`parallel_blocks.${key}`, value);
    } else {
      out.set(key, value);
    }
  }
  return out;
}

/** A shape mismatch found by {@link compareStateDicts}. */
export interface ShapeMismatch {
  key: string;
  expected: number[];
  actual: number[];
}

/** What loading a state dict into a network did, key by key. */
export interface LoadReport {
  /** Network keys set from the checkpoint. */
  loaded: string[];
  /** Network keys the checkpoint lacks (other than those meant to stay initialised). */
  missing: string[];
  /** Network keys meant to stay initialised: the head `fc.*`, SpotTune's `agent.*`. */
  initialised: string[];
  /** Checkpoint keys the network has no place for. */
  unexpected: string[];
  /** Keys in both whose shapes differ (not loaded). */
  mismatched: ShapeMismatch[];
}

/**
 * Compares a mapped checkpoint with a network's own state dict (names and shapes).
 * @param keepInitialised network key prefixes expected to be absent from the checkpoint
 */
export function compareStateDicts(network: StateDict, checkpoint: StateDict, keepInitialised: readonly string[] = []): LoadReport {
  const report: LoadReport = { loaded: [], missing: [], initialised: [], unexpected: [], mismatched: [] };
  for (const [key, own] of network) {
    const theirs = checkpoint.get(key);
    if (!theirs) {
      (keepInitialised.some((p) => key.startsWith(p)) ? report.initialised : report.missing).push(key);
    } else if (own.shape.length !== theirs.shape.length || own.shape.some((d, i) => d !== theirs.shape[i])) {
      report.mismatched.push({ key, expected: [...own.shape], actual: [...theirs.shape] });
    } else {
      report.loaded.push(key);
    }
  }
  for (const key of checkpoint.keys()) if (!network.has(key)) report.unexpected.push(key);
  return report;
}

/**
 * Throws a CheckpointError (`ERR_CHECKPOINT_MISMATCH`) listing missing, unexpected and mismatched
 * keys when there are any.
 */
export function assertCleanLoad(report: LoadReport, what = 'checkpoint'): void {
  if (report.missing.length + report.unexpected.length + report.mismatched.length === 0) return;
  const list = (label: string, keys: string[]) =>
    keys.length ? `\n  ${label} (${keys.length}): ${keys.slice(0, 20).join(', ')}${keys.length > 20 ? ', ...' : ''}` : '';
  const err = new CheckpointError(
    `The ${what} does not fit the network:` +
      list('missing', report.missing) +
      list('unexpected', report.unexpected) +
      list(
        'mismatched',
        report.mismatched.map((m) => `${m.key} [${m.expected.join(', ')}] vs [${m.actual.join(', ')}]`),
      ),
    'ERR_CHECKPOINT_MISMATCH',
  );
  throw Object.assign(err, { report });
}
