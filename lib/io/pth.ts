/**
 * PyTorch checkpoints (.pth, .pt) read and written in TypeScript, without Python and without
 * running anything a file asks for.
 *
 * {@link loadPth} reads both formats torch.save has written: the zip archive (PyTorch >= 1.6) and
 * the legacy stream (magic number, protocol, sys info, pickle, storage keys, raw storages), told
 * apart by their first bytes. Its unpickler resolves only the globals real checkpoints need, like
 * torch.load(weights_only=True); any other global (os.system, builtins.eval, ...) is refused with a
 * CheckpointError naming it. {@link savePth} writes the zip format torch.load opens.
 *
 * The object tree comes back with Python dicts as `Map`s (ordered, any key, no prototype), lists as
 * arrays, tuples as frozen arrays, and tensors as {@link PthTensor} with contiguous data.
 * @module
 */
import { open } from 'node:fs/promises';
import { endianness } from 'node:os';
import { CheckpointError } from '../native/errors.js';
import { DTYPES, type DType, type TensorData } from '../tensor.js';
import type { HostTensor, StateDict } from '../types.js';
import { writeFileAtomic } from '../util/atomic.js';
import { describeValue } from '../util/validate.js';
import { isPyTuple, PickleWriter, PyCallable, PyFloat, pyTuple, latin1Bytes, unpickle, type UnpickleHooks } from './pickle.js';
import { narrowBFloat16, narrowFloat16, widenBFloat16, widenFloat16 } from './pth/half.js';
import { buildZip, readZipDirectory, zipEntryData, type ZipInput } from './zip.js';

export { isPyTuple, PyFloat, pyTuple } from './pickle.js';

/** The two torch.save formats. */
export type PthFormat = 'zip' | 'legacy';

/** Where a loaded tensor's data came from in the file. */
export interface PthStorageInfo {
  /** The storage's key in the file (`data/<key>` in a zip; the legacy root key). */
  key: string;
  /** Where it was saved (`cpu`, `cuda:0`); every storage loads on the CPU. */
  location: string;
  /** Elements of the storage (or legacy storage view) the tensor indexes into. */
  numel: number;
}

/**
 * A tensor read from a checkpoint. `data` is C-contiguous in `shape` (views, offsets and strides
 * are resolved by copying); `strides` and `storageOffset` are those saved, for information.
 * float16 and bfloat16 data are widened (exactly) to a Float32Array; `dtype` keeps the saved type
 * unless `halfAsFloat32` was asked. bool data is a Uint8Array of 0/1.
 */
export interface PthTensor extends HostTensor {
  strides: number[];
  storageOffset: number;
  requiresGrad: boolean;
  storage: PthStorageInfo;
}

/** Options of {@link loadPth}. */
export interface LoadPthOptions {
  /** int64 data as a BigInt64Array (`'bigint'`), or as an Int32Array after checking every value fits (`'int32'`). */
  int64?: 'bigint' | 'int32';
  /** Label float16/bfloat16 tensors `float32` (their data is a Float32Array either way). */
  halfAsFloat32?: boolean;
  /** Most bytes of tensor data the load may allocate. Default: 8x the file size plus 256 MiB. */
  maxBytes?: number;
  /** Check each zip entry's CRC-32. */
  verifyChecksums?: boolean;
  /**
   * Give every tensor its own copy of its data. By default a tensor read from a path whose data
   * lie contiguous, aligned and in host byte order in the file is a view into the file's buffer
   * (no copy; tensors viewing one storage then share memory, as in PyTorch); bytes passed in are
   * always copied, so the caller's buffer is never aliased.
   */
  copy?: boolean;
}

/** A checkpoint with what is known about its file. */
export interface PthFile {
  format: PthFormat;
  /** The unpickled object. */
  tree: unknown;
  /** Byte order of the storages (zip `byteorder` record; legacy storages are little-endian). */
  byteOrder: 'little' | 'big';
  /** Zip: the archive's top folder (`archive`, or the saved file's stem); zip `version` record. */
  archiveName?: string;
  version?: number;
  /** Legacy: the writer's byte order and C type sizes. */
  sysInfo?: { littleEndian: boolean; typeSizes: Record<string, number> };
  /** Every tensor in the tree, in the order the pickle built them. */
  tensors: PthTensor[];
}

const ELEMENT_SIZE: Record<DType, number> = {
  float32: 4, float64: 8, float16: 2, bfloat16: 2, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1,
};

const STORAGE_DTYPE: Record<string, DType> = {
  FloatStorage: 'float32',
  DoubleStorage: 'float64',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
  UntypedStorage: 'uint8',
};

const TORCH_DTYPE_NAMES = new Set([
  'float32', 'float', 'float64', 'double', 'float16', 'half', 'bfloat16', 'int64', 'long', 'int32', 'int', 'int16',
  'short', 'int8', 'uint8', 'bool', 'complex64', 'complex128', 'complex32',
]);

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL = 1001;
const HOST_ORDER: 'little' | 'big' = endianness() === 'LE' ? 'little' : 'big';

function unsafe(message: string): CheckpointError {
  return new CheckpointError(message, 'ERR_CHECKPOINT_UNSAFE');
}
function corrupt(message: string): CheckpointError {
  return new CheckpointError(message, 'ERR_CHECKPOINT_CORRUPT');
}

class StorageType {
  constructor(readonly name: string, readonly dtype: DType) {}
}
class TypeMarker {
  constructor(readonly name: string) {}
}
const TORCH_TENSOR = new TypeMarker('torch.Tensor');

/** A storage as a pickle names it: root key, element type and the element range it covers. */
class StorageRef {
  constructor(
    readonly key: string,
    readonly dtype: DType,
    readonly location: string,
    /** Elements of `dtype` this reference covers. */
    readonly numel: number,
    /** Legacy storage views start this many bytes into the root storage. */
    readonly byteOffset: number,
  ) {}
}

interface PendingTensor {
  tensor: PthTensor;
  ref: StorageRef;
}

function isSafeCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function keyText(v: unknown, what: string): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return String(v);
  throw corrupt(`${what} is a ${typeof v}, not a storage key`);
}

/** The unpickler's view of torch: only what state dicts and training checkpoints contain. */
class TorchUnpickleContext implements UnpickleHooks {
  readonly tensors: PendingTensor[] = [];
  /** Root storages by key: element type and count as first declared. */
  readonly roots = new Map<string, { dtype: DType; numel: number; location: string }>();
  private readonly callables: Map<string, PyCallable>;

  constructor(private readonly format: PthFormat) {
    const rebuildTensor = (name: string, min: number, max: number) =>
      new PyCallable(name, (args) => {
        if (args.length < min || args.length > max) throw corrupt(`${name} takes ${min}-${max} arguments, got ${args.length}`);
        const [storage, offset, size, stride, requiresGrad] = args;
        return this.tensor(name, storage, offset, size, stride, requiresGrad === true);
      });
    const rebuildParameter = (name: string, arity: number) =>
      new PyCallable(name, (args) => {
        if (args.length !== arity || !isPthTensor(args[0])) throw corrupt(`${name} needs a tensor and ${arity - 1} more arguments`);
        args[0].requiresGrad = args[1] === true;
        return args[0];
      });
    const entries: PyCallable[] = [
      rebuildTensor('torch._utils._rebuild_tensor', 4, 4),
      rebuildTensor('torch._utils._rebuild_tensor_v2', 6, 7),
      rebuildParameter('torch._utils._rebuild_parameter', 3),
      rebuildParameter('torch._utils._rebuild_parameter_with_state', 4),
      new PyCallable('torch._tensor._rebuild_from_type_v2', (args) => {
        const [func, type, inner] = args;
        if (args.length !== 4 || !(func instanceof PyCallable) || !func.name.startsWith('torch._utils._rebuild_tensor') || !Array.isArray(inner)) {
          throw unsafe('Refused torch._tensor._rebuild_from_type_v2 with anything but a tensor rebuild function');
        }
        if (type !== TORCH_TENSOR && !(type instanceof PyCallable && type.name === 'torch.nn.parameter.Parameter')) {
          throw unsafe('Refused torch._tensor._rebuild_from_type_v2 of a tensor subclass');
        }
        return func.call(inner);
      }),
      new PyCallable('torch.nn.parameter.Parameter', (args) => {
        if (args.length < 1 || args.length > 2 || !isPthTensor(args[0])) throw corrupt('Parameter() needs a tensor');
        args[0].requiresGrad = args.length < 2 || args[1] === true;
        return args[0];
      }),
      new PyCallable('collections.OrderedDict', (args) => {
        const map = new Map();
        if (args.length > 1) throw corrupt('OrderedDict() takes at most one argument');
        if (args.length === 1 && args[0] !== null) {
          if (!Array.isArray(args[0])) throw corrupt('OrderedDict() takes a list of pairs');
          for (const pair of args[0]) {
            if (!Array.isArray(pair) || pair.length !== 2) throw corrupt('OrderedDict() takes a list of pairs');
            map.set(pair[0], pair[1]);
          }
        }
        return map;
      }),
      new PyCallable('torch.Size', (args) => {
        if (args.length !== 1 || !Array.isArray(args[0]) || !args[0].every(isSafeCount)) throw corrupt('torch.Size() takes a tuple of sizes');
        return pyTuple([...args[0]]);
      }),
      new PyCallable('torch.device', (args) => {
        if (args.length < 1 || args.length > 2 || typeof args[0] !== 'string') throw corrupt('torch.device() takes a type and an index');
        return args.length === 2 && args[1] !== null ? `${args[0]}:${String(args[1])}` : args[0];
      }),
      new PyCallable('_codecs.encode', (args) => {
        if (args.length !== 2 || typeof args[0] !== 'string' || (args[1] !== 'latin1' && args[1] !== 'latin-1')) {
          throw unsafe('Refused _codecs.encode with anything but (text, "latin1")');
        }
        return latin1Bytes(args[0]);
      }),
    ];
    for (const set of ['builtins.set', '__builtin__.set', 'builtins.frozenset', '__builtin__.frozenset']) {
      entries.push(
        new PyCallable(set, (args) => {
          if (args.length > 1 || (args.length === 1 && !Array.isArray(args[0]))) throw corrupt(`${set}() takes a list`);
          const s = new Set(args[0] as unknown[] | undefined);
          return set.endsWith('frozenset') ? Object.freeze(s) : s;
        }),
      );
    }
    this.callables = new Map(entries.map((c) => [c.name, c]));
  }

  resolveGlobal(module: string, name: string): unknown {
    const full = `${module}.${name}`;
    const callable = this.callables.get(full === 'torch.nn.Parameter' ? 'torch.nn.parameter.Parameter' : full);
    if (callable) return callable;
    if ((module === 'torch' || module === 'torch.cuda' || module === 'torch.storage') && name.endsWith('Storage')) {
      const dtype = STORAGE_DTYPE[name];
      if (!dtype) throw new CheckpointError(`Unsupported storage type ${full}: spottune3d reads ${Object.keys(STORAGE_DTYPE).join(', ')}`, 'ERR_CHECKPOINT_DTYPE');
      return new StorageType(full, dtype);
    }
    if (full === 'torch.Tensor' || full === 'torch._tensor.Tensor') return TORCH_TENSOR;
    if (module === 'torch' && TORCH_DTYPE_NAMES.has(name)) return full;
    throw unsafe(
      `Refused global ${full}: a checkpoint may only name tensors, storages and containers ` +
        `(like torch.load(weights_only=True)); this file asks for something that could run code`,
    );
  }

  persistentLoad(pid: unknown): unknown {
    if (!Array.isArray(pid) || pid.length < 1) throw corrupt('a persistent id that is not a tuple');
    if (pid[0] === 'module') throw unsafe('Refused a pickled nn.Module: save model.state_dict() instead of the model');
    if (pid[0] !== 'storage') throw unsafe(`Refused persistent id ${describeValue(pid[0])}: only storages are allowed`);
    const expected = this.format === 'zip' ? 5 : 6;
    if (pid.length !== expected) throw corrupt(`a storage id with ${pid.length} fields (expected ${expected})`);
    const [, type, rawKey, rawLocation, numel] = pid;
    if (!(type instanceof StorageType)) throw corrupt(`a storage id whose type is ${describeValue(type)}`);
    const key = keyText(rawKey, 'storage key');
    if (typeof rawLocation !== 'string') throw corrupt('a storage location that is not a string');
    if (!isSafeCount(numel)) throw corrupt(`storage ${key} declares ${describeValue(numel)} elements`);
    const root = this.roots.get(key);
    if (this.format === 'legacy') {
      if (root && (root.dtype !== type.dtype || root.numel !== numel)) throw corrupt(`storage ${key} is declared twice, differently`);
    } else if (root && root.numel * ELEMENT_SIZE[root.dtype] !== numel * ELEMENT_SIZE[type.dtype]) {
      throw corrupt(`storage ${key} is declared twice with different sizes`);
    }
    if (!root) this.roots.set(key, { dtype: type.dtype, numel, location: rawLocation });
    const view = this.format === 'legacy' ? pid[5] : null;
    if (view === null) return new StorageRef(key, type.dtype, rawLocation, numel, 0);
    if (!Array.isArray(view) || view.length !== 3) throw corrupt(`storage ${key} has a malformed view`);
    const [, offset, size] = view;
    if (!isSafeCount(offset) || !isSafeCount(size) || offset + size > numel) throw corrupt(`storage view [${String(offset)}, +${String(size)}) lies outside storage ${key}`);
    return new StorageRef(key, type.dtype, rawLocation, size, offset * ELEMENT_SIZE[type.dtype]);
  }

  build(target: unknown, state: unknown): void {
    // Parameters and tensors may carry Python attributes (hooks, metadata): not kept, never run.
    if (isPthTensor(target) && (state === null || state instanceof Map || Array.isArray(state))) return;
    throw unsafe(`Refused BUILD of a ${describeValue(target)}: only dicts and tensors take state`);
  }

  private tensor(fn: string, storage: unknown, offset: unknown, size: unknown, stride: unknown, requiresGrad: boolean): PthTensor {
    if (!(storage instanceof StorageRef)) throw corrupt(`${fn} got ${describeValue(storage)} instead of a storage`);
    if (!isSafeCount(offset)) throw corrupt(`${fn} got storage offset ${describeValue(offset)}`);
    if (!Array.isArray(size) || !size.every(isSafeCount)) throw corrupt(`${fn} got size ${describeValue(size)}`);
    if (!Array.isArray(stride) || stride.length !== size.length || !stride.every(isSafeCount)) {
      throw corrupt(`${fn} got stride ${describeValue(stride)} for size ${describeValue(size)}`);
    }
    const tensor: PthTensor = {
      dtype: storage.dtype,
      shape: [...(size as number[])],
      data: EMPTY,
      strides: [...(stride as number[])],
      storageOffset: offset,
      requiresGrad,
      storage: { key: storage.key, location: storage.location, numel: storage.numel },
    };
    this.tensors.push({ tensor, ref: storage });
    return tensor;
  }
}

const EMPTY = new Float32Array(0);

/** True for a tensor of a loaded tree (or any {@link HostTensor}-shaped value). */
export function isHostTensor(value: unknown): value is HostTensor {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<HostTensor>;
  return typeof v.dtype === 'string' && Array.isArray(v.shape) && ArrayBuffer.isView(v.data);
}

function isPthTensor(value: unknown): value is PthTensor {
  return isHostTensor(value) && 'storage' in value;
}

// ---------------------------------------------------------------------------------------------
// Reading

/** Tells the format from the first bytes. */
export function detectPthFormat(bytes: Uint8Array): PthFormat {
  if (bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && (bytes[2] === 3 || bytes[2] === 5) && (bytes[3] === 4 || bytes[3] === 6)) return 'zip';
  if (bytes.length >= 2 && bytes[0] === 0x80 && bytes[1] <= 5) return 'legacy';
  if (bytes.length >= 262 && Buffer.from(bytes.subarray(257, 262)).toString('latin1') === 'ustar') {
    throw new CheckpointError('This is a PyTorch <= 0.1.10 tar checkpoint; re-save it with a newer torch (torch.save(torch.load(f), g))', 'ERR_CHECKPOINT_FORMAT');
  }
  const head = Buffer.from(bytes.subarray(0, 8)).toString('hex');
  throw new CheckpointError(`Not a PyTorch checkpoint: it starts with ${head || 'nothing'}, neither a zip archive (504b0304) nor a pickle (80)`, 'ERR_CHECKPOINT_FORMAT');
}

/**
 * Reads a checkpoint and returns its object tree: what `torch.load(f, map_location='cpu',
 * weights_only=True)` returns, as JS values (see the module notes).
 *
 * @param source a file path, or the file's bytes
 * @example
 * const tree = await loadPth('resnet_50.pth') as Map<string, unknown>;
 * const weights = stateDictOf(tree);                         // Map: 'module.conv1.weight' -> tensor
 * console.log(weights.get('module.conv1.weight')?.shape);    // [64, 1, 7, 7, 7]
 * @throws CheckpointError with `code` ERR_CHECKPOINT_UNSAFE (a refused global), ERR_CHECKPOINT_CORRUPT
 *   (truncated or inconsistent), ERR_CHECKPOINT_FORMAT (not a checkpoint), ERR_CHECKPOINT_DTYPE
 */
export async function loadPth(source: string | Uint8Array, options: LoadPthOptions = {}): Promise<unknown> {
  return (await readPth(source, options)).tree;
}

/** {@link loadPth}, also returning the format and every tensor. */
export async function readPth(source: string | Uint8Array, options: LoadPthOptions = {}): Promise<PthFile> {
  let bytes: Uint8Array;
  if (typeof source === 'string') bytes = await readFileAligned(source);
  else if (source instanceof Uint8Array) bytes = source;
  else throw new TypeError(`Expected source to be a path or a Uint8Array but received ${describeValue(source)}`);
  // The buffer is ours: tensors may view it instead of copying, unless asked otherwise.
  return parseOwned(bytes, { ...options, copy: options.copy ?? typeof source !== 'string' });
}

/** Synchronous {@link readPth} over bytes already in memory. */
export function parsePth(bytes: Uint8Array, options: LoadPthOptions = {}): PthFile {
  return parseOwned(bytes, { ...options, copy: true });
}

function parseOwned(bytes: Uint8Array, options: LoadPthOptions): PthFile {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`Expected bytes to be a Uint8Array but received ${describeValue(bytes)}`);
  // A plain Uint8Array view: Buffer#slice would share memory where a copy is meant.
  bytes = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const int64 = options.int64 ?? 'bigint';
  if (int64 !== 'bigint' && int64 !== 'int32') throw new RangeError(`Expected options.int64 to be 'bigint' or 'int32' but received ${describeValue(int64)}`);
  const maxBytes = options.maxBytes ?? bytes.length * 8 + 256 * 2 ** 20;
  const format = detectPthFormat(bytes);
  const file = format === 'zip' ? parseZip(bytes, options.verifyChecksums ?? true) : parseLegacy(bytes);
  const budget = { left: maxBytes };
  for (const { tensor, ref } of file.pending) {
    materialize(tensor, ref, file.storages, file.byteOrder, budget, int64, options.halfAsFloat32 === true, options.copy !== false);
  }
  const { pending, storages, ...rest } = file;
  void storages;
  return { ...rest, tensors: pending.map((p) => p.tensor) };
}

const HEAD_BYTES = 4 << 20;
const READ_CHUNK = 1 << 20;

/**
 * Reads a file into a fresh buffer, placed so that a legacy checkpoint's storages start 8-byte
 * aligned (their offsets depend on the pickle's length): aligned storages become typed-array views
 * with no copy. The head is read first to find where the storages start; when the pickles do not
 * fit in the head, or the file is a zip (torch aligns zip entries itself), no padding is used.
 */
async function readFileAligned(path: string): Promise<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const head = new Uint8Array(Math.min(size, HEAD_BYTES));
    await readFully(handle, head, 0);
    const start = legacyStoragesStart(head);
    const pad = start === undefined ? 0 : (8 - (start % 8)) % 8;
    // allocUnsafeSlow: not zero-filled (every byte is read into) and not from the shared pool
    const bytes = new Uint8Array(Buffer.allocUnsafeSlow(size + pad).buffer, pad, size);
    bytes.set(head);
    await readFully(handle, bytes.subarray(head.length), head.length);
    return bytes;
  } finally {
    await handle.close();
  }
}

async function readFully(handle: Awaited<ReturnType<typeof open>>, into: Uint8Array, position: number): Promise<void> {
  for (let done = 0; done < into.length; ) {
    const { bytesRead } = await handle.read(into, done, Math.min(into.length - done, READ_CHUNK), position + done);
    if (bytesRead === 0) throw corrupt('the file shrank while it was read');
    done += bytesRead;
  }
}

/** Where the first legacy storage's data begin, if `head` holds all the pickles; else undefined. */
function legacyStoragesStart(head: Uint8Array): number | undefined {
  try {
    if (detectPthFormat(head) !== 'legacy') return undefined;
    const none: UnpickleHooks = { resolveGlobal: () => { throw unsafe('header'); } };
    let end = 0;
    for (let i = 0; i < 3; i++) end = unpickle(head, none, end).end;
    end = unpickle(head, new TorchUnpickleContext('legacy'), end).end;
    return unpickle(head, none, end).end + 8;
  } catch {
    return undefined;
  }
}

interface Parsed {
  format: PthFormat;
  tree: unknown;
  byteOrder: 'little' | 'big';
  archiveName?: string;
  version?: number;
  sysInfo?: { littleEndian: boolean; typeSizes: Record<string, number> };
  pending: PendingTensor[];
  /** Root storage bytes by key (views into the file). */
  storages: Map<string, Uint8Array>;
}

function parseZip(bytes: Uint8Array, verify: boolean): Parsed {
  const entries = readZipDirectory(bytes);
  const pickles = [...entries.keys()].filter((name) => /^[^/]+\/data\.pkl$/.test(name));
  if (pickles.length !== 1) {
    throw new CheckpointError(
      pickles.length === 0 ? 'Zip archive without <name>/data.pkl: not a torch.save checkpoint' : 'Zip archive with several data.pkl files',
      'ERR_CHECKPOINT_FORMAT',
    );
  }
  const prefix = pickles[0].slice(0, -'data.pkl'.length);
  const archiveName = prefix.slice(0, -1);
  if (entries.has(`${prefix}constants.pkl`) || [...entries.keys()].some((n) => n.startsWith(`${prefix}code/`))) {
    throw new CheckpointError('This is a TorchScript archive (torch.jit.save), not a torch.save checkpoint', 'ERR_CHECKPOINT_FORMAT');
  }
  for (const name of entries.keys()) {
    if (!name.startsWith(prefix)) throw corrupt(`zip entry ${JSON.stringify(name)} lies outside the archive folder ${archiveName}/`);
  }
  const text = (name: string): string | undefined => {
    const entry = entries.get(`${prefix}${name}`);
    if (!entry || entry.size > 64) return undefined;
    return Buffer.from(zipEntryData(bytes, entry, verify)).toString('latin1').trim();
  };
  const versionText = text('version') ?? text('.data/version');
  const version = versionText === undefined ? undefined : Number(versionText);
  if (version !== undefined && !Number.isSafeInteger(version)) throw corrupt(`version record ${JSON.stringify(versionText)}`);
  const order = text('byteorder') ?? 'little';
  if (order !== 'little' && order !== 'big') throw corrupt(`byteorder record ${JSON.stringify(order)}`);
  const context = new TorchUnpickleContext('zip');
  const pickle = zipEntryData(bytes, entries.get(pickles[0])!, verify);
  const { value } = unpickle(pickle, context);
  const storages = new Map<string, Uint8Array>();
  for (const [key, root] of context.roots) {
    const entry = entries.get(`${prefix}data/${key}`);
    if (!entry) throw corrupt(`storage ${key} is missing from the archive (no ${prefix}data/${key})`);
    const nbytes = root.numel * ELEMENT_SIZE[root.dtype];
    if (entry.size !== nbytes) throw corrupt(`storage ${key} holds ${entry.size} bytes but the pickle declares ${nbytes}`);
    storages.set(key, zipEntryData(bytes, entry, verify));
  }
  return { format: 'zip', tree: value, byteOrder: order, archiveName, version, pending: context.tensors, storages };
}

function parseLegacy(bytes: Uint8Array): Parsed {
  const noGlobals: UnpickleHooks = {
    resolveGlobal(module, name) {
      throw unsafe(`Refused global ${module}.${name} in a legacy checkpoint header`);
    },
  };
  const magic = unpickle(bytes, noGlobals, 0);
  if (magic.value !== LEGACY_MAGIC) {
    throw new CheckpointError('A pickle, but not a torch.save checkpoint (no legacy magic number)', 'ERR_CHECKPOINT_FORMAT');
  }
  const protocol = unpickle(bytes, noGlobals, magic.end);
  if (protocol.value !== LEGACY_PROTOCOL) throw corrupt(`legacy protocol ${describeValue(protocol.value)} (expected ${LEGACY_PROTOCOL})`);
  const info = unpickle(bytes, noGlobals, protocol.end);
  if (!(info.value instanceof Map)) throw corrupt('legacy sys_info is not a dict');
  const littleEndian = info.value.get('little_endian') !== false;
  const sizes = info.value.get('type_sizes');
  const typeSizes: Record<string, number> = {};
  if (sizes instanceof Map) for (const [k, v] of sizes) if (typeof k === 'string' && typeof v === 'number') typeSizes[k] = v;
  const context = new TorchUnpickleContext('legacy');
  const main = unpickle(bytes, context, info.end);
  const keys = unpickle(bytes, noGlobals, main.end);
  if (!Array.isArray(keys.value)) throw corrupt('legacy storage key list is not a list');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const storages = new Map<string, Uint8Array>();
  let pos = keys.end;
  for (const rawKey of keys.value) {
    const key = keyText(rawKey, 'legacy storage key');
    const root = context.roots.get(key);
    if (!root) throw corrupt(`legacy storage ${key} is not used by the pickle`);
    if (storages.has(key)) throw corrupt(`legacy storage ${key} is listed twice`);
    if (pos + 8 > bytes.length) throw corrupt(`truncated before storage ${key}`);
    // The element count is in the writer's byte order before torch 1.0, little-endian since.
    const le = view.getBigUint64(pos, true);
    const be = view.getBigUint64(pos, false);
    const declared = BigInt(root.numel);
    if (le !== declared && be !== declared) {
      throw corrupt(`legacy storage ${key} header says ${littleEndian ? le : be} elements but the pickle declares ${root.numel}`);
    }
    const nbytes = root.numel * ELEMENT_SIZE[root.dtype];
    pos += 8;
    if (pos + nbytes > bytes.length) throw corrupt(`truncated inside storage ${key} (${nbytes} bytes declared, ${bytes.length - pos} left)`);
    storages.set(key, bytes.subarray(pos, pos + nbytes));
    pos += nbytes;
  }
  for (const key of context.roots.keys()) {
    if (!storages.has(key)) throw corrupt(`legacy storage ${key} is used but not stored`);
  }
  // torch writes storage data little-endian on every machine; sys_info records the writer's order.
  return { format: 'legacy', tree: main.value, byteOrder: 'little', sysInfo: { littleEndian, typeSizes }, pending: context.tensors, storages };
}

function materialize(
  tensor: PthTensor,
  ref: StorageRef,
  storages: Map<string, Uint8Array>,
  byteOrder: 'little' | 'big',
  budget: { left: number },
  int64: 'bigint' | 'int32',
  halfAsFloat32: boolean,
  copy: boolean,
): void {
  const es = ELEMENT_SIZE[ref.dtype];
  const root = storages.get(ref.key)!;
  if (ref.byteOffset + ref.numel * es > root.length) throw corrupt(`storage ${ref.key} is shorter than its view`);
  const storage = root.subarray(ref.byteOffset, ref.byteOffset + ref.numel * es);
  const { shape, strides, storageOffset: offset } = tensor;
  const outSize = ref.dtype === 'float16' || ref.dtype === 'bfloat16' ? 4 : ref.dtype === 'int64' && int64 === 'int32' ? 4 : es;
  let numel = 1;
  for (const d of shape) {
    numel *= d;
    if (numel * outSize > budget.left) {
      throw corrupt(`tensor of shape [${shape.join(', ')}] (${ref.dtype}) exceeds the allocation limit of ${budget.left} bytes left (options.maxBytes)`);
    }
  }
  budget.left -= numel * outSize;
  let raw: Uint8Array;
  if (numel === 0) {
    if (offset > ref.numel) throw corrupt(`storage offset ${offset} lies past storage ${ref.key} (${ref.numel} elements)`);
    raw = new Uint8Array(0);
  } else {
    let last = offset;
    for (let i = 0; i < shape.length; i++) last += (shape[i] - 1) * strides[i];
    if (!Number.isSafeInteger(last) || last >= ref.numel) {
      throw corrupt(`tensor [${shape.join(', ')}] with strides [${strides.join(', ')}] at offset ${offset} reaches element ${last} of storage ${ref.key}, which has ${ref.numel}`);
    }
    const contiguous = isContiguous(shape, strides);
    const start = storage.byteOffset + offset * es;
    const viewable = !copy && contiguous && start % es === 0 && (byteOrder === HOST_ORDER || es === 1);
    if (viewable && VIEW[ref.dtype] && !(ref.dtype === 'int64' && int64 === 'int32')) {
      // The hot path: no copy, no per-element work.
      tensor.data = new VIEW[ref.dtype]!(storage.buffer as ArrayBuffer, start, numel);
      return;
    }
    raw = contiguous ? storage.slice(offset * es, (offset + numel) * es) : gather(storage, es, shape, strides, offset, numel);
  }
  if (byteOrder !== HOST_ORDER && es > 1) {
    const b = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    if (es === 2) b.swap16();
    else if (es === 4) b.swap32();
    else b.swap64();
  }
  tensor.data = decode(ref.dtype, raw, int64, tensor.storage.key);
  if (halfAsFloat32 && (ref.dtype === 'float16' || ref.dtype === 'bfloat16')) tensor.dtype = 'float32';
}

type ViewConstructor = new (buffer: ArrayBuffer, byteOffset: number, length: number) => TensorData;
const VIEW: Partial<Record<DType, ViewConstructor>> = {
  float32: Float32Array, float64: Float64Array, int64: BigInt64Array, int32: Int32Array, int16: Int16Array, int8: Int8Array, uint8: Uint8Array, bool: Uint8Array,
};

function isContiguous(shape: readonly number[], strides: readonly number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && strides[i] !== expected) return false;
    expected *= shape[i];
  }
  return true;
}

/** Copies a strided view into a new C-contiguous buffer (non-contiguous tensors only). */
function gather(storage: Uint8Array, es: number, shape: readonly number[], strides: readonly number[], offset: number, numel: number): Uint8Array {
  const out = new Uint8Array(numel * es);
  const rank = shape.length;
  const inner = shape[rank - 1];
  const innerStride = strides[rank - 1];
  const index = new Array<number>(Math.max(0, rank - 1)).fill(0);
  let o = 0;
  let base = offset;
  for (;;) {
    if (innerStride === 1) {
      out.set(storage.subarray(base * es, (base + inner) * es), o);
      o += inner * es;
    } else {
      for (let j = 0; j < inner; j++) {
        const b = (base + j * innerStride) * es;
        for (let k = 0; k < es; k++) out[o++] = storage[b + k];
      }
    }
    let d = rank - 2;
    while (d >= 0) {
      index[d]++;
      base += strides[d];
      if (index[d] < shape[d]) break;
      base -= strides[d] * shape[d];
      index[d] = 0;
      d--;
    }
    if (d < 0) return out;
  }
}

function decode(dtype: DType, raw: Uint8Array, int64: 'bigint' | 'int32', key: string): TensorData {
  const buffer = raw.buffer as ArrayBuffer; // raw is a fresh, aligned copy
  const n = raw.byteLength;
  switch (dtype) {
    case 'float32':
      return new Float32Array(buffer, 0, n / 4);
    case 'float64':
      return new Float64Array(buffer, 0, n / 8);
    case 'float16':
      return widenFloat16(new Uint16Array(buffer, 0, n / 2));
    case 'bfloat16':
      return widenBFloat16(new Uint16Array(buffer, 0, n / 2));
    case 'int64': {
      const wide = new BigInt64Array(buffer, 0, n / 8);
      if (int64 === 'bigint') return wide;
      const out = new Int32Array(wide.length);
      for (let i = 0; i < wide.length; i++) {
        const v = wide[i];
        if (v < -2147483648n || v > 2147483647n) throw new CheckpointError(`int64 value ${v} in storage ${key} does not fit int32 (options.int64 = 'int32')`, 'ERR_CHECKPOINT_DTYPE');
        out[i] = Number(v);
      }
      return out;
    }
    case 'int32':
      return new Int32Array(buffer, 0, n / 4);
    case 'int16':
      return new Int16Array(buffer, 0, n / 2);
    case 'int8':
      return new Int8Array(buffer, 0, n);
    case 'uint8':
    case 'bool':
      return new Uint8Array(buffer, 0, n);
  }
}

// ---------------------------------------------------------------------------------------------
// Trees

const MAX_DEPTH = 512;

/**
 * Calls `visit` for every tensor in a tree with its path (`state_dict.layer1.0.conv1.weight`),
 * following Maps, plain objects and arrays. Cycles and nesting deeper than 512 are refused.
 */
export function walkTensors(tree: unknown, visit: (path: string, tensor: HostTensor) => void): void {
  const active = new Set<object>();
  const walk = (value: unknown, path: string, depth: number): void => {
    if (isHostTensor(value)) {
      visit(path, value);
      return;
    }
    if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value)) return;
    if (depth > MAX_DEPTH) throw new RangeError(`Tree nested deeper than ${MAX_DEPTH} levels at ${path || '<root>'}`);
    if (active.has(value)) throw new RangeError(`Tree contains a cycle at ${path || '<root>'}`);
    active.add(value);
    const join = (k: unknown) => (path ? `${path}.${String(k)}` : String(k));
    if (value instanceof Map) for (const [k, v] of value) walk(v, join(k), depth + 1);
    else if (Array.isArray(value)) value.forEach((v, i) => walk(v, join(i), depth + 1));
    else if (value instanceof Set) [...value].forEach((v, i) => walk(v, join(i), depth + 1));
    else if (isPlainObject(value)) for (const [k, v] of Object.entries(value)) walk(v, join(k), depth + 1);
    active.delete(value);
  };
  walk(tree, '', 0);
}

function isPlainObject(value: object): value is Record<string, unknown> {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

const STATE_DICT_KEYS = ['state_dict', 'model_state_dict', 'model', 'net', 'network'];

function asStateDict(value: unknown): StateDict | undefined {
  const entries = value instanceof Map ? [...value] : typeof value === 'object' && value !== null && isPlainObject(value) ? Object.entries(value) : undefined;
  if (!entries || entries.length === 0) return undefined;
  if (!entries.every(([k, v]) => typeof k === 'string' && isHostTensor(v))) return undefined;
  return new Map(entries as Array<[string, HostTensor]>);
}

/**
 * Finds the state dict in a loaded checkpoint: the tree itself when it maps names to tensors, else
 * the first of `state_dict`, `model_state_dict`, `model`, `net`, `network` that does.
 * @throws CheckpointError ERR_CHECKPOINT_LAYOUT when none does
 */
export function stateDictOf(tree: unknown): StateDict {
  const direct = asStateDict(tree);
  if (direct) return direct;
  const get = (k: string): unknown => (tree instanceof Map ? tree.get(k) : typeof tree === 'object' && tree !== null ? (tree as Record<string, unknown>)[k] : undefined);
  for (const key of STATE_DICT_KEYS) {
    const found = asStateDict(get(key));
    if (found) return found;
  }
  const keys = tree instanceof Map ? [...tree.keys()].map(String) : typeof tree === 'object' && tree !== null ? Object.keys(tree) : [];
  throw new CheckpointError(
    `No state dict in this checkpoint: expected a dict of tensors, or one under ${STATE_DICT_KEYS.map((k) => `'${k}'`).join(', ')}; top-level keys: ${keys.slice(0, 12).join(', ') || '(none)'}`,
    'ERR_CHECKPOINT_LAYOUT',
  );
}

// ---------------------------------------------------------------------------------------------
// Writing

/** Options of {@link savePth}. */
export interface SavePthOptions {
  /** The archive's top folder name (torch uses `archive`). */
  archiveName?: string;
}

/**
 * Writes `tree` as a zip-format checkpoint that `torch.load` opens (atomically: temporary file,
 * fsync, rename). Maps become OrderedDicts, plain objects dicts, arrays lists, frozen arrays tuples,
 * {@link HostTensor}s tensors (contiguous, one storage per distinct `data` array); integers become
 * Python ints, other numbers floats (wrap an integral value in {@link PyFloat} to keep it a float),
 * bigint ints, null/undefined None. torch 1.13's `weights_only=True` refuses floats; newer torch
 * and `weights_only=False` accept them.
 *
 * @example
 * await savePth('model.pth', new Map([['fc.weight', { dtype: 'float32', shape: [1, 2], data: new Float32Array([1, 2]) }]]));
 * @throws TypeError/RangeError naming the path of a value that cannot be written
 */
export async function savePth(path: string, tree: unknown, options: SavePthOptions = {}): Promise<void> {
  if (typeof path !== 'string' || path.length === 0) throw new TypeError(`Expected path to be a non-empty string but received ${describeValue(path)}`);
  await writeFileAtomic(path, encodePth(tree, options));
}

/** {@link savePth} to bytes: the archive's chunks, in order. */
export function encodePth(tree: unknown, options: SavePthOptions = {}): Uint8Array[] {
  const archive = options.archiveName ?? 'archive';
  if (!/^[A-Za-z0-9_.-]+$/.test(archive) || archive === '.' || archive === '..') {
    throw new RangeError(`Expected options.archiveName to be a plain folder name but received ${describeValue(archive)}`);
  }
  const w = new PickleWriter().proto(2);
  const storages: ZipInput[] = [];
  const seen = new Map<unknown, { key: string; dtype: DType }>();
  const active = new Set<object>();

  const tensor = (t: HostTensor, at: string): void => {
    if (!(DTYPES as readonly string[]).includes(t.dtype)) throw new RangeError(`Unknown dtype ${describeValue(t.dtype)} at ${at}`);
    if (!t.shape.every(isSafeCount)) throw new TypeError(`Expected ${at}.shape to be non-negative integers but received ${describeValue(t.shape)}`);
    const numel = t.shape.reduce((a, b) => a * b, 1);
    if (numel !== t.data.length) throw new RangeError(`Expected ${at}.data to hold ${numel} elements for shape [${t.shape.join(', ')}] but it holds ${t.data.length}`);
    let storage = seen.get(t.data);
    if (!storage || storage.dtype !== t.dtype) {
      storage = { key: String(storages.length), dtype: t.dtype };
      storages.push({ name: `${archive}/data/${storage.key}`, data: storageBytes(t.dtype, t.data, at) });
      seen.set(t.data, storage);
    }
    const strides: number[] = [];
    let s = 1;
    for (let i = t.shape.length - 1; i >= 0; i--) {
      strides[i] = s;
      s *= t.shape[i];
    }
    const storageName = Object.entries(STORAGE_DTYPE).find(([, d]) => d === t.dtype)![0];
    w.global('torch._utils', '_rebuild_tensor_v2').mark();
    w.mark().str('storage').global('torch', storageName).str(storage.key).str('cpu').int(numel).op(0x74).op(0x51); // TUPLE, BINPERSID
    w.int(0);
    tuple(t.shape);
    tuple(strides);
    w.bool(false).global('collections', 'OrderedDict').op(0x29).op(0x52); // (), REDUCE
    w.op(0x74).op(0x52); // TUPLE, REDUCE
  };
  const tuple = (items: readonly number[]): void => {
    if (items.length === 0) w.op(0x29);
    else {
      w.mark();
      for (const v of items) w.int(v);
      w.op(0x74);
    }
  };
  const value = (v: unknown, at: string, depth: number): void => {
    if (v === null || v === undefined) w.none();
    else if (typeof v === 'boolean') w.bool(v);
    else if (typeof v === 'number') Number.isSafeInteger(v) ? w.int(v) : w.float(v);
    else if (typeof v === 'bigint') w.int(v);
    else if (typeof v === 'string') w.str(v);
    else if (v instanceof PyFloat) w.float(v.value);
    else if (isHostTensor(v)) tensor(v, at);
    else if (typeof v === 'object') {
      if (depth > MAX_DEPTH) throw new RangeError(`Tree nested deeper than ${MAX_DEPTH} levels at ${at}`);
      if (active.has(v)) throw new TypeError(`Cannot save a tree with a cycle (at ${at})`);
      active.add(v);
      const child = (k: unknown) => `${at}.${String(k)}`;
      if (v instanceof Map) {
        w.global('collections', 'OrderedDict').op(0x29).op(0x52);
        items([...v], child, depth);
      } else if (Array.isArray(v)) {
        if (Object.isFrozen(v)) {
          w.mark();
          v.forEach((x, i) => value(x, child(i), depth + 1));
          w.op(0x74);
        } else {
          w.op(0x5d); // EMPTY_LIST
          for (let i = 0; i < v.length; i += 1000) {
            w.mark();
            v.slice(i, i + 1000).forEach((x, j) => value(x, child(i + j), depth + 1));
            w.op(0x65); // APPENDS
          }
        }
      } else if (isPlainObject(v)) {
        w.op(0x7d); // EMPTY_DICT
        items(Object.entries(v), child, depth);
      } else {
        throw new TypeError(`Cannot save ${describeValue(v)} at ${at}: expected a tensor, Map, array, plain object, number, string, boolean or null`);
      }
      active.delete(v);
    } else {
      throw new TypeError(`Cannot save ${describeValue(v)} at ${at}`);
    }
  };
  const items = (pairs: Array<[unknown, unknown]>, child: (k: unknown) => string, depth: number): void => {
    for (let i = 0; i < pairs.length; i += 1000) {
      w.mark();
      for (const [k, v] of pairs.slice(i, i + 1000)) {
        if (typeof k !== 'string' && typeof k !== 'number' && typeof k !== 'bigint' && !isPyTuple(k)) {
          throw new TypeError(`Cannot save a dict key ${describeValue(k)} at ${child(k)}`);
        }
        value(k, child(k), depth + 1);
        value(v, child(k), depth + 1);
      }
      w.op(0x75); // SETITEMS
    }
  };

  value(tree, '<root>', 0);
  w.stop();
  return buildZip([
    { name: `${archive}/data.pkl`, data: w.finish() },
    ...storages,
    { name: `${archive}/version`, data: Buffer.from('3\n') },
  ]);
}

function storageBytes(dtype: DType, data: TensorData, at: string): Uint8Array {
  const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const numeric = (): ArrayLike<number> => {
    if (data instanceof BigInt64Array) throw new TypeError(`Expected numbers for ${dtype} tensor ${at} but received a BigInt64Array`);
    return data;
  };
  switch (dtype) {
    case 'float32':
      return bytesOf(data instanceof Float32Array ? data : Float32Array.from(numeric()));
    case 'float64':
      return bytesOf(data instanceof Float64Array ? data : Float64Array.from(numeric()));
    case 'float16':
      return bytesOf(narrowFloat16(numeric()));
    case 'bfloat16':
      return bytesOf(narrowBFloat16(numeric()));
    case 'int64':
      return bytesOf(data instanceof BigInt64Array ? data : BigInt64Array.from(numeric(), (x) => BigInt(Math.trunc(x))));
    case 'int32':
      return bytesOf(data instanceof Int32Array ? data : Int32Array.from(numeric()));
    case 'int16':
      return bytesOf(data instanceof Int16Array ? data : Int16Array.from(numeric()));
    case 'int8':
      return bytesOf(data instanceof Int8Array ? data : Int8Array.from(numeric()));
    case 'uint8':
      return bytesOf(data instanceof Uint8Array ? data : Uint8Array.from(numeric()));
    case 'bool':
      return Uint8Array.from(numeric(), (x) => (x ? 1 : 0));
  }
}
