import type { Command } from 'commander';
import { DeviceSchema, type Device } from '../../config/device.js';
import { PAPER_MODEL, RESNET_DEPTHS } from '../../config/model.js';
import { readPth, stateDictOf, walkTensors, type PthFile } from '../../io/pth/index.js';
import { detectArchitecture, type DetectedArchitecture } from '../../models/medicalnet-keys.js';
import { InvalidArgumentError } from 'commander';
import { schemaOption } from '../schema-option.js';
import { checkInputPath } from '../output.js';
import type { HostTensor } from '../../types.js';

/** The MedicalNet checkpoints `spottune weights embed --arch` takes: one per published depth. */
const ARCHITECTURES = RESNET_DEPTHS.map((d) => `resnet${d}` as const);

/** What `spottune weights inspect --json` prints. */
export interface WeightsInspection {
  file: string;
  format: PthFile['format'];
  byteOrder: PthFile['byteOrder'];
  archiveName?: string;
  version?: number;
  /** Top-level keys of the checkpoint when it is a dict. */
  topLevelKeys: string[];
  /** Path of the state dict inside the checkpoint ('' for the checkpoint itself), if one was found. */
  stateDictPath?: string;
  tensorCount: number;
  /** Elements of every tensor that is not a BatchNorm running statistic or counter. */
  parameterCount: number;
  /** Elements of every tensor. */
  elementCount: number;
  /** Tensor counts by dtype. */
  dtypes: Record<string, number>;
  /** Storage locations as saved (`cuda:0` storages load on the CPU). */
  locations: string[];
  architecture?: DetectedArchitecture;
  tensors: Array<{ key: string; dtype: string; shape: number[] }>;
}

const BUFFER = /(^|\.)(running_mean|running_var|num_batches_tracked)$/;

/** Reads a checkpoint and describes it: format, keys, dtypes, shapes, counts, which network it fits. */
export async function inspectWeights(path: string): Promise<WeightsInspection> {
  const file = await readPth(path);
  const tensors: WeightsInspection['tensors'] = [];
  const dtypes: Record<string, number> = {};
  let parameterCount = 0;
  let elementCount = 0;
  walkTensors(file.tree, (key: string, t: HostTensor) => {
    const n = t.shape.reduce((a, b) => a * b, 1);
    tensors.push({ key, dtype: t.dtype, shape: t.shape });
    dtypes[t.dtype] = (dtypes[t.dtype] ?? 0) + 1;
    elementCount += n;
    if (!BUFFER.test(key)) parameterCount += n;
  });
  const tree = file.tree;
  const topLevelKeys = tree instanceof Map ? [...tree.keys()].map(String) : [];
  let architecture: DetectedArchitecture | undefined;
  let stateDictPath: string | undefined;
  try {
    const sd = stateDictOf(tree);
    architecture = detectArchitecture(sd);
    const first = sd.keys().next().value as string;
    const found = tensors.find((t) => t.key === first || t.key.endsWith(`.${first}`));
    stateDictPath = found ? found.key.slice(0, found.key.length - first.length).replace(/\.$/, '') : undefined;
  } catch {
    /* no state dict: the tensors are still listed */
  }
  return {
    file: path,
    format: file.format,
    byteOrder: file.byteOrder,
    archiveName: file.archiveName,
    version: file.version,
    topLevelKeys,
    stateDictPath,
    tensorCount: tensors.length,
    parameterCount,
    elementCount,
    dtypes,
    locations: [...new Set(file.tensors.map((t) => t.storage.location))],
    architecture,
    tensors,
  };
}

/**
 * The table `spottune weights inspect` prints: the summary, then the first 40 tensors (all of them
 * with `all`). Exported for tests.
 */
export function formatInspection(r: WeightsInspection, all: boolean): string {
  const n = (x: number) => x.toLocaleString('en-US');
  const lines = [
    `file        ${r.file}`,
    `format      ${r.format === 'zip' ? `zip (torch >= 1.6)${r.archiveName ? `, archive ${r.archiveName}/` : ''}${r.version !== undefined ? `, version ${r.version}` : ''}` : 'legacy (torch < 1.6)'}, ${r.byteOrder}-endian`,
    `locations   ${r.locations.join(', ') || '-'}${r.locations.some((l) => l !== 'cpu') ? ' (loaded on the CPU)' : ''}`,
    `top level   ${r.topLevelKeys.join(', ') || '-'}`,
    `state dict  ${r.stateDictPath === undefined ? 'none found' : r.stateDictPath || '(the checkpoint itself)'}`,
    `tensors     ${n(r.tensorCount)} (${Object.entries(r.dtypes)
      .map(([d, c]) => `${c} ${d}`)
      .join(', ')})`,
    `parameters  ${n(r.parameterCount)} (${n(r.elementCount)} elements with BatchNorm statistics)`,
    `fits        ${r.architecture?.summary ?? '-'}`,
    '',
  ];
  const shown = all ? r.tensors : r.tensors.slice(0, 40);
  // a loop, not Math.max(...keys): a spread of 150,000 tensors overflows the call stack
  let width = 3;
  for (const t of shown) if (t.key.length > width) width = t.key.length;
  for (const t of shown) lines.push(`${t.key.padEnd(width)}  ${t.dtype.padEnd(8)}  [${t.shape.join(', ')}]`);
  if (shown.length < r.tensors.length) lines.push(`... ${r.tensors.length - shown.length} more (--all lists every tensor)`);
  return `${lines.join('\n')}\n`;
}

/** What `spottune embed --json` prints. */
export interface EmbedResult {
  weights: string;
  arch: string;
  input: string;
  /** [D, H, W] of the volume fed to the network (after the chosen axis order). */
  shape: number[];
  normalize: 'none' | 'minmax' | 'zscore';
  /** Global-average-pooled last-stage features (2048 for ResNet50, 512 for ResNet10/18/34). */
  features: number[];
}

function normalizeVolume(data: Float32Array, mode: EmbedResult['normalize']): Float32Array {
  if (mode === 'none') return data;
  let lo = Infinity;
  let hi = -Infinity;
  let sum = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
    sum += v;
  }
  const out = new Float32Array(data.length);
  if (mode === 'minmax') {
    const range = hi - lo || 1;
    for (let i = 0; i < data.length; i++) out[i] = (data[i] - lo) / range;
    return out;
  }
  const mean = sum / data.length;
  let ss = 0;
  for (let i = 0; i < data.length; i++) ss += (data[i] - mean) ** 2;
  const std = Math.sqrt(ss / data.length) || 1;
  for (let i = 0; i < data.length; i++) out[i] = (data[i] - mean) / std;
  return out;
}

/** Runs a MedicalNet ResNet on one NIfTI volume and returns its pooled last-stage features. */
export async function embedVolume(options: {
  weights: string;
  arch: string;
  input: string;
  normalize?: EmbedResult['normalize'];
  axisOrder?: 'kji' | 'ijk';
  volume?: number;
  device?: Device;
}): Promise<EmbedResult> {
  const { checkOneOf } = await import('../../util/validate.js');
  const arch = checkOneOf(options.arch, 'arch', ARCHITECTURES);
  const normalize = checkOneOf(options.normalize ?? 'none', 'normalize', ['none', 'minmax', 'zscore'] as const);
  const { readNifti } = await import('../../io/nifti.js');
  const { createMedicalNetEncoder } = await import('../../models/medicalnet.js');
  const volume = await readNifti(options.input, { axisOrder: options.axisOrder ?? 'kji', volume: options.volume ?? 0 });
  await using encoder = await createMedicalNetEncoder(options.weights, {
    depth: Number(arch.slice('resnet'.length)),
    device: options.device,
  });
  const features = await encoder.embed(normalizeVolume(volume.data, normalize), [1, 1, ...volume.shape]);
  return { weights: options.weights, arch, input: options.input, shape: [...volume.shape], normalize, features: Array.from(features) };
}

/** A commander parser accepting one of `allowed`, with a did-you-mean, failing as a usage error. */
function oneOfFlag(flag: string, allowed: readonly string[]) {
  return (value: string): string => {
    if (allowed.includes(value)) return value;
    const lower = allowed.find((a) => a.toLowerCase() === value.toLowerCase());
    throw new InvalidArgumentError(
      `Expected one of ${allowed.join(', ')} for ${flag} but received ${JSON.stringify(value)}${lower ? `; did you mean ${JSON.stringify(lower)}?` : ''}`,
    );
  };
}

/** `--volume`: a non-negative integer. */
function volumeFlag(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 0)
    throw new InvalidArgumentError(`Expected a non-negative integer for --volume but received ${JSON.stringify(value)}`);
  return n;
}

/** Registers the `spottune weights` command(s). */
export function registerWeights(program: Command): void {
  const weights = program.command('weights').description('read PyTorch checkpoints (.pth) safely, without Python');
  weights
    .command('inspect')
    .description('describe a .pth file: format, keys, dtypes, shapes, parameter count, which network it fits')
    .argument('<file>', 'a torch.save checkpoint (zip or legacy format)')
    .option('--json', 'print as JSON')
    .option('--all', 'list every tensor (the table shows the first 40)')
    .action(async (file: string, opts: { json?: boolean; all?: boolean }) => {
      await checkInputPath(file, '<file>', 'file');
      const report = await inspectWeights(file);
      process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatInspection(report, opts.all === true));
    });

  program
    .command('embed')
    .description('run a MedicalNet ResNet on one NIfTI volume and print its global-average-pooled last-stage features')
    .requiredOption('--weights <file>', 'MedicalNet checkpoint (resnet_50.pth, ...)')
    .requiredOption('--input <volume>', 'a NIfTI volume (.nii or .nii.gz), fed as stored')
    .option('--arch <name>', ARCHITECTURES.join(', '), oneOfFlag('--arch', ARCHITECTURES), `resnet${PAPER_MODEL.depth}`)
    .option(
      '--normalize <mode>',
      'none (as stored), minmax ([0, 1]) or zscore',
      oneOfFlag('--normalize', ['none', 'minmax', 'zscore']),
      'none',
    )
    .option(
      '--axis-order <order>',
      "kji (as stored: [nz, ny, nx]) or ijk (nibabel's [nx, ny, nz])",
      oneOfFlag('--axis-order', ['kji', 'ijk']),
      'kji',
    )
    .option('--volume <index>', 'which volume of a 4-D file', volumeFlag, 0)
    .addOption(schemaOption('--device <device>', DeviceSchema))
    .option('--json', 'print as JSON')
    .action(
      async (opts: {
        weights: string;
        input: string;
        arch: string;
        normalize: string;
        axisOrder: string;
        volume: number;
        device: string;
        json?: boolean;
      }) => {
        await checkInputPath(opts.weights, '--weights', 'file');
        await checkInputPath(opts.input, '--input', 'file');
        const result = await embedVolume({
          weights: opts.weights,
          input: opts.input,
          arch: opts.arch,
          normalize: opts.normalize as EmbedResult['normalize'],
          axisOrder: opts.axisOrder as 'kji' | 'ijk',
          volume: opts.volume,
          device: opts.device as Device,
        });
        process.stdout.write(
          opts.json
            ? `${JSON.stringify(result)}\n`
            : `# ${result.arch} features of ${result.input} [${result.shape.join(', ')}], ${result.features.length} values\n${result.features.map((v) => v.toPrecision(8)).join('\n')}\n`,
        );
      },
    );
}
