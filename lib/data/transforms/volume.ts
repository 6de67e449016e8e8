/**
 * What the transforms take and return: a [D, H, W] volume either in JS memory ({@link HostVolume})
 * or as a {@link Tensor} on any device. A transform returns the same kind it was given; a Tensor
 * stays on its device (so a CUDA volume is augmented on CUDA), a HostVolume is computed on
 * `options.device` (CPU unless told) and copied back.
 * @module
 */
import type { NativeTensor } from '../../native/binding.js';
import { fromNative } from '../../native/errors.js';
import type { Device } from '../../config/device.js';
import { checkDevice, kHandle, Tensor } from '../../tensor.js';
import { checkShape, describeValue } from '../../util/validate.js';

/** A float32 volume in JS memory, C-order, shape [D, H, W]. */
export interface HostVolume {
  data: Float32Array;
  shape: readonly number[];
}

/** A volume a transform accepts: a {@link HostVolume} or a float [D, H, W] {@link Tensor}. */
export type VolumeLike = HostVolume | Tensor;

/** A transform's output: the image and, when one was given, the mask moved the same way. */
export interface Augmented<V extends VolumeLike> {
  image: V;
  mask?: V;
}

/** Options every transform takes. */
export interface VolumeOptions<V extends VolumeLike> {
  /** A label or mask volume of the image's shape, moved with it (always sampled nearest-neighbour). */
  mask?: V;
  /** Where a {@link HostVolume} is computed (a Tensor is computed on its own device). */
  device?: Device;
}

function checkVolume(value: unknown, name: string): [number, number, number] {
  if (value instanceof Tensor) {
    const shape = value.shape;
    if (shape.length !== 3) throw new RangeError(`Expected ${name} to have shape [D, H, W] but received [${shape.join(', ')}]`);
    if (name === 'image' && !['float32', 'float64'].includes(value.dtype)) {
      throw new TypeError(`Expected ${name} to be a float32 or float64 Tensor but received ${value.dtype}`);
    }
    if (shape.some((d) => d === 0)) throw new RangeError(`Expected ${name} to be non-empty but received [${shape.join(', ')}]`);
    return shape as [number, number, number];
  }
  const v = value as HostVolume | null | undefined;
  if (!v || typeof v !== 'object' || !(v.data instanceof Float32Array)) {
    throw new TypeError(`Expected ${name} to be a Tensor or {data: Float32Array, shape: [D, H, W]} but received ${describeValue(value)}`);
  }
  const shape = checkShape(v.shape, `${name}.shape`, { rank: 3 });
  const numel = shape[0] * shape[1] * shape[2];
  if (numel === 0) throw new RangeError(`Expected ${name} to be non-empty but received [${shape.join(', ')}]`);
  if (numel !== v.data.length) {
    throw new RangeError(
      `Expected ${name}.shape [${shape.join(', ')}] to hold ${name}.data.length = ${v.data.length} elements but it holds ${numel}`,
    );
  }
  return shape as [number, number, number];
}

/**
 * Validates image and mask, hands their native tensors to `call`, and returns the results in the
 * caller's kind. @internal
 */
export async function runOnVolumes<V extends VolumeLike>(
  image: V,
  options: VolumeOptions<V>,
  call: (image: NativeTensor, mask: NativeTensor | null) => Promise<NativeTensor[]>,
): Promise<Augmented<V> & { shape: [number, number, number] }> {
  const shape = checkVolume(image, 'image');
  const mask = options.mask;
  if (mask !== undefined) {
    const maskShape = checkVolume(mask, 'options.mask');
    if (maskShape.join() !== shape.join()) {
      throw new RangeError(`Expected options.mask to have the image's shape [${shape.join(', ')}] but received [${maskShape.join(', ')}]`);
    }
    if (mask instanceof Tensor !== image instanceof Tensor)
      throw new TypeError('Expected options.mask to be the same kind (Tensor or HostVolume) as image');
  }
  const device = options.device === undefined ? 'cpu' : checkDevice(options.device, 'options.device');
  const callSite = new Error();
  if (image instanceof Tensor) {
    if (mask && (mask as Tensor).device !== image.device)
      throw new RangeError(`Expected options.mask on ${image.device} like the image but it is on ${(mask as Tensor).device}`);
    try {
      const [out, outMask] = await call(image[kHandle], mask ? (mask as Tensor)[kHandle] : null);
      return { image: new Tensor(out) as V, ...(outMask ? { mask: new Tensor(outMask) as V } : {}), shape };
    } catch (err) {
      throw fromNative(err, callSite);
    }
  }
  const owned: Tensor[] = [];
  const upload = async (v: HostVolume): Promise<Tensor> => {
    const cpu = Tensor.from(v.data, shape);
    owned.push(cpu);
    if (device === 'cpu') return cpu;
    const moved = await cpu.to(device);
    owned.push(moved);
    return moved;
  };
  try {
    const img = await upload(image as HostVolume);
    const msk = mask ? await upload(mask as HostVolume) : null;
    const outs = (await call(img[kHandle], msk ? msk[kHandle] : null)).map((h) => new Tensor(h));
    owned.push(...outs);
    const read = async (t: Tensor): Promise<HostVolume> => ({ data: (await t.data()) as Float32Array, shape: [...shape] });
    const result: Augmented<HostVolume> = { image: await read(outs[0]) };
    if (outs[1]) result.mask = await read(outs[1]);
    return { ...(result as Augmented<V>), shape };
  } catch (err) {
    throw fromNative(err, callSite);
  } finally {
    for (const t of owned) t.dispose();
  }
}

/** The shape of a volume (checked). @internal */
export function volumeShape(image: VolumeLike, name = 'image'): [number, number, number] {
  return checkVolume(image, name);
}
