/**
 * NumPy `.npy` files: the prepared-volume cache's format (docs/study.md section 2), readable by
 * `numpy.load` without this library. Only what the cache needs: little-endian C-order float32
 * written, float32 or float64 read.
 *
 * Format: the magic `\x93NUMPY`, a version byte pair, the header length (uint16 for 1.0, uint32
 * for 2.0 and 3.0), then a Python dict literal `{'descr': ..., 'fortran_order': ..., 'shape': (...), }`
 * padded with spaces to a multiple of 64 bytes and ended by `\n`, then the raw array.
 * @see https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
 * @module
 */
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../util/atomic.js';
import { checkShape, describeValue } from '../util/validate.js';

/** Why a `.npy` file could not be read. */
export type NpyErrorCode = 'ERR_NPY_FORMAT' | 'ERR_NPY_DTYPE' | 'ERR_NPY_TRUNCATED';

/** A `.npy` file that is not one, holds a type or layout we do not read, or ends early. The message starts with the path. */
export class NpyError extends Error {
  override name = 'NpyError';
  constructor(
    readonly code: NpyErrorCode,
    message: string,
    readonly path: string,
  ) {
    super(`${path}: ${message}`);
  }
}

const MAGIC = '\x93NUMPY';
// the preamble (magic, version, header length) plus the header is a multiple of this, so the data is aligned
const ALIGN = 64;

/**
 * Writes a float32 C-order `.npy` file (format 1.0, `'<f4'`), atomically: a reader sees the old
 * file or the whole new one, never a partial write.
 *
 * @param path Destination file; its directory must exist.
 * @param data Values in C order (the last axis varies fastest).
 * @param shape Array shape; its product must equal `data.length` (`[]` is a scalar).
 * @throws TypeError when `data` is not a Float32Array or `shape` not an array of integers;
 *   RangeError when `shape` does not hold `data.length` values (as a rejected promise).
 * @example
 * await writeNpy('/data/cache/P001_T2.npy', volume, [70, 86, 86]); // numpy.load gives float32 (70, 86, 86)
 */
export async function writeNpy(path: string, data: Float32Array, shape: readonly number[]): Promise<void> {
  if (!(data instanceof Float32Array)) throw new TypeError(`Expected a Float32Array for data but received ${describeValue(data)}`);
  checkShape(shape, 'shape');
  const n = shape.reduce((a, b) => a * b, 1);
  if (data.length !== n)
    throw new RangeError(`Expected data to hold ${n} values for shape [${shape.join(', ')}] but it holds ${data.length}`);
  // a 1-tuple needs its trailing comma in Python
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const unpadded = 10 + dict.length + 1;
  const header = dict + ' '.repeat((ALIGN - (unpadded % ALIGN)) % ALIGN) + '\n';
  const prefix = Buffer.alloc(10);
  prefix.write(MAGIC, 0, 'latin1');
  prefix[6] = 1; // format 1.0: the header length fits a uint16
  prefix[7] = 0;
  prefix.writeUInt16LE(header.length, 8);
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  await writeFileAtomic(path, [prefix, Buffer.from(header, 'latin1'), bytes]);
}

/**
 * Reads a little-endian C-order float32 (`'<f4'`) or float64 (`'<f8'`) `.npy` file (format 1.0,
 * 2.0 or 3.0), as float32 (float64 values rounded to nearest).
 *
 * @param path The file.
 * @returns The values in C order and the shape (`[]` for a scalar).
 * @throws NpyError `ERR_NPY_FORMAT` (not a .npy file, a malformed header, Fortran order),
 *   `ERR_NPY_DTYPE` (another dtype or byte order), `ERR_NPY_TRUNCATED` (fewer bytes than the shape
 *   needs); the file system's error when it cannot be read.
 * @example
 * const { data, shape } = await readNpy('/data/cache/P001_T2.npy'); // Float32Array, [70, 86, 86]
 */
export async function readNpy(path: string): Promise<{ data: Float32Array; shape: number[] }> {
  const buf = await readFile(path);
  if (buf.length < 10 || buf.toString('latin1', 0, 6) !== MAGIC) throw new NpyError('ERR_NPY_FORMAT', 'not a .npy file', path);
  const major = buf[6];
  const start = major === 1 ? 10 : 12;
  if (buf.length < start) throw new NpyError('ERR_NPY_TRUNCATED', 'the header ends early', path);
  const headerLength = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const header = buf.toString(major === 3 ? 'utf8' : 'latin1', start, start + headerLength);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined)
    throw new NpyError('ERR_NPY_FORMAT', `malformed .npy header ${JSON.stringify(header)}`, path);
  if (fortran === 'True') throw new NpyError('ERR_NPY_FORMAT', 'Fortran-order .npy files are not supported', path);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  const n = shape.reduce((a, b) => a * b, 1);
  const body = buf.subarray(start + headerLength);
  if (descr === '<f4') {
    if (body.length < n * 4) throw new NpyError('ERR_NPY_TRUNCATED', `truncated .npy (${body.length} of ${n * 4} bytes)`, path);
    // copied: `body` need not be 4-byte aligned within the file's buffer
    const data = new Float32Array(n);
    new Uint8Array(data.buffer).set(body.subarray(0, n * 4));
    return { data, shape };
  }
  if (descr === '<f8') {
    if (body.length < n * 8) throw new NpyError('ERR_NPY_TRUNCATED', `truncated .npy (${body.length} of ${n * 8} bytes)`, path);
    const f64 = new Float64Array(n);
    new Uint8Array(f64.buffer).set(body.subarray(0, n * 8));
    return { data: Float32Array.from(f64), shape };
  }
  throw new NpyError('ERR_NPY_DTYPE', `.npy dtype ${descr} is not supported (expected <f4 or <f8)`, path);
}
