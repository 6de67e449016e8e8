/**
 * Tensor: a LibTorch tensor held by the addon, created from and read back into TypedArrays.
 * @module
 */
import { DEVICE_RULE, isDevice, type Device } from './config/device.js';
import { fromNative, TorchError } from './native/errors.js';
import { native, type NativeTensor, type NativeTypedArray } from './native/binding.js';
import { checkOneOf, checkShape, describeValue } from './util/validate.js';

/** Element types a Tensor can hold. float16/bfloat16 read back widened to float32. */
export const DTYPES = ['float32', 'float64', 'float16', 'bfloat16', 'int64', 'int32', 'int16', 'int8', 'uint8', 'bool'] as const;
/** One of {@link DTYPES}: a Tensor's element type, by its PyTorch name. */
export type DType = (typeof DTYPES)[number];

/** The TypedArrays a Tensor is created from, and what each becomes. */
export type TensorData = Float32Array | Float64Array | Int32Array | Int16Array | Int8Array | Uint8Array | BigInt64Array;

/** @internal the native handle; not part of the public API. */
export const kHandle: unique symbol = Symbol('spottune3d.handle');

const SOURCE_DTYPE = new Map<Function, DType>([
  [Float32Array, 'float32'],
  [Float64Array, 'float64'],
  [Int32Array, 'int32'],
  [Int16Array, 'int16'],
  [Int8Array, 'int8'],
  [Uint8Array, 'uint8'],
  [BigInt64Array, 'int64'],
]);

/** Checks a device string and returns it typed. */
export function checkDevice(device: unknown, name = 'device'): Device {
  if (!isDevice(device)) {
    throw new RangeError(`Expected ${name} to be ${DEVICE_RULE} but received ${describeValue(device)}`);
  }
  return device;
}

/**
 * A tensor living in LibTorch memory (host or GPU). Create one with {@link Tensor.from}; release it
 * with {@link Tensor.dispose} (or `await using`); the garbage collector frees forgotten ones too.
 *
 * @example
 * const t = Tensor.from(new Float32Array(2 * 3), [2, 3]);
 * const gpu = await t.to('cuda');            // throws TorchError ERR_CUDA_UNAVAILABLE without CUDA
 * console.log(t.shape, t.dtype, t.dataSync());
 */
export class Tensor {
  /** @internal */
  readonly [kHandle]: NativeTensor;

  /** @internal use {@link Tensor.from} */
  constructor(handle: NativeTensor) {
    this[kHandle] = handle;
  }

  /**
   * Copies `data` into a new CPU tensor of `shape`. The dtype follows the array
   * (Float32Array -> float32, BigInt64Array -> int64, ...); pass `dtype` to convert, or 'bool'
   * with a Uint8Array of 0/1. A view on a SharedArrayBuffer is copied like any other (on the JS
   * thread; another thread writing it meanwhile races the copy).
   * @throws TypeError for an unsupported array, RangeError when the shape does not hold data.length
   *   elements or 'bool' data holds a byte other than 0 and 1
   */
  static from(data: TensorData, shape: readonly number[], dtype?: DType): Tensor {
    const source = ArrayBuffer.isView(data) ? SOURCE_DTYPE.get(data.constructor) : undefined;
    if (!source) {
      throw new TypeError(
        `Expected data to be a Float32Array, Float64Array, Int32Array, Int16Array, Int8Array, Uint8Array or BigInt64Array but received ${describeValue(data)}`,
      );
    }
    checkShape(shape, 'shape');
    // A zero-element shape passes the length check with any other extent; C++ counts in int64.
    shape.forEach((d, i) => {
      if (d > Number.MAX_SAFE_INTEGER)
        throw new RangeError(`Expected shape[${i}] to be at most ${Number.MAX_SAFE_INTEGER} but received ${d}`);
    });
    const numel = shape.reduce((a, b) => a * b, 1);
    if (numel !== data.length) {
      throw new RangeError(`Expected shape [${shape.join(', ')}] to hold data.length = ${data.length} elements but it holds ${numel}`);
    }
    if (dtype !== undefined) checkOneOf(dtype, 'dtype', DTYPES);
    if (dtype === 'bool' && source !== 'uint8') throw new TypeError(`dtype 'bool' needs a Uint8Array but received ${describeValue(data)}`);
    if (dtype === 'bool') {
      // The bytes become the tensor's as they are (bool and uint8 share a byte); any byte but 0 or 1
      // would be a bool that is neither true nor false to LibTorch's kernels.
      const bytes = data as Uint8Array;
      for (let i = 0; i < bytes.length; i++) {
        if (bytes[i] > 1) throw new RangeError(`Expected data to hold only 0 and 1 for dtype 'bool' but data[${i}] is ${bytes[i]}`);
      }
    }
    try {
      return new Tensor(native().NativeTensor.fromArray(data as NativeTypedArray, shape, dtype ?? null));
    } catch (err) {
      throw fromNative(err);
    }
  }

  /** Dimensions, outermost first. */
  get shape(): number[] {
    return this.call(() => this[kHandle].shape());
  }
  /** Element type. */
  get dtype(): DType {
    return this.call(() => this[kHandle].dtype()) as DType;
  }
  /** Where the data lives: 'cpu' or 'cuda:N'. */
  get device(): Device {
    return this.call(() => this[kHandle].device()) as Device;
  }
  /** Number of elements. */
  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
  /** True after {@link dispose}. */
  get disposed(): boolean {
    return this[kHandle].disposed();
  }

  /** A copy of the data in a fresh TypedArray (copies from the GPU first when needed). */
  async data(): Promise<TensorData> {
    const callSite = new Error();
    try {
      return await this[kHandle].data();
    } catch (err) {
      throw fromNative(err, callSite);
    }
  }

  /** Synchronous {@link data}, for small CPU tensors. */
  dataSync(): TensorData {
    return this.call(() => this[kHandle].dataSync());
  }

  /** A copy on `device` (and in `dtype` when given); this tensor is unchanged. */
  async to(device: Device, dtype?: DType): Promise<Tensor> {
    checkDevice(device);
    if (dtype !== undefined) checkOneOf(dtype, 'dtype', DTYPES);
    const callSite = new Error();
    try {
      return new Tensor(await this[kHandle].to(device, dtype ?? null));
    } catch (err) {
      throw fromNative(err, callSite);
    }
  }

  /** Releases the memory now. Idempotent; later reads throw a TorchError with code ERR_DISPOSED. */
  dispose(): void {
    this[kHandle].dispose();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.dispose();
  }

  toString(): string {
    return this.disposed ? 'Tensor(disposed)' : `Tensor(${this.dtype}, [${this.shape.join(', ')}], ${this.device})`;
  }

  private call<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw fromNative(err);
    }
  }
}

export { TorchError };
