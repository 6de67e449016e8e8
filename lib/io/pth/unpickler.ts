/**
 * The unpickler's view of torch: the allow-list of globals a checkpoint may name (tensor and
 * parameter rebuilds, storages, OrderedDict, torch.Size, ...), persistent ids resolved to storage
 * references, and the tensors the pickle builds. Like torch.load(weights_only=True), anything else
 * is refused with ERR_CHECKPOINT_UNSAFE before it could run.
 * @module
 */
import { CheckpointError } from '../../native/errors.js';
import type { DType } from '../../tensor.js';
import { describeValue } from '../../util/validate.js';
import { corrupt, unsafe } from './errors.js';
import { latin1Bytes, PyCallable, pyTuple, type UnpickleHooks } from './pickle.js';
import { isHostTensor } from './state-dict.js';
import { ELEMENT_SIZE, isSafeCount, STORAGE_DTYPE, StorageRef, type PendingTensor } from './storages.js';
import type { PthFormat, PthTensor } from './types.js';

const TORCH_DTYPE_NAMES = new Set([
  'float32',
  'float',
  'float64',
  'double',
  'float16',
  'half',
  'bfloat16',
  'int64',
  'long',
  'int32',
  'int',
  'int16',
  'short',
  'int8',
  'uint8',
  'bool',
  'complex64',
  'complex128',
  'complex32',
]);

class StorageType {
  constructor(
    readonly name: string,
    readonly dtype: DType,
  ) {}
}
class TypeMarker {
  constructor(readonly name: string) {}
}
const TORCH_TENSOR = new TypeMarker('torch.Tensor');

/** A storage key as the pickle writes it: a string, or (legacy) an integer. */
export function keyText(v: unknown, what: string): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return String(v);
  throw corrupt(`${what} is a ${typeof v}, not a storage key`);
}

/** The unpickler's view of torch: only what state dicts and training checkpoints contain. */
export class TorchUnpickleContext implements UnpickleHooks {
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
        if (
          args.length !== 4 ||
          !(func instanceof PyCallable) ||
          !func.name.startsWith('torch._utils._rebuild_tensor') ||
          !Array.isArray(inner)
        ) {
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
        if (args.length !== 1 || !Array.isArray(args[0]) || !args[0].every(isSafeCount))
          throw corrupt('torch.Size() takes a tuple of sizes');
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
      if (!dtype)
        throw new CheckpointError(
          `Unsupported storage type ${full}: spottune3d reads ${Object.keys(STORAGE_DTYPE).join(', ')}`,
          'ERR_CHECKPOINT_DTYPE',
        );
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
    if (!isSafeCount(offset) || !isSafeCount(size) || offset + size > numel)
      throw corrupt(`storage view [${String(offset)}, +${String(size)}) lies outside storage ${key}`);
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

function isPthTensor(value: unknown): value is PthTensor {
  return isHostTensor(value) && 'storage' in value;
}
