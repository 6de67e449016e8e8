/**
 * A 3-D image volume: voxels, shape, spacing and the voxel-to-world affine.
 * @module
 */
import { checkShape, describeValue } from '../util/validate.js';

/** Voxel buffers a volume may hold (the NIfTI datatypes the library reads and writes). */
export type VoxelArray = Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array;

/** Voxel data types, by their NumPy names. */
export type VoxelDType = 'uint8' | 'int8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'float32' | 'float64';

/** A 4x4 voxel-to-world matrix, row-major (`affine[row][col]`), in mm. */
export type Affine = number[][];

/**
 * Axis order of `data`/`shape`/`spacing`.
 * - `'kji'` (the default): the voxel buffer as stored in NIfTI, `i` fastest, so `shape` is
 *   [nz, ny, nx] = [D, H, W], as SimpleITK's `GetArrayFromImage` returns it (the study's order).
 * - `'ijk'`: nibabel's array order, `shape` [nx, ny, nz] with `k` fastest in C order, as MedicalNet's
 *   loaders see volumes read with nibabel.
 * The affine always maps NIfTI (i, j, k, 1) to world, whatever the order.
 */
export type AxisOrder = 'kji' | 'ijk';

/** A 3-D volume. `data` is C-contiguous over `shape` (last axis fastest). */
export interface Volume<T extends VoxelArray = Float32Array> {
  /** Voxels, C-contiguous over `shape`. */
  data: T;
  /** [D, H, W] (= [nz, ny, nx] for axis order 'kji'). */
  shape: [number, number, number];
  /** Voxel size in mm along the axes of `shape`. */
  spacing: [number, number, number];
  /** Voxel (i, j, k) to world (x, y, z) in mm; identity-like when unknown. */
  affine: Affine;
}

/** The 4x4 identity. */
export function identityAffine(): Affine {
  return [
    [1, 0, 0, 0],
    [0, 1, 0, 0],
    [0, 0, 1, 0],
    [0, 0, 0, 1],
  ];
}

/** Number of voxels of a shape. */
export function voxelCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** The NumPy dtype name of a voxel buffer. */
export function dtypeOf(data: VoxelArray): VoxelDType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Uint8Array) return 'uint8';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Uint16Array) return 'uint16';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Uint32Array) return 'uint32';
  throw new TypeError(`Expected a typed voxel array but received ${describeValue(data)}`);
}

/**
 * Checks that `volume` is a Volume whose data length matches its shape.
 * @throws TypeError / RangeError naming `name`.
 */
export function checkVolume(volume: unknown, name: string): Volume<VoxelArray> {
  if (typeof volume !== 'object' || volume === null)
    throw new TypeError(`Expected a volume for ${name} but received ${describeValue(volume)}`);
  const v = volume as Partial<Volume<VoxelArray>>;
  const shape = checkShape(v.shape, `${name}.shape`, { rank: 3 });
  if (!ArrayBuffer.isView(v.data)) throw new TypeError(`Expected a typed array for ${name}.data but received ${describeValue(v.data)}`);
  dtypeOf(v.data as VoxelArray);
  const n = voxelCount(shape);
  if ((v.data as VoxelArray).length !== n) {
    throw new RangeError(
      `Expected ${name}.data to hold ${n} voxels for shape [${shape.join(', ')}] but it holds ${(v.data as VoxelArray).length}`,
    );
  }
  return v as Volume<VoxelArray>;
}

/**
 * Reverses the axes of a C-contiguous 3-D buffer: [a, b, c] -> [c, b, a]. Turns 'kji' data into
 * 'ijk' data and back.
 */
export function reverseAxes<T extends VoxelArray>(data: T, shape: readonly [number, number, number]): T {
  const [a, b, c] = shape;
  const out = new (data.constructor as new (n: number) => T)(data.length);
  // in[z, y, x] at (z*b + y)*c + x  ->  out[x, y, z] at (x*b + y)*a + z
  for (let z = 0; z < a; z++) {
    for (let y = 0; y < b; y++) {
      const inRow = (z * b + y) * c;
      const outBase = y * a + z;
      const stride = b * a;
      for (let x = 0; x < c; x++) out[outBase + x * stride] = data[inRow + x];
    }
  }
  return out;
}
