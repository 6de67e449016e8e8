/**
 * The shapes a .pth read returns and the options it takes, shared by the reader, the unpickler
 * glue and the training-checkpoint helpers.
 * @module
 */
import type { HostTensor } from '../../types.js';

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
  /**
   * Most objects one pickle may build: containers, strings, bytes, long integers, globals, call
   * results and MARK frames, plus one per item put into a dict, list or set; also the longest any
   * one stack frame may grow. Default: one per byte of the pickle (a legacy file's pickle runs to the
   * end of the file), at least 65,536 and at most 262,144; a MedicalNet ResNet50 state dict builds
   * about 4,100. Past it the load fails with ERR_CHECKPOINT_LIMIT.
   */
  maxObjects?: number;
  /** Most memo entries one pickle may store. Default: the same as {@link LoadPthOptions.maxObjects}'s. */
  maxMemoEntries?: number;
  /** Longest Python integer accepted, in bytes of two's complement (torch's int64 values need 9). Default: 64. */
  maxIntegerBytes?: number;
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
