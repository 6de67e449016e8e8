/**
 * Reading checkpoints: a path or bytes to the object tree, without Python and without running
 * anything the file asks for.
 *
 * {@link loadPth} reads both formats torch.save has written: the zip archive (PyTorch >= 1.6) and
 * the legacy stream (magic number, protocol, sys info, pickle, storage keys, raw storages), told
 * apart by their first bytes. The pickle goes through the restricted unpickler (pickle.ts) with the
 * torch allow-list (unpickler.ts) and bounded by the limits of {@link LoadPthOptions}; the tensors'
 * data are then cut from the storages (storages.ts), within `options.maxBytes`.
 * @module
 */
import { open } from 'node:fs/promises';
import { CheckpointError } from '../../native/errors.js';
import { describeValue } from '../../util/validate.js';
import { corrupt, unsafe } from './errors.js';
import { defaultUnpickleLimits, unpickle, type UnpickleHooks, type UnpickleLimits } from './pickle.js';
import { ELEMENT_SIZE, materialize, type PendingTensor } from './storages.js';
import type { LoadPthOptions, PthFile, PthFormat } from './types.js';
import { keyText, TorchUnpickleContext } from './unpickler.js';
import { readZipDirectory, zipEntryData } from './zip.js';

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL = 1001;

/** Tells the format from the first bytes. */
export function detectPthFormat(bytes: Uint8Array): PthFormat {
  if (
    bytes.length >= 4 &&
    bytes[0] === 0x50 &&
    bytes[1] === 0x4b &&
    (bytes[2] === 3 || bytes[2] === 5) &&
    (bytes[3] === 4 || bytes[3] === 6)
  )
    return 'zip';
  if (bytes.length >= 2 && bytes[0] === 0x80 && bytes[1] <= 5) return 'legacy';
  if (bytes.length >= 262 && Buffer.from(bytes.subarray(257, 262)).toString('latin1') === 'ustar') {
    throw new CheckpointError(
      'This is a PyTorch <= 0.1.10 tar checkpoint; re-save it with a newer torch (torch.save(torch.load(f), g))',
      'ERR_CHECKPOINT_FORMAT',
    );
  }
  const head = Buffer.from(bytes.subarray(0, 8)).toString('hex');
  throw new CheckpointError(
    `Not a PyTorch checkpoint: it starts with ${head || 'nothing'}, neither a zip archive (504b0304) nor a pickle (80)`,
    'ERR_CHECKPOINT_FORMAT',
  );
}

/**
 * Reads a checkpoint and returns its object tree: what `torch.load(f, map_location='cpu',
 * weights_only=True)` returns, as JS values (see the module notes).
 *
 * @param source a file path, or the file's bytes
 * @example
 * const tree = await loadPth('resnet_50.pth') as Map<string, unknown>;
 * const weights = stateDictOf(tree);                         // Map: 'module.conv1.weight' -> tensor
 * console.log(weights.get('module.conv1.weight')?.shape);    // [64, 1, 7, 7, 7]
 * @throws CheckpointError with `code` ERR_CHECKPOINT_UNSAFE (a refused global), ERR_CHECKPOINT_CORRUPT
 *   (truncated or inconsistent, or more tensor data than `options.maxBytes`), ERR_CHECKPOINT_FORMAT
 *   (not a checkpoint), ERR_CHECKPOINT_DTYPE, ERR_CHECKPOINT_LIMIT (a pickle past
 *   `options.maxObjects`, `maxMemoEntries` or `maxIntegerBytes`: built to exhaust memory or time)
 * @throws TypeError/RangeError naming the option when a limit option is not a positive integer
 */
export async function loadPth(source: string | Uint8Array, options: LoadPthOptions = {}): Promise<unknown> {
  return (await readPth(source, options)).tree;
}

/** {@link loadPth}, also returning the format and every tensor. */
export async function readPth(source: string | Uint8Array, options: LoadPthOptions = {}): Promise<PthFile> {
  let bytes: Uint8Array;
  const limits = pickleLimits(options);
  if (typeof source === 'string') bytes = await readFileAligned(source, limits);
  else if (source instanceof Uint8Array) bytes = source;
  else throw new TypeError(`Expected source to be a path or a Uint8Array but received ${describeValue(source)}`);
  // The buffer is ours: tensors may view it instead of copying, unless asked otherwise.
  return parseOwned(bytes, { ...options, copy: options.copy ?? typeof source !== 'string' });
}

/** Synchronous {@link readPth} over bytes already in memory. */
export function parsePth(bytes: Uint8Array, options: LoadPthOptions = {}): PthFile {
  return parseOwned(bytes, { ...options, copy: true });
}

function parseOwned(bytes: Uint8Array, options: LoadPthOptions): PthFile {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`Expected bytes to be a Uint8Array but received ${describeValue(bytes)}`);
  // A plain Uint8Array view: Buffer#slice would share memory where a copy is meant.
  bytes = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const int64 = options.int64 ?? 'bigint';
  if (int64 !== 'bigint' && int64 !== 'int32')
    throw new RangeError(`Expected options.int64 to be 'bigint' or 'int32' but received ${describeValue(int64)}`);
  const maxBytes = options.maxBytes ?? bytes.length * 8 + 256 * 2 ** 20;
  const limits = pickleLimits(options);
  const format = detectPthFormat(bytes);
  const file = format === 'zip' ? parseZip(bytes, options.verifyChecksums ?? true, limits) : parseLegacy(bytes, limits);
  const budget = { left: maxBytes };
  for (const { tensor, ref } of file.pending) {
    materialize(tensor, ref, file.storages, file.byteOrder, budget, int64, options.halfAsFloat32 === true, options.copy !== false);
  }
  const { pending, storages, ...rest } = file;
  void storages;
  return { ...rest, tensors: pending.map((p) => p.tensor) };
}

/** The unpickler's limits for a pickle of a given length: the defaults, with the caller's overrides. */
type PickleLimits = (pickleBytes: number) => UnpickleLimits;

function pickleLimits(options: LoadPthOptions): PickleLimits {
  const override: Partial<UnpickleLimits> = {};
  for (const name of ['maxObjects', 'maxMemoEntries', 'maxIntegerBytes'] as const) {
    const value = options[name];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isSafeInteger(value))
      throw new TypeError(`Expected options.${name} to be an integer but received ${describeValue(value)}`);
    if (value < 1) throw new RangeError(`Expected options.${name} to be a positive integer but received ${describeValue(value)}`);
    override[name] = value;
  }
  return (pickleBytes) => ({ ...defaultUnpickleLimits(pickleBytes), ...override });
}

const HEAD_BYTES = 4 << 20;
const READ_CHUNK = 1 << 20;

/**
 * Reads a file into a fresh buffer, placed so that a legacy checkpoint's storages start 8-byte
 * aligned (their offsets depend on the pickle's length): aligned storages become typed-array views
 * with no copy. The head is read first to find where the storages start; when the pickles do not
 * fit in the head, or the file is a zip (torch aligns zip entries itself), no padding is used.
 */
async function readFileAligned(path: string, limits: PickleLimits): Promise<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const head = new Uint8Array(Math.min(size, HEAD_BYTES));
    await readFully(handle, head, 0);
    const start = legacyStoragesStart(head, limits);
    const pad = start === undefined ? 0 : (8 - (start % 8)) % 8;
    // allocUnsafeSlow: not zero-filled (every byte is read into) and not from the shared pool
    const bytes = new Uint8Array(Buffer.allocUnsafeSlow(size + pad).buffer, pad, size);
    bytes.set(head);
    await readFully(handle, bytes.subarray(head.length), head.length);
    return bytes;
  } finally {
    await handle.close();
  }
}

async function readFully(handle: Awaited<ReturnType<typeof open>>, into: Uint8Array, position: number): Promise<void> {
  for (let done = 0; done < into.length; ) {
    const { bytesRead } = await handle.read(into, done, Math.min(into.length - done, READ_CHUNK), position + done);
    if (bytesRead === 0) throw corrupt('the file shrank while it was read');
    done += bytesRead;
  }
}

/** Where the first legacy storage's data begin, if `head` holds all the pickles; else undefined. */
function legacyStoragesStart(head: Uint8Array, limits: PickleLimits): number | undefined {
  try {
    if (detectPthFormat(head) !== 'legacy') return undefined;
    const none: UnpickleHooks = {
      resolveGlobal: () => {
        throw unsafe('header');
      },
    };
    const all = limits(head.length);
    let end = 0;
    for (let i = 0; i < 3; i++) end = unpickle(head, none, end, head.length, all).end;
    end = unpickle(head, new TorchUnpickleContext('legacy'), end, head.length, all).end;
    return unpickle(head, none, end, head.length, all).end + 8;
  } catch (err) {
    // Past a limit within the head, the full parse fails the same way: fail once, not twice.
    if (err instanceof CheckpointError && err.code === 'ERR_CHECKPOINT_LIMIT') throw err;
    return undefined;
  }
}

interface Parsed {
  format: PthFormat;
  tree: unknown;
  byteOrder: 'little' | 'big';
  archiveName?: string;
  version?: number;
  sysInfo?: { littleEndian: boolean; typeSizes: Record<string, number> };
  pending: PendingTensor[];
  /** Root storage bytes by key (views into the file). */
  storages: Map<string, Uint8Array>;
}

function parseZip(bytes: Uint8Array, verify: boolean, limits: PickleLimits): Parsed {
  const entries = readZipDirectory(bytes);
  const pickles = [...entries.keys()].filter((name) => /^[^/]+\/data\.pkl$/.test(name));
  if (pickles.length !== 1) {
    throw new CheckpointError(
      pickles.length === 0 ? 'Zip archive without <name>/data.pkl: not a torch.save checkpoint' : 'Zip archive with several data.pkl files',
      'ERR_CHECKPOINT_FORMAT',
    );
  }
  const prefix = pickles[0].slice(0, -'data.pkl'.length);
  const archiveName = prefix.slice(0, -1);
  if (entries.has(`${prefix}constants.pkl`) || [...entries.keys()].some((n) => n.startsWith(`${prefix}code/`))) {
    throw new CheckpointError('This is a TorchScript archive (torch.jit.save), not a torch.save checkpoint', 'ERR_CHECKPOINT_FORMAT');
  }
  for (const name of entries.keys()) {
    if (!name.startsWith(prefix)) throw corrupt(`zip entry ${JSON.stringify(name)} lies outside the archive folder ${archiveName}/`);
  }
  const text = (name: string): string | undefined => {
    const entry = entries.get(`${prefix}${name}`);
    if (!entry || entry.size > 64) return undefined;
    return Buffer.from(zipEntryData(bytes, entry, verify))
      .toString('latin1')
      .trim();
  };
  const versionText = text('version') ?? text('.data/version');
  const version = versionText === undefined ? undefined : Number(versionText);
  if (version !== undefined && !Number.isSafeInteger(version)) throw corrupt(`version record ${JSON.stringify(versionText)}`);
  const order = text('byteorder') ?? 'little';
  if (order !== 'little' && order !== 'big') throw corrupt(`byteorder record ${JSON.stringify(order)}`);
  const context = new TorchUnpickleContext('zip');
  const pickle = zipEntryData(bytes, entries.get(pickles[0])!, verify);
  const { value } = unpickle(pickle, context, 0, pickle.length, limits(pickle.length));
  const storages = new Map<string, Uint8Array>();
  for (const [key, root] of context.roots) {
    const entry = entries.get(`${prefix}data/${key}`);
    if (!entry) throw corrupt(`storage ${key} is missing from the archive (no ${prefix}data/${key})`);
    const nbytes = root.numel * ELEMENT_SIZE[root.dtype];
    if (entry.size !== nbytes) throw corrupt(`storage ${key} holds ${entry.size} bytes but the pickle declares ${nbytes}`);
    storages.set(key, zipEntryData(bytes, entry, verify));
  }
  return { format: 'zip', tree: value, byteOrder: order, archiveName, version, pending: context.tensors, storages };
}

function parseLegacy(bytes: Uint8Array, limits: PickleLimits): Parsed {
  // The pickles run back to back before the storages, so each is bounded by what is left of the file.
  const read = (hooks: UnpickleHooks, start: number) => unpickle(bytes, hooks, start, bytes.length, limits(bytes.length - start));
  const noGlobals: UnpickleHooks = {
    resolveGlobal(module, name) {
      throw unsafe(`Refused global ${module}.${name} in a legacy checkpoint header`);
    },
  };
  const magic = read(noGlobals, 0);
  if (magic.value !== LEGACY_MAGIC) {
    throw new CheckpointError('A pickle, but not a torch.save checkpoint (no legacy magic number)', 'ERR_CHECKPOINT_FORMAT');
  }
  const protocol = read(noGlobals, magic.end);
  if (protocol.value !== LEGACY_PROTOCOL) throw corrupt(`legacy protocol ${describeValue(protocol.value)} (expected ${LEGACY_PROTOCOL})`);
  const info = read(noGlobals, protocol.end);
  if (!(info.value instanceof Map)) throw corrupt('legacy sys_info is not a dict');
  const littleEndian = info.value.get('little_endian') !== false;
  const sizes = info.value.get('type_sizes');
  const typeSizes: Record<string, number> = {};
  if (sizes instanceof Map) for (const [k, v] of sizes) if (typeof k === 'string' && typeof v === 'number') typeSizes[k] = v;
  const context = new TorchUnpickleContext('legacy');
  const main = read(context, info.end);
  const keys = read(noGlobals, main.end);
  if (!Array.isArray(keys.value)) throw corrupt('legacy storage key list is not a list');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const storages = new Map<string, Uint8Array>();
  let pos = keys.end;
  for (const rawKey of keys.value) {
    const key = keyText(rawKey, 'legacy storage key');
    const root = context.roots.get(key);
    if (!root) throw corrupt(`legacy storage ${key} is not used by the pickle`);
    if (storages.has(key)) throw corrupt(`legacy storage ${key} is listed twice`);
    if (pos + 8 > bytes.length) throw corrupt(`truncated before storage ${key}`);
    // The element count is in the writer's byte order before torch 1.0, little-endian since.
    const le = view.getBigUint64(pos, true);
    const be = view.getBigUint64(pos, false);
    const declared = BigInt(root.numel);
    if (le !== declared && be !== declared) {
      throw corrupt(`legacy storage ${key} header says ${littleEndian ? le : be} elements but the pickle declares ${root.numel}`);
    }
    const nbytes = root.numel * ELEMENT_SIZE[root.dtype];
    pos += 8;
    if (pos + nbytes > bytes.length)
      throw corrupt(`truncated inside storage ${key} (${nbytes} bytes declared, ${bytes.length - pos} left)`);
    storages.set(key, bytes.subarray(pos, pos + nbytes));
    pos += nbytes;
  }
  for (const key of context.roots.keys()) {
    if (!storages.has(key)) throw corrupt(`legacy storage ${key} is used but not stored`);
  }
  // torch writes storage data little-endian on every machine; sys_info records the writer's order.
  return {
    format: 'legacy',
    tree: main.value,
    byteOrder: 'little',
    sysInfo: { littleEndian, typeSizes },
    pending: context.tensors,
    storages,
  };
}
