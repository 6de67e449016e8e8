/**
 * PyTorch checkpoints (.pth, .pt) read and written in TypeScript, without Python and without
 * running anything a file asks for; this file is the family's door (lib/io re-exports it).
 *
 * {@link loadPth} reads both formats torch.save has written: the zip archive (PyTorch >= 1.6) and
 * the legacy stream. Its unpickler resolves only the globals real checkpoints need, like
 * torch.load(weights_only=True); any other global (os.system, builtins.eval, ...) is refused with a
 * CheckpointError naming it, and a pickle built to exhaust memory or time (millions of objects,
 * memo entries, huge integers) fails fast with ERR_CHECKPOINT_LIMIT. {@link savePth} writes the
 * zip format torch.load opens; {@link saveCheckpoint}/{@link loadCheckpoint} add training state.
 *
 * The object tree comes back with Python dicts as `Map`s (ordered, any key, no prototype), lists as
 * arrays, tuples as frozen arrays, and tensors as {@link PthTensor} with contiguous data.
 *
 * One concern per file: reader.ts (formats, files), pickle.ts (the restricted unpickler and its
 * limits), unpickler.ts (the torch allow-list and storage ids), storages.ts (storage bytes to typed
 * arrays), writer.ts and pickle-writer.ts (saving), state-dict.ts (tree helpers), checkpoint.ts
 * (training checkpoints), half.ts (16-bit floats), zip.ts (the archive), types.ts (shared shapes).
 * @module
 */
export { encodePth, savePth, type SavePthOptions } from './writer.js';
export { detectPthFormat, loadPth, parsePth, readPth } from './reader.js';
export { isHostTensor, stateDictOf, walkTensors } from './state-dict.js';
export { isPyTuple, pyTuple } from './pickle.js';
export { PyFloat } from './pickle-writer.js';
export type { LoadPthOptions, PthFile, PthFormat, PthStorageInfo, PthTensor } from './types.js';
export { CHECKPOINT_FORMAT, loadCheckpoint, saveCheckpoint, type CheckpointContents } from './checkpoint.js';
