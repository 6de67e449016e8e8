/**
 * Writing checkpoints: a tree of Maps, arrays, plain objects, scalars and tensors to the zip format
 * torch.load opens (one pickle, one storage entry per distinct data array, the version record).
 * @module
 */
import { DTYPES, type DType, type TensorData } from '../../tensor.js';
import type { HostTensor } from '../../types.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { describeValue } from '../../util/validate.js';
import { narrowBFloat16, narrowFloat16 } from './half.js';
import { isPyTuple } from './pickle.js';
import { PickleWriter, PyFloat } from './pickle-writer.js';
import { isHostTensor, isPlainObject, MAX_DEPTH } from './state-dict.js';
import { isSafeCount, STORAGE_DTYPE } from './storages.js';
import { buildZip, type ZipInput } from './zip.js';

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
  if (typeof path !== 'string' || path.length === 0)
    throw new TypeError(`Expected path to be a non-empty string but received ${describeValue(path)}`);
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
    if (!t.shape.every(isSafeCount))
      throw new TypeError(`Expected ${at}.shape to be non-negative integers but received ${describeValue(t.shape)}`);
    const numel = t.shape.reduce((a, b) => a * b, 1);
    if (numel !== t.data.length)
      throw new RangeError(`Expected ${at}.data to hold ${numel} elements for shape [${t.shape.join(', ')}] but it holds ${t.data.length}`);
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
          v.forEach((x, i) => {
            value(x, child(i), depth + 1);
          });
          w.op(0x74);
        } else {
          w.op(0x5d); // EMPTY_LIST
          for (let i = 0; i < v.length; i += 1000) {
            w.mark();
            v.slice(i, i + 1000).forEach((x, j) => {
              value(x, child(i + j), depth + 1);
            });
            w.op(0x65); // APPENDS
          }
        }
      } else if (isPlainObject(v)) {
        w.op(0x7d); // EMPTY_DICT
        items(Object.entries(v), child, depth);
      } else {
        throw new TypeError(
          `Cannot save ${describeValue(v)} at ${at}: expected a tensor, Map, array, plain object, number, string, boolean or null`,
        );
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
