/**
 * Storages: the element types torch names, their sizes, and turning a storage's bytes into the
 * C-contiguous typed array of each tensor that views it (a zero-copy view where the bytes allow).
 * @module
 */
import { endianness } from 'node:os';
import { CheckpointError } from '../../native/errors.js';
import type { DType, TensorData } from '../../tensor.js';
import { corrupt } from './errors.js';
import { widenBFloat16, widenFloat16 } from './half.js';
import type { PthTensor } from './types.js';

/** Bytes per element of each dtype as stored. */
export const ELEMENT_SIZE: Record<DType, number> = {
  float32: 4,
  float64: 8,
  float16: 2,
  bfloat16: 2,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  bool: 1,
};

/** torch storage class names and the dtype of their elements. */
export const STORAGE_DTYPE: Record<string, DType> = {
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

export const HOST_ORDER: 'little' | 'big' = endianness() === 'LE' ? 'little' : 'big';

/** A non-negative safe integer: a size, a stride, an offset, an element count. */
export function isSafeCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** A storage as a pickle names it: root key, element type and the element range it covers. */
export class StorageRef {
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

/** A tensor the pickle built, waiting for its data once every storage has been located. */
export interface PendingTensor {
  tensor: PthTensor;
  ref: StorageRef;
}

/** Fills `tensor.data` from its storage, charging its output bytes to `budget` (options.maxBytes). */
export function materialize(
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
      throw corrupt(
        `tensor of shape [${shape.join(', ')}] (${ref.dtype}) exceeds the allocation limit of ${budget.left} bytes left (options.maxBytes)`,
      );
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
      throw corrupt(
        `tensor [${shape.join(', ')}] with strides [${strides.join(', ')}] at offset ${offset} reaches element ${last} of storage ${ref.key}, which has ${ref.numel}`,
      );
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
  float32: Float32Array,
  float64: Float64Array,
  int64: BigInt64Array,
  int32: Int32Array,
  int16: Int16Array,
  int8: Int8Array,
  uint8: Uint8Array,
  bool: Uint8Array,
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
function gather(
  storage: Uint8Array,
  es: number,
  shape: readonly number[],
  strides: readonly number[],
  offset: number,
  numel: number,
): Uint8Array {
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
        if (v < -2147483648n || v > 2147483647n)
          throw new CheckpointError(
            `int64 value ${v} in storage ${key} does not fit int32 (options.int64 = 'int32')`,
            'ERR_CHECKPOINT_DTYPE',
          );
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
