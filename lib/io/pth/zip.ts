/**
 * A small, strict reader and writer for the zip archives torch.save writes: every entry STORED
 * (uncompressed), names under one top-level folder, a central directory (zip64 when large).
 *
 * The reader trusts nothing: the central directory must lie inside the file, every entry's data
 * must lie between its local header and the central directory without overlapping another entry,
 * names must stay inside the archive (no absolute paths, `..`, backslashes or NUL), and compressed
 * entries are refused, so a bomb has nothing to inflate. Entry data are views into the input.
 * @module
 */
import * as zlib from 'node:zlib';
import { CheckpointError } from '../../native/errors.js';

/** One entry of the central directory. */
export interface ZipEntry {
  name: string;
  /** 0 = stored; anything else is refused when read. */
  method: number;
  size: number;
  crc32: number;
  /** Absolute offset of the entry's data in the archive. */
  dataOffset: number;
}

const EOCD = 0x06054b50;
const EOCD64 = 0x06064b50;
const EOCD64_LOCATOR = 0x07064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const MAX_ENTRIES = 1_000_000;

function bad(message: string): CheckpointError {
  return new CheckpointError(`Corrupt zip archive: ${message}`, 'ERR_CHECKPOINT_CORRUPT');
}

function u64(view: DataView, at: number, what: string): number {
  const v = view.getBigUint64(at, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw bad(`${what} ${v} is out of range`);
  return Number(v);
}

/** CRC-32 (IEEE), natively where Node has zlib.crc32 (>= 20.15). */
export const crc32: (data: Uint8Array) => number = nativeCrc32() ?? crc32Portable;

/** zlib.crc32 where this Node has it (the typings of Node 20.0 do not declare it). */
function nativeCrc32(): ((data: Uint8Array) => number) | undefined {
  const z: { crc32?: (data: Uint8Array) => number } = zlib;
  const f = z.crc32;
  return typeof f === 'function' ? (data) => f(data) >>> 0 : undefined;
}

let table: Uint32Array | undefined;
function crc32Portable(data: Uint8Array): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = table[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Rejects names that could escape an extraction folder or alias another entry. */
function checkName(name: string): void {
  if (
    name.length === 0 ||
    name.includes('\0') ||
    name.includes('\\') ||
    name.startsWith('/') ||
    /^[A-Za-z]:/.test(name) ||
    name.split('/').some((part) => part === '..' || part === '.')
  ) {
    throw bad(`entry name ${JSON.stringify(name.slice(0, 200))} escapes the archive`);
  }
}

/**
 * Reads and validates the central directory of the zip archive in `bytes`.
 * @throws CheckpointError ERR_CHECKPOINT_CORRUPT for anything inconsistent
 */
export function readZipDirectory(bytes: Uint8Array): Map<string, ZipEntry> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.length;
  if (n < 22) throw bad('too short for an end-of-central-directory record');
  // The end record sits in the last 22 + 65535 (comment) bytes; search backwards.
  let eocd = -1;
  for (let i = n - 22; i >= Math.max(0, n - 22 - 0xffff); i--) {
    if (view.getUint32(i, true) === EOCD && i + 22 + view.getUint16(i + 20, true) === n) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw bad('no end-of-central-directory record (truncated?)');
  let count = view.getUint16(eocd + 10, true);
  let cdSize = view.getUint32(eocd + 12, true);
  let cdOffset = view.getUint32(eocd + 16, true);
  let cdEnd = eocd;
  if (
    count === 0xffff ||
    cdSize === 0xffffffff ||
    cdOffset === 0xffffffff ||
    (eocd >= 20 && view.getUint32(eocd - 20, true) === EOCD64_LOCATOR)
  ) {
    if (eocd < 20 || view.getUint32(eocd - 20, true) !== EOCD64_LOCATOR) throw bad('zip64 fields without a zip64 locator');
    const at = u64(view, eocd - 20 + 8, 'zip64 end record offset');
    if (at + 56 > eocd - 20 || view.getUint32(at, true) !== EOCD64) throw bad('zip64 end record missing');
    count = u64(view, at + 32, 'entry count');
    cdSize = u64(view, at + 40, 'central directory size');
    cdOffset = u64(view, at + 48, 'central directory offset');
    cdEnd = at;
  }
  if (count > MAX_ENTRIES || count * 46 > cdSize) throw bad(`${count} entries do not fit a ${cdSize}-byte central directory`);
  if (cdOffset + cdSize > cdEnd) throw bad('central directory runs past its end record');

  const entries = new Map<string, ZipEntry>();
  const spans: Array<[number, number]> = [];
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let p = cdOffset;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cdOffset + cdSize || view.getUint32(p, true) !== CENTRAL) throw bad(`central directory entry ${i} is missing`);
    const flags = view.getUint16(p + 8, true);
    const method = view.getUint16(p + 10, true);
    const crc = view.getUint32(p + 16, true);
    let compressed = view.getUint32(p + 20, true);
    let size = view.getUint32(p + 24, true);
    const nameLength = view.getUint16(p + 28, true);
    const extraLength = view.getUint16(p + 30, true);
    const commentLength = view.getUint16(p + 32, true);
    let local = view.getUint32(p + 42, true);
    const next = p + 46 + nameLength + extraLength + commentLength;
    if (next > cdOffset + cdSize) throw bad(`central directory entry ${i} overruns the directory`);
    if (flags & 0x1) throw bad('encrypted entries are not supported');
    let name: string;
    try {
      name = decoder.decode(bytes.subarray(p + 46, p + 46 + nameLength));
    } catch {
      throw bad(`entry ${i} has a name that is not UTF-8`);
    }
    // zip64 extended information: the 0xffffffff fields, in order, from extra field 0x0001
    for (let e = p + 46 + nameLength; e + 4 <= p + 46 + nameLength + extraLength; ) {
      const id = view.getUint16(e, true);
      const len = view.getUint16(e + 2, true);
      if (e + 4 + len > p + 46 + nameLength + extraLength) throw bad(`entry ${name} has a truncated extra field`);
      if (id === 0x0001) {
        let q = e + 4;
        const field = (v: number, what: string): number => {
          if (v !== 0xffffffff) return v;
          if (q + 8 > e + 4 + len) throw bad(`entry ${name} lacks its zip64 ${what}`);
          const r = u64(view, q, what);
          q += 8;
          return r;
        };
        size = field(size, 'size');
        compressed = field(compressed, 'compressed size');
        local = field(local, 'local header offset');
      }
      e += 4 + len;
    }
    checkName(name);
    if (entries.has(name)) throw bad(`entry ${JSON.stringify(name)} appears twice`);
    if (local + 30 > cdOffset || view.getUint32(local, true) !== LOCAL) throw bad(`entry ${name} has no local header`);
    const dataOffset = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    if (method === 0 && compressed !== size) throw bad(`stored entry ${name} declares ${compressed} bytes stored but ${size} bytes long`);
    if (dataOffset + compressed > cdOffset) throw bad(`entry ${name} (${compressed} bytes) runs past the archive data`);
    spans.push([local, dataOffset + compressed]);
    entries.set(name, { name, method, size, crc32: crc, dataOffset });
    p = next;
  }
  spans.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++) {
    if (spans[i][0] < spans[i - 1][1]) throw bad('entries overlap');
  }
  return entries;
}

/**
 * The bytes of a stored entry, as a view into `bytes` (no copy), CRC-checked when `verify`.
 * @throws CheckpointError for a compressed entry or a checksum mismatch
 */
export function zipEntryData(bytes: Uint8Array, entry: ZipEntry, verify = true): Uint8Array {
  if (entry.method !== 0) {
    throw new CheckpointError(
      `Zip entry ${entry.name} is compressed (method ${entry.method}); torch.save stores entries uncompressed. Re-save the file with torch.save.`,
      'ERR_CHECKPOINT_FORMAT',
    );
  }
  const data = bytes.subarray(entry.dataOffset, entry.dataOffset + entry.size);
  if (verify && crc32(data) !== entry.crc32) throw bad(`entry ${entry.name} fails its CRC-32 check`);
  return data;
}

/** One file to store in an archive. */
export interface ZipInput {
  name: string;
  data: Uint8Array;
}

const ALIGN = 64; // torch aligns entry data to 64 bytes so storages can be mapped in place

/**
 * Lays out a zip archive of stored entries, data aligned to 64 bytes as torch writes them.
 * Returns the chunks to write in order (the entry data are not copied).
 * @throws RangeError when the archive would exceed 4 GiB (zip64 is not written)
 */
export function buildZip(files: readonly ZipInput[]): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const file of files) {
    checkName(file.name);
    const name = Buffer.from(file.name, 'utf8');
    const headerEnd = offset + 30 + name.length + 4;
    const pad = (ALIGN - (headerEnd % ALIGN)) % ALIGN;
    const extra = new Uint8Array(4 + pad);
    const ev = new DataView(extra.buffer);
    ev.setUint16(0, 0x4246, true); // "FB", torch's padding field id
    ev.setUint16(2, pad, true);
    extra.fill(0x5a, 4);
    const crc = crc32(file.data);
    const size = file.data.length;
    if (offset + 30 + name.length + extra.length + size > 0xfffffffe) throw new RangeError('savePth writes archives up to 4 GiB');
    const local = new Uint8Array(30 + name.length + extra.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, LOCAL, true);
    lv.setUint16(4, 20, true); // version needed
    lv.setUint16(6, 0x0800, true); // UTF-8 names
    lv.setUint16(8, 0, true); // stored
    lv.setUint32(14, crc, true);
    lv.setUint32(18, size, true);
    lv.setUint32(22, size, true);
    lv.setUint16(26, name.length, true);
    lv.setUint16(28, extra.length, true);
    local.set(name, 30);
    local.set(extra, 30 + name.length);
    const cd = new Uint8Array(46 + name.length);
    const cv = new DataView(cd.buffer);
    cv.setUint32(0, CENTRAL, true);
    cv.setUint16(4, 20, true);
    cv.setUint16(6, 20, true);
    cv.setUint16(8, 0x0800, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, size, true);
    cv.setUint32(24, size, true);
    cv.setUint16(28, name.length, true);
    cv.setUint32(42, offset, true);
    cd.set(name, 46);
    central.push(cd);
    chunks.push(local, file.data);
    offset += local.length + size;
  }
  const cdSize = central.reduce((s, c) => s + c.length, 0);
  const end = new Uint8Array(22);
  const dv = new DataView(end.buffer);
  dv.setUint32(0, EOCD, true);
  dv.setUint16(8, files.length, true);
  dv.setUint16(10, files.length, true);
  dv.setUint32(12, cdSize, true);
  dv.setUint32(16, offset, true);
  if (files.length > 0xfffe || offset + cdSize > 0xfffffffe) throw new RangeError('savePth writes archives up to 4 GiB and 65534 entries');
  return [...chunks, ...central, end];
}
