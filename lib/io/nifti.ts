/**
 * NIfTI-1 and NIfTI-2 reading and writing, `.nii` and `.nii.gz`. Header fields are parsed with
 * nifti-reader-js and checked here (the extension chain is walked here, bounded); gzip goes through
 * Node's zlib: a whole file is inflated in one call into one buffer sized from its header, and no
 * further than the header describes (an early volume of a long 4-D file is streamed instead,
 * inflating only the bytes up to it), and every write is atomic. Hostile files (header lies,
 * looping extensions, bombs) fail with a coded NiftiError: scripts/fixtures/hostile/make_nifti.mjs.
 * @module
 */
import { createReadStream } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { constants as bufferConstants } from 'node:buffer';
import { constants as zlibConstants, createGunzip, gunzip as gunzipCallback, gunzipSync, gzip as gzipCallback } from 'node:zlib';
import { promisify } from 'node:util';
import * as nifti from 'nifti-reader-js';
import { writeFileAtomic } from '../util/atomic.js';
import { checkInteger, checkOneOf, describeValue } from '../util/validate.js';
import { checkVolume, dtypeOf, reverseAxes, type Affine, type AxisOrder, type Volume, type VoxelArray, type VoxelDType } from './volume.js';

const gzip = promisify(gzipCallback);
const gunzip = promisify(gunzipCallback);

/**
 * A NIfTI file could not be read or written. `code` is stable:
 * - ERR_NIFTI_FORMAT: not NIfTI, or a header that contradicts itself (sizeof_hdr, rank, negative
 *   dims, a vox_offset inside the header, an extension chain that loops or overruns vox_offset),
 *   or corrupt gzip data;
 * - ERR_NIFTI_DATATYPE: a datatype this reader does not convert (RGB, complex, 64-bit integers);
 * - ERR_NIFTI_TRUNCATED: the file ends before the bytes its header describes;
 * - ERR_NIFTI_LIMIT: the file holds more than its header describes (a .nii.gz that inflates past
 *   header + extensions + voxels plus 64 KiB), or one volume (or a whole .nii.gz read in one
 *   call) is larger than a Node buffer can hold.
 *
 * System errors (ENOENT, EACCES) keep their own `code`.
 */
export class NiftiError extends Error {
  override name = 'NiftiError';
  constructor(
    readonly code: NiftiErrorCode,
    message: string,
    readonly path?: string,
  ) {
    super(path ? `${path}: ${message}` : message);
  }
}

/** The codes a {@link NiftiError} carries. */
export type NiftiErrorCode = 'ERR_NIFTI_FORMAT' | 'ERR_NIFTI_DATATYPE' | 'ERR_NIFTI_TRUNCATED' | 'ERR_NIFTI_LIMIT';

/**
 * Bytes a .nii.gz may inflate to beyond what its header describes (vox_offset + every volume)
 * before the read stops with ERR_NIFTI_LIMIT: room for a writer's padding, never for a bomb.
 */
const INFLATE_SLACK = 1 << 16;

/** The header fields of a NIfTI file, as stored (NIfTI-1 or -2). */
export interface NiftiHeader {
  version: 1 | 2;
  littleEndian: boolean;
  /** dim[0..7]: dim[0] is the rank, dim[1..3] = nx, ny, nz. */
  dims: number[];
  /** pixdim[0..7]: pixdim[0] is qfac, pixdim[1..3] the voxel sizes. */
  pixDims: number[];
  datatypeCode: number;
  /** The stored voxel type. */
  dtype: VoxelDType;
  bitpix: number;
  voxOffset: number;
  sclSlope: number;
  sclInter: number;
  qformCode: number;
  sformCode: number;
  quatern: [number, number, number];
  qoffset: [number, number, number];
  /** srow_x, srow_y, srow_z. */
  srow: [number[], number[], number[]];
  xyztUnits: number;
  intentCode: number;
  description: string;
}

/** A volume read from a NIfTI file: voxels as float32 with scl_slope/scl_inter applied. */
export interface NiftiVolume extends Volume<Float32Array> {
  header: NiftiHeader;
  /** Axis order of data/shape/spacing. */
  axisOrder: AxisOrder;
  /** Number of volumes in the file (dim[4..7] multiplied; 1 for 3-D files). */
  volumes: number;
  /** True when scl_slope/scl_inter changed the stored values. */
  scaled: boolean;
}

/** Options of {@link readNifti}: which volume of the file, and in which axis order. */
export interface ReadNiftiOptions {
  /** Which volume of a 4-D file (0-based). Default 0. */
  volume?: number;
  /** Axis order of the returned data; see {@link AxisOrder}. Default 'kji' (as stored). */
  axisOrder?: AxisOrder;
}

/** Options of {@link writeNifti}: stored datatype, NIfTI version, axis order, compression and header fields. */
export interface WriteNiftiOptions {
  /** Stored datatype; default: the type of `volume.data` (Float32Array -> float32, Int16Array -> int16...). Values are rounded and clamped for integer types. */
  dtype?: VoxelDType;
  /** NIfTI-1 (348-byte header, the common form) or NIfTI-2. Default 1. */
  version?: 1 | 2;
  /** Axis order of `volume` (default 'kji'). */
  axisOrder?: AxisOrder;
  /** gzip level for `.gz` paths, 1 (fast) to 9 (small). Default 6. */
  compressionLevel?: number;
  /** Stored scl_slope (values are written as given; readers apply them). Default 1. */
  sclSlope?: number;
  /** Stored scl_inter (values are written as given; readers apply them). Default 0. */
  sclInter?: number;
  /** descrip field (at most 79 bytes). */
  description?: string;
}

const DATATYPES: Record<number, { dtype: VoxelDType; bytes: number }> = {
  2: { dtype: 'uint8', bytes: 1 },
  4: { dtype: 'int16', bytes: 2 },
  8: { dtype: 'int32', bytes: 4 },
  16: { dtype: 'float32', bytes: 4 },
  64: { dtype: 'float64', bytes: 8 },
  256: { dtype: 'int8', bytes: 1 },
  512: { dtype: 'uint16', bytes: 2 },
  768: { dtype: 'uint32', bytes: 4 },
};
const UNSUPPORTED: Record<number, string> = {
  1: 'BINARY (1)',
  32: 'COMPLEX64 (32)',
  128: 'RGB24 (128)',
  1024: 'INT64 (1024)',
  1280: 'UINT64 (1280)',
  1536: 'FLOAT128 (1536)',
  1792: 'COMPLEX128 (1792)',
  2048: 'COMPLEX256 (2048)',
  2304: 'RGBA32 (2304)',
};
const CODES: Record<VoxelDType, number> = { uint8: 2, int16: 4, int32: 8, float32: 16, float64: 64, int8: 256, uint16: 512, uint32: 768 };
const ARRAYS: Record<VoxelDType, new (buffer: ArrayBufferLike, byteOffset?: number, length?: number) => VoxelArray> = {
  uint8: Uint8Array,
  int8: Int8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  float32: Float32Array,
  float64: Float64Array,
};
const RANGES: Partial<Record<VoxelDType, [number, number]>> = {
  uint8: [0, 255],
  int8: [-128, 127],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
};
const BYTES: Record<VoxelDType, number> = { uint8: 1, int8: 1, int16: 2, uint16: 2, int32: 4, uint32: 4, float32: 4, float64: 8 };

function toArrayBuffer(buf: Buffer): ArrayBuffer {
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
}

/** Header sizes by version: sizeof_hdr, the value every NIfTI file starts with. */
const HEADER_SIZE = { 1: 348, 2: 540 } as const;

/**
 * Parses and checks a header. nifti-reader-js reads the fixed fields only: it is handed exactly
 * sizeof_hdr bytes, so it never walks the extension chain (its walk follows any esize, including
 * negative ones, and loops forever on a chain that points back); the chain is walked here, bounded.
 */
function parseHeader(bytes: Buffer, path: string): NiftiHeader {
  if (bytes.length < HEADER_SIZE[1])
    throw new NiftiError('ERR_NIFTI_FORMAT', `file too short for a NIfTI header (${bytes.length} bytes; NIfTI-1 needs 348)`, path);
  const ab = toArrayBuffer(bytes.subarray(0, HEADER_SIZE[2]));
  let version: 1 | 2;
  if (nifti.isNIFTI1(ab)) version = 1;
  else if (nifti.isNIFTI2(ab)) version = 2;
  else
    throw new NiftiError('ERR_NIFTI_FORMAT', 'not a NIfTI-1 or NIfTI-2 file (no n+1/n+2 magic; .hdr/.img pairs are not supported)', path);
  const size = HEADER_SIZE[version];
  if (bytes.length < size) throw new NiftiError('ERR_NIFTI_TRUNCATED', `the NIfTI-2 header ends early: ${bytes.length} of 540 bytes`, path);
  // sizeof_hdr also tells the byte order; the library would throw a plain Error for any other value
  const probe = new DataView(ab);
  const sizeofLE = probe.getInt32(0, true);
  if (sizeofLE !== size && probe.getInt32(0, false) !== size)
    throw new NiftiError('ERR_NIFTI_FORMAT', `sizeof_hdr is ${sizeofLE}; a NIfTI-${version} header has ${size}`, path);
  const h = version === 1 ? new nifti.NIFTI1() : new nifti.NIFTI2();
  try {
    h.readHeader(ab.slice(0, size));
  } catch (err) {
    throw new NiftiError('ERR_NIFTI_FORMAT', `unreadable NIfTI-${version} header (${(err as Error).message})`, path);
  }
  const code = h.datatypeCode;
  const type = DATATYPES[code];
  if (!type) {
    const what = UNSUPPORTED[code] ?? `code ${code}`;
    throw new NiftiError(
      'ERR_NIFTI_DATATYPE',
      `NIfTI datatype ${what} is not supported; expected one of uint8, int8, int16, uint16, int32, uint32, float32, float64 (convert colour or complex images to scalar volumes first)`,
      path,
    );
  }
  // srow is read here because nifti-reader-js fills `affine` from the qform when qform_code >= sform_code.
  const view = new DataView(ab);
  const le = h.littleEndian;
  const srow = [0, 1, 2].map((r) =>
    [0, 1, 2, 3].map((c) => (version === 1 ? view.getFloat32(280 + 16 * r + 4 * c, le) : view.getFloat64(400 + 32 * r + 8 * c, le))),
  ) as [number[], number[], number[]];
  const voxOffset = h.vox_offset;
  // a single-file NIfTI stores its voxels after the header and the 4-byte extension flag; an
  // offset inside them would return header bytes as voxels (nibabel refuses these files too)
  if (!Number.isFinite(voxOffset) || voxOffset < size + 4 || voxOffset > Number.MAX_SAFE_INTEGER) {
    throw new NiftiError(
      'ERR_NIFTI_FORMAT',
      `vox_offset is ${voxOffset}; the voxels of a .nii start at or after byte ${size + 4}, past the header and the extension flag`,
      path,
    );
  }
  const rank = h.dims[0];
  if (!(rank >= 1 && rank <= 7)) throw new NiftiError('ERR_NIFTI_FORMAT', `dim[0] = ${rank} is not a rank in [1, 7]`, path);
  for (let i = 1; i <= rank; i++) {
    if (!(h.dims[i] >= 0) || !Number.isSafeInteger(h.dims[i]))
      throw new NiftiError('ERR_NIFTI_FORMAT', `dim[${i}] = ${h.dims[i]} is not a size (rank ${rank})`, path);
  }
  checkExtensions(bytes, size, Math.floor(voxOffset), le, path);
  return {
    version,
    littleEndian: le,
    dims: [...h.dims],
    pixDims: [...h.pixDims],
    datatypeCode: code,
    dtype: type.dtype,
    bitpix: h.numBitsPerVoxel,
    voxOffset,
    sclSlope: h.scl_slope,
    sclInter: h.scl_inter,
    qformCode: h.qform_code,
    sformCode: h.sform_code,
    quatern: [h.quatern_b, h.quatern_c, h.quatern_d],
    qoffset: [h.qoffset_x, h.qoffset_y, h.qoffset_z],
    srow,
    xyztUnits: h.xyzt_units,
    intentCode: h.intent_code,
    description: h.description,
  };
}

/**
 * Walks the extension chain between the extension flag and vox_offset (its contents are not
 * used): each extension starts with its int32 esize, which counts its own 8-byte esize/ecode head,
 * so each step moves forward by at least 8 bytes and the walk ends within the bytes at hand.
 * A size under 8 (0, negative: a chain that stalls or points back) or one that runs past
 * vox_offset is ERR_NIFTI_FORMAT, as nibabel refuses both; a size not a multiple of 16, which
 * the standard asks for, is read as nibabel reads it. Extensions past the first bytes read
 * (`bytes`) are not walked: the voxels start at vox_offset whatever they hold.
 */
function checkExtensions(bytes: Buffer, size: number, voxOffset: number, le: boolean, path: string): void {
  if (bytes.length < size + 4 || bytes[size] === 0) return; // no extension flag
  const end = Math.min(voxOffset, bytes.length);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  for (let at = size + 4; at + 8 <= end; ) {
    const esize = view.getInt32(at, le);
    if (esize < 8)
      throw new NiftiError(
        'ERR_NIFTI_FORMAT',
        `the extension at byte ${at} has esize ${esize}; an extension holds at least its 8-byte esize and ecode`,
        path,
      );
    if (at + esize > voxOffset)
      throw new NiftiError('ERR_NIFTI_FORMAT', `the extension at byte ${at} (esize ${esize}) runs past vox_offset ${voxOffset}`, path);
    at += esize;
  }
}

/**
 * The voxel-to-world affine of a header: the sform when sform_code > 0, else the qform when
 * qform_code > 0 (NIfTI method 2), else diag(pixdim) (method 1). nibabel's `get_best_affine` makes
 * the same choice except in the last case, where it centres the volume.
 */
export function headerAffine(h: NiftiHeader): Affine {
  if (h.sformCode > 0) return [...h.srow.map((r) => [...r]), [0, 0, 0, 1]];
  const [dx, dy, dz] = [1, 2, 3].map((i) => (h.pixDims[i] > 0 ? h.pixDims[i] : 1));
  if (h.qformCode > 0) {
    let [b, c, d] = h.quatern;
    const norm2 = b * b + c * c + d * d;
    let a: number;
    if (norm2 > 1) {
      const n = Math.sqrt(norm2);
      [b, c, d] = [b / n, c / n, d / n];
      a = 0;
    } else a = Math.sqrt(1 - norm2);
    const qfac = h.pixDims[0] < 0 ? -1 : 1;
    const R = [
      [a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
      [2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)],
      [2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - c * c - b * b],
    ];
    const zooms = [dx, dy, dz * qfac];
    return [...R.map((row, r) => [...row.map((v, col) => v * zooms[col]), h.qoffset[r]]), [0, 0, 0, 1]];
  }
  return [
    [dx, 0, 0, 0],
    [0, dy, 0, 0],
    [0, 0, dz, 0],
    [0, 0, 0, 1],
  ];
}

function swapBytes(bytes: Uint8Array, width: number): void {
  if (width === 1) return;
  for (let i = 0; i < bytes.length; i += width) {
    for (let a = i, b = i + width - 1; a < b; a++, b--) {
      const t = bytes[a];
      bytes[a] = bytes[b];
      bytes[b] = t;
    }
  }
}

/**
 * Reads a NIfTI-1 or NIfTI-2 file (`.nii` or `.nii.gz`, detected from the content).
 *
 * @param path File path.
 * @param options `volume` selects a volume of a 4-D file (default the first); `axisOrder` 'kji'
 *   (default: [nz, ny, nx], the buffer as stored, as SimpleITK) or 'ijk' (nibabel/MedicalNet order).
 * @returns float32 voxels with scl_slope/scl_inter applied (a slope of 0 or non-finite means none,
 *   as in nibabel), shape and spacing in the chosen axis order, the affine (sform, else qform) and
 *   the header.
 * @throws NiftiError with `code` ERR_NIFTI_FORMAT (not NIfTI, or a header that contradicts
 *   itself), ERR_NIFTI_DATATYPE (RGB, complex, 64-bit integers...), ERR_NIFTI_TRUNCATED or
 *   ERR_NIFTI_LIMIT (see {@link NiftiError}); RangeError for a volume index past the end.
 * @example
 * const t1 = await readNifti('UPENN-GBM-00001_11_T1.nii.gz'); // t1.shape = [155, 240, 240]
 */
export async function readNifti(path: string, options: ReadNiftiOptions = {}): Promise<NiftiVolume> {
  const axisOrder = checkOneOf(options.axisOrder ?? 'kji', 'options.axisOrder', ['kji', 'ijk'] as const);
  const raw = await readNiftiRaw(path, options);
  const { stored, slope, inter, scaled, shape, spacing } = raw;
  let data: Float32Array;
  if (stored instanceof Float32Array && !scaled) data = stored;
  else if (stored instanceof Float64Array || stored instanceof Int32Array || stored instanceof Uint32Array) {
    // values float32 cannot hold exactly: scale in double, round once
    data = new Float32Array(stored.length);
    for (let i = 0; i < stored.length; i++) data[i] = stored[i] * slope + inter;
  } else {
    data = new Float32Array(stored); // native conversion; exact for 8/16-bit integers and float32
    if (scaled) scaleInPlace(data, slope, inter);
  }
  const base = { affine: raw.affine, header: raw.header, volumes: raw.volumes, scaled, axisOrder };
  if (axisOrder === 'ijk')
    return {
      ...base,
      data: reverseAxes(data, shape),
      shape: [shape[2], shape[1], shape[0]],
      spacing: [spacing[2], spacing[1], spacing[0]],
    };
  return { ...base, data, shape, spacing };
}

/** A volume as stored: the typed array of the file's datatype, with the scaling still to apply. */
export interface NiftiRawVolume extends Volume<VoxelArray> {
  /** The stored voxels (shape [nz, ny, nx]). Real values are `stored * slope + inter`. */
  stored: VoxelArray;
  slope: number;
  inter: number;
  /** slope/inter differ from 1/0. */
  scaled: boolean;
  header: NiftiHeader;
  volumes: number;
}

/** How {@link readNiftiRaw} inflates a `.nii.gz`. */
export type InflateMode = 'auto' | 'whole' | 'stream';

/** Options of {@link readNiftiRaw}. */
export interface ReadNiftiRawOptions {
  /** Which volume of a 4-D file (0-based). Default 0. */
  volume?: number;
  /**
   * 'whole' inflates the file in one call on libuv's thread pool into one buffer sized from the
   * header (the fast path, and the gzip CRC and length are checked); 'stream' inflates only the
   * bytes up to the wanted volume (less work and memory for an early volume of a long 4-D file).
   * 'auto' (default) streams only when the wanted volume ends before half of the file.
   */
  inflate?: InflateMode;
}

/** First bytes read to find the header (and, inflated, enough for any NIfTI header plus a little). */
const HEAD_BYTES = 1 << 16;

/**
 * deflate's largest expansion (about 1032:1): a .nii.gz cannot inflate to more than this many
 * times its size, so a header that claims more describes a truncated file, not a giant buffer.
 */
const DEFLATE_MAX_RATIO = 1032;

/**
 * A zlib error as a NiftiError: a cut-off stream is truncation, output past the bound set from
 * the header a decompression bomb, anything else a corrupt file.
 */
function gzipError(err: unknown, path: string, bound?: number): unknown {
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ERR_BUFFER_TOO_LARGE')
    return new NiftiError(
      'ERR_NIFTI_LIMIT',
      `the gzip stream inflates past the ${bound ?? 'expected'} bytes its header describes (header, extensions and voxels, plus ${INFLATE_SLACK} bytes of slack)`,
      path,
    );
  if (e?.code === 'Z_BUF_ERROR' || /unexpected end of file/i.test(e?.message ?? ''))
    return new NiftiError('ERR_NIFTI_TRUNCATED', 'the gzip stream ends early (truncated .nii.gz)', path);
  if (typeof e?.code === 'string' && e.code.startsWith('Z_'))
    return new NiftiError('ERR_NIFTI_FORMAT', `corrupt gzip data (${e.message})`, path);
  return err;
}

/**
 * The file's first bytes and its size; a gzipped file's first bytes are inflated until they hold a
 * NIfTI-2 header, to at most `HEAD_BYTES`. A stream cut off early is inflated as far as it goes
 * (the header may be whole), never an error here; corrupt data is ERR_NIFTI_FORMAT.
 */
async function readHead(path: string): Promise<{ gz: boolean; head: Buffer; size: number }> {
  const handle = await open(path, 'r');
  let first: Buffer;
  let size: number;
  try {
    size = (await handle.stat()).size;
    const buf = Buffer.alloc(HEAD_BYTES);
    const { bytesRead } = await handle.read(buf, 0, HEAD_BYTES, 0);
    first = buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
  const gz = first.length >= 2 && first[0] === 0x1f && first[1] === 0x8b;
  if (!gz) return { gz, head: first, size };
  // grow the input until the output holds a NIfTI-2 header: a compressed header is a few hundred
  // bytes. The output is capped at HEAD_BYTES: n bytes of input may inflate ~1032 times over
  for (let n = 512; ; n *= 8) {
    let head: Buffer;
    try {
      head = gunzipSync(first.subarray(0, n), { finishFlush: zlibConstants.Z_SYNC_FLUSH, maxOutputLength: HEAD_BYTES });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') return { gz, head: await inflateHead(first, path), size };
      throw gzipError(err, path);
    }
    if (head.length >= HEADER_SIZE[2] || n >= first.length) return { gz, head, size };
  }
}

/**
 * The first HEAD_BYTES that `first` inflates to, streamed and stopped there: for the rare header
 * whose first bytes inflate past HEAD_BYTES (a bomb right behind the header), where a one-shot
 * inflate can only fail. An early end of `first` is expected, not an error.
 */
async function inflateHead(first: Buffer, path: string): Promise<Buffer> {
  const unzip = createGunzip({ chunkSize: 1 << 14 });
  let failure: unknown;
  unzip.on('error', (err) => (failure ??= err));
  unzip.end(first);
  const parts: Buffer[] = [];
  let have = 0;
  try {
    for await (const chunk of unzip as AsyncIterable<Buffer>) {
      parts.push(chunk);
      have += chunk.length;
      if (have >= HEAD_BYTES) break;
    }
  } catch (err) {
    failure ??= err;
  } finally {
    unzip.destroy();
  }
  if (failure !== undefined && have < HEAD_BYTES) {
    const e = gzipError(failure, path);
    if (!(e instanceof NiftiError && e.code === 'ERR_NIFTI_TRUNCATED')) throw e;
  }
  return Buffer.concat(parts, Math.min(have, HEAD_BYTES));
}

/** Largest volume, and largest whole .nii.gz inflated in one call: what one Node buffer holds. */
const MAX_BYTES = bufferConstants.MAX_LENGTH;

/** The voxel bytes of volume `index` and the header, inflating as {@link ReadNiftiRawOptions.inflate} says. */
async function readVolumeBytes(path: string, index: number, mode: InflateMode): Promise<{ header: NiftiHeader; bytes: Uint8Array }> {
  const { gz, head, size } = await readHead(path);
  const header = parseHeader(head, path);
  const { count, bytes } = layout(header, path);
  if (index >= count)
    throw new RangeError(`Expected options.volume in [0, ${count - 1}] for ${path} (${count} volume(s)) but received ${index}`);
  const voxOffset = Math.floor(header.voxOffset);
  const start = voxOffset + index * bytes;
  const end = start + bytes;
  const total = voxOffset + count * bytes;
  // refuse before allocating: the file (inflated at most DEFLATE_MAX_RATIO times) cannot hold it
  const capacity = gz ? DEFLATE_MAX_RATIO * size : size;
  if (end > capacity)
    throw new NiftiError(
      'ERR_NIFTI_TRUNCATED',
      `voxel data ends early: the header puts volume ${index} at bytes [${start}, ${end}) but the ${gz ? 'gzipped ' : ''}file has ${size} bytes`,
      path,
    );
  if (bytes > MAX_BYTES)
    throw new NiftiError('ERR_NIFTI_LIMIT', `volume ${index} claims ${bytes} bytes, more than one buffer holds (${MAX_BYTES})`, path);
  if (gz && mode === 'whole' && total + INFLATE_SLACK > MAX_BYTES)
    throw new NiftiError(
      'ERR_NIFTI_LIMIT',
      `inflating the whole file (${total} bytes) needs more than one buffer holds (${MAX_BYTES}); read it with inflate 'stream'`,
      path,
    );
  const whole = mode === 'whole' || (mode === 'auto' && 2 * end >= total && total + INFLATE_SLACK <= MAX_BYTES);
  let data: Uint8Array;
  if (!gz) data = await readRange(path, start, end);
  else if (!whole) data = await streamRange(path, start, end);
  else {
    let file: Buffer = await readFile(path);
    const bound = total + INFLATE_SLACK;
    try {
      // one output chunk of the header's size: no concatenation, no copy; and no more output than
      // the header describes, so a small file that inflates to gigabytes stops early
      file = await gunzip(file, {
        chunkSize: Math.max(1 << 16, Math.min(total, DEFLATE_MAX_RATIO * file.length) + 64),
        maxOutputLength: bound,
      });
    } catch (err) {
      throw gzipError(err, path, bound);
    }
    data = file.subarray(start, Math.min(end, file.length));
  }
  if (data.length < bytes)
    throw new NiftiError('ERR_NIFTI_TRUNCATED', `voxel data ends early: ${data.length} of ${bytes} bytes of volume ${index}`, path);
  return { header, bytes: data };
}

/** Bytes [start, end) of an uncompressed file (fewer when it ends early). */
async function readRange(path: string, start: number, end: number): Promise<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const out = new Uint8Array(Math.max(0, Math.min(end, size) - start));
    let filled = 0;
    while (filled < out.length) {
      const { bytesRead } = await handle.read(out, filled, out.length - filled, start + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return out.subarray(0, filled);
  } finally {
    await handle.close();
  }
}

/** Bytes [start, end) of the inflated file, inflating no further than `end` (fewer when it ends early). */
async function streamRange(path: string, start: number, end: number): Promise<Uint8Array> {
  const raw = createReadStream(path, { highWaterMark: 1 << 20 });
  const gunzip = createGunzip({ chunkSize: 1 << 20 });
  let failure: unknown; // zlib's own error: the iterator may only see the stream close
  gunzip.on('error', (err) => (failure ??= err));
  raw.on('error', (err) => gunzip.destroy(err));
  raw.pipe(gunzip);
  const out = new Uint8Array(end - start);
  let filled = 0;
  let position = 0;
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      filled += copyInto(out, chunk, position, start);
      position += chunk.length;
      if (filled === out.length) break;
    }
  } catch (err) {
    throw gzipError(failure ?? err, path);
  } finally {
    raw.destroy();
    gunzip.destroy();
  }
  return out.subarray(0, filled);
}

/**
 * Reads a NIfTI file like {@link readNifti} but returns the voxels in their stored type without
 * converting or scaling them (`data` = `stored`), in the stored 'kji' order: the fast path for
 * pipelines that consume each voxel once. `stored` may be a view into a larger buffer (mind its
 * `byteOffset`).
 * @throws NiftiError as {@link readNifti} does; with `inflate: 'whole'`, ERR_NIFTI_LIMIT for a
 *   .nii.gz larger than one buffer; RangeError for a volume index past the end.
 */
export async function readNiftiRaw(path: string, options: ReadNiftiRawOptions = {}): Promise<NiftiRawVolume> {
  if (typeof path !== 'string' || path.length === 0)
    throw new TypeError(`Expected a file path for path but received ${describeValue(path)}`);
  const index = checkInteger(options.volume ?? 0, 'options.volume', { min: 0 });
  const mode = checkOneOf(options.inflate ?? 'auto', 'options.inflate', ['auto', 'whole', 'stream'] as const);
  const { header, bytes } = await readVolumeBytes(path, index, mode);
  const { nx, ny, nz, count } = layout(header, path);
  const width = BYTES[header.dtype];
  let out = bytes;
  const nativeLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  // copies, not Buffer#slice: on a Buffer (an inflated file) that is a view of the same memory
  if (header.littleEndian !== nativeLE) {
    out = copyBytes(out); // never swap a caller-visible or shared buffer in place
    swapBytes(out, width);
  }
  if (out.byteOffset % width !== 0) out = copyBytes(out); // typed arrays need aligned views (an odd vox_offset)
  const stored = new ARRAYS[header.dtype](out.buffer, out.byteOffset, nx * ny * nz);
  let slope = header.sclSlope;
  let inter = header.sclInter;
  if (!Number.isFinite(slope) || slope === 0) [slope, inter] = [1, 0];
  if (!Number.isFinite(inter)) inter = 0;
  const scaled = slope !== 1 || inter !== 0;
  const spacing: [number, number, number] = [
    Math.abs(header.pixDims[3] || 1),
    Math.abs(header.pixDims[2] || 1),
    Math.abs(header.pixDims[1] || 1),
  ];
  const shape: [number, number, number] = [nz, ny, nx];
  return { data: stored, stored, shape, spacing, affine: headerAffine(header), header, volumes: count, slope, inter, scaled };
}

/** A fresh copy at offset 0 of a new ArrayBuffer (so aligned for any typed array). */
function copyBytes(bytes: Uint8Array): Uint8Array {
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return copy;
}

function scaleInPlace(data: Float32Array, slope: number, inter: number): void {
  for (let i = 0; i < data.length; i++) data[i] = data[i] * slope + inter;
}

/**
 * Reads only the header of a NIfTI file (inflating only its first bytes), checked as
 * {@link readNifti} checks it.
 * @throws NiftiError ERR_NIFTI_FORMAT, ERR_NIFTI_DATATYPE or ERR_NIFTI_TRUNCATED (a NIfTI-2 header cut short).
 */
export async function readNiftiHeader(path: string): Promise<NiftiHeader> {
  if (typeof path !== 'string' || path.length === 0)
    throw new TypeError(`Expected a file path for path but received ${describeValue(path)}`);
  const { head } = await readHead(path);
  return parseHeader(head, path);
}

function layout(h: NiftiHeader, path?: string): { nx: number; ny: number; nz: number; count: number; bytes: number } {
  const rank = h.dims[0];
  if (!(rank >= 1 && rank <= 7)) throw new NiftiError('ERR_NIFTI_FORMAT', `dim[0] = ${rank} is not a rank in [1, 7]`, path);
  const d = (i: number) => (i <= rank ? Math.max(1, h.dims[i]) : 1);
  const [nx, ny, nz] = [d(1), d(2), d(3)];
  let count = 1;
  for (let i = 4; i <= rank; i++) count *= d(i);
  return { nx, ny, nz, count, bytes: nx * ny * nz * BYTES[h.dtype] };
}

/** Copies the part of `chunk` (at file offset `at`) that falls inside [start, start + out.length) into `out`. */
function copyInto(out: Uint8Array, chunk: Buffer, at: number, start: number): number {
  const from = Math.max(start, at);
  const to = Math.min(start + out.length, at + chunk.length);
  if (to <= from) return 0;
  out.set(chunk.subarray(from - at, to - at), from - start);
  return to - from;
}

/**
 * The NIfTI quaternion form of an affine (nifti_mat44_to_quatern, without the polar
 * decomposition): [b, c, d], qfac and the voxel sizes. Exact for rotation x zoom matrices.
 */
function affineToQuatern(affine: Affine): { quatern: [number, number, number]; qfac: number; zooms: [number, number, number] } {
  const col = (c: number) => [affine[0][c], affine[1][c], affine[2][c]];
  const zooms = [0, 1, 2].map((c) => Math.hypot(...col(c)) || 1) as [number, number, number];
  const R = [0, 1, 2].map((r) => [0, 1, 2].map((c) => affine[r][c] / zooms[c]));
  const det =
    R[0][0] * (R[1][1] * R[2][2] - R[1][2] * R[2][1]) -
    R[0][1] * (R[1][0] * R[2][2] - R[1][2] * R[2][0]) +
    R[0][2] * (R[1][0] * R[2][1] - R[1][1] * R[2][0]);
  let qfac = 1;
  if (det < 0) {
    qfac = -1;
    for (let r = 0; r < 3; r++) R[r][2] = -R[r][2];
  }
  let a = R[0][0] + R[1][1] + R[2][2] + 1;
  let b: number, c: number, d: number;
  if (a > 0.5) {
    a = 0.5 * Math.sqrt(a);
    b = (0.25 * (R[2][1] - R[1][2])) / a;
    c = (0.25 * (R[0][2] - R[2][0])) / a;
    d = (0.25 * (R[1][0] - R[0][1])) / a;
  } else {
    const xd = 1 + R[0][0] - (R[1][1] + R[2][2]);
    const yd = 1 + R[1][1] - (R[0][0] + R[2][2]);
    const zd = 1 + R[2][2] - (R[0][0] + R[1][1]);
    if (xd > 1) {
      b = 0.5 * Math.sqrt(xd);
      c = (0.25 * (R[0][1] + R[1][0])) / b;
      d = (0.25 * (R[0][2] + R[2][0])) / b;
      a = (0.25 * (R[2][1] - R[1][2])) / b;
    } else if (yd > 1) {
      c = 0.5 * Math.sqrt(yd);
      b = (0.25 * (R[0][1] + R[1][0])) / c;
      d = (0.25 * (R[1][2] + R[2][1])) / c;
      a = (0.25 * (R[0][2] - R[2][0])) / c;
    } else {
      d = 0.5 * Math.sqrt(zd);
      b = (0.25 * (R[0][2] + R[2][0])) / d;
      c = (0.25 * (R[1][2] + R[2][1])) / d;
      a = (0.25 * (R[1][0] - R[0][1])) / d;
    }
    if (a < 0) [b, c, d] = [-b, -c, -d];
  }
  return { quatern: [b, c, d], qfac, zooms };
}

function encodeHeader(version: 1 | 2, dims: number[], dtype: VoxelDType, affine: Affine, options: WriteNiftiOptions): Uint8Array {
  const size = version === 1 ? 348 : 540;
  const voxOffset = size + 4; // header + the 4-byte extension flag (no extensions)
  const buf = new ArrayBuffer(voxOffset);
  const v = new DataView(buf);
  const bytes = new Uint8Array(buf);
  const le = true;
  const { quatern, qfac, zooms } = affineToQuatern(affine);
  const pixdim = [qfac, zooms[0], zooms[1], zooms[2], 1, 1, 1, 1];
  const dim = [dims.length, ...dims, ...new Array(7 - dims.length).fill(1)];
  const ascii = (at: number, text: string, max: number) => bytes.set(Buffer.from(text, 'latin1').subarray(0, max - 1), at);
  const slope = options.sclSlope ?? 1;
  const inter = options.sclInter ?? 0;
  const code = CODES[dtype];
  const bitpix = BYTES[dtype] * 8;
  if (version === 1) {
    v.setInt32(0, 348, le);
    bytes[38] = 'r'.charCodeAt(0);
    dim.forEach((d, i) => v.setInt16(40 + 2 * i, d, le));
    v.setInt16(70, code, le);
    v.setInt16(72, bitpix, le);
    pixdim.forEach((p, i) => v.setFloat32(76 + 4 * i, p, le));
    v.setFloat32(108, voxOffset, le);
    v.setFloat32(112, slope, le);
    v.setFloat32(116, inter, le);
    bytes[123] = 2 | (dims.length > 3 ? 8 : 0); // mm (+ s)
    ascii(148, options.description ?? 'spottune3d', 80);
    v.setInt16(252, 1, le); // qform_code: scanner
    v.setInt16(254, 2, le); // sform_code: aligned
    quatern.forEach((q, i) => v.setFloat32(256 + 4 * i, q, le));
    for (let r = 0; r < 3; r++) v.setFloat32(268 + 4 * r, affine[r][3], le);
    for (let r = 0; r < 3; r++) for (let c = 0; c < 4; c++) v.setFloat32(280 + 16 * r + 4 * c, affine[r][c], le);
    bytes.set([0x6e, 0x2b, 0x31, 0x00], 344); // "n+1\0"
  } else {
    v.setInt32(0, 540, le);
    bytes.set([0x6e, 0x2b, 0x32, 0x00, 0x0d, 0x0a, 0x1a, 0x0a], 4); // "n+2\0\r\n\032\n"
    v.setInt16(12, code, le);
    v.setInt16(14, bitpix, le);
    dim.forEach((d, i) => v.setBigInt64(16 + 8 * i, BigInt(d), le));
    pixdim.forEach((p, i) => v.setFloat64(104 + 8 * i, p, le));
    v.setBigInt64(168, BigInt(voxOffset), le);
    v.setFloat64(176, slope, le);
    v.setFloat64(184, inter, le);
    ascii(240, options.description ?? 'spottune3d', 80);
    v.setInt32(344, 1, le);
    v.setInt32(348, 2, le);
    quatern.forEach((q, i) => v.setFloat64(352 + 8 * i, q, le));
    for (let r = 0; r < 3; r++) v.setFloat64(376 + 8 * r, affine[r][3], le);
    for (let r = 0; r < 3; r++) for (let c = 0; c < 4; c++) v.setFloat64(400 + 32 * r + 8 * c, affine[r][c], le);
    v.setInt32(500, 2 | (dims.length > 3 ? 8 : 0), le);
  }
  return bytes;
}

/** Converts voxels to `dtype`, rounding half away from zero and clamping for integer types. */
function convertVoxels(data: VoxelArray, dtype: VoxelDType): VoxelArray {
  if (dtypeOf(data) === dtype) return data;
  const out = new ARRAYS[dtype](new ArrayBuffer(data.length * BYTES[dtype]));
  const range = RANGES[dtype];
  if (!range) {
    for (let i = 0; i < data.length; i++) out[i] = data[i];
    return out;
  }
  const [lo, hi] = range;
  for (let i = 0; i < data.length; i++) {
    const x = data[i];
    const r = x < 0 ? -Math.round(-x) : Math.round(x);
    out[i] = r < lo ? lo : r > hi ? hi : Number.isNaN(r) ? 0 : r;
  }
  return out;
}

/**
 * Writes a volume (or a 4-D stack of same-shaped volumes) as NIfTI, gzipped when `path` ends in
 * `.gz`, atomically (a temporary file renamed into place). The affine goes into the sform
 * (code 2, aligned) and, as a rotation/zoom/offset, the qform (code 1); pixdim holds the voxel sizes
 * derived from the affine.
 *
 * @param path Target path, `.nii` or `.nii.gz`.
 * @param volume A 3-D volume, or an array of them for a 4-D file (same shape and affine as the first).
 * @throws TypeError / RangeError for a malformed volume or option.
 * @example
 * await writeNifti('mask.nii.gz', { data: maskU8, shape: [155, 240, 240], spacing: [1, 1, 1], affine });
 */
export async function writeNifti(
  path: string,
  volume: Volume<VoxelArray> | readonly Volume<VoxelArray>[],
  options: WriteNiftiOptions = {},
): Promise<void> {
  if (typeof path !== 'string' || path.length === 0)
    throw new TypeError(`Expected a file path for path but received ${describeValue(path)}`);
  const volumes: readonly Volume<VoxelArray>[] = Array.isArray(volume) ? volume : [volume as Volume<VoxelArray>];
  if (volumes.length === 0) throw new RangeError('Expected at least one volume for volume but received an empty array');
  volumes.forEach((v, i) => checkVolume(v, Array.isArray(volume) ? `volume[${i}]` : 'volume'));
  const first = volumes[0];
  for (const [i, v] of volumes.entries()) {
    if (v.shape.some((d, k) => d !== first.shape[k]))
      throw new RangeError(
        `Expected volume[${i}].shape to equal volume[0].shape [${first.shape.join(', ')}] but received [${v.shape.join(', ')}]`,
      );
  }
  const axisOrder = checkOneOf(options.axisOrder ?? 'kji', 'options.axisOrder', ['kji', 'ijk'] as const);
  const version = options.version ?? 1;
  if (version !== 1 && version !== 2) throw new RangeError(`Expected 1 or 2 for options.version but received ${describeValue(version)}`);
  const dtype = options.dtype ? checkOneOf(options.dtype, 'options.dtype', Object.keys(CODES) as VoxelDType[]) : dtypeOf(first.data);
  const level = checkInteger(options.compressionLevel ?? 6, 'options.compressionLevel', { min: 1, max: 9 });
  const affine = first.affine ?? defaultAffine(first.spacing, axisOrder);
  if (
    !Array.isArray(affine) ||
    affine.length < 3 ||
    affine.slice(0, 3).some((r) => !Array.isArray(r) || r.length !== 4 || r.some((x) => typeof x !== 'number' || !Number.isFinite(x)))
  ) {
    throw new TypeError(`Expected volume.affine to be a 4x4 matrix of finite numbers but received ${describeValue(affine)}`);
  }
  // [nx, ny, nz] from the axis order
  const [nx, ny, nz] = axisOrder === 'kji' ? [first.shape[2], first.shape[1], first.shape[0]] : first.shape;
  const dims = volumes.length > 1 ? [nx, ny, nz, volumes.length] : [nx, ny, nz];
  const header = encodeHeader(version, dims, dtype, affine, options);
  const parts: Uint8Array[] = [header];
  for (const v of volumes) {
    let data = convertVoxels(v.data, dtype);
    if (axisOrder === 'ijk') data = reverseAxes(data, v.shape);
    parts.push(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }
  if (/\.gz$/i.test(path)) {
    const compressed = await gzip(Buffer.concat(parts), { level });
    await writeFileAtomic(path, compressed);
  } else {
    await writeFileAtomic(path, parts);
  }
}

function defaultAffine(spacing: readonly number[] | undefined, axisOrder: AxisOrder): Affine {
  const s = spacing ?? [1, 1, 1];
  const [dx, dy, dz] = axisOrder === 'kji' ? [s[2], s[1], s[0]] : [s[0], s[1], s[2]];
  return [
    [dx, 0, 0, 0],
    [0, dy, 0, 0],
    [0, 0, dz, 0],
    [0, 0, 0, 1],
  ];
}
