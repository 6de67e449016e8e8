/**
 * A restricted Python pickle reader, for PyTorch checkpoints only (pickle-writer.ts writes them).
 *
 * The reader is a stack machine over a bounded byte range that never looks a name up: every GLOBAL
 * goes through the caller's `resolveGlobal`, which returns an allowed value or refuses. REDUCE and
 * NEWOBJ call only {@link PyCallable}s that `resolveGlobal` handed out; BUILD applies state only to
 * dicts and tensors. Nothing here evaluates code, and every length read from the input is checked
 * against the bytes left before anything is allocated. Work is linear in the input size, and what
 * the input may build is bounded too ({@link UnpickleLimits}): a pickle of a few bytes per object
 * (16 MiB of EMPTY_DICT, 20 MiB of MEMOIZE, thousands of 4 KB LONG4 integers) fails fast with
 * ERR_CHECKPOINT_LIMIT instead of blocking the event loop for seconds at gigabytes of memory.
 *
 * Python values map to JS as: dict -> Map (insertion-ordered, any key), list -> Array, tuple ->
 * frozen Array, set/frozenset -> Set, str -> string, bytes -> Uint8Array, int -> number (or bigint
 * beyond 2^53), float -> number, bool -> boolean, None -> null.
 * @module
 */
import { CheckpointError } from '../../native/errors.js';

/** A callable a restricted pickle may REDUCE or NEWOBJ: an allowed function or class. */
export class PyCallable {
  constructor(
    /** Dotted Python name, for error messages: `collections.OrderedDict`. */
    readonly name: string,
    readonly call: (args: readonly unknown[]) => unknown,
  ) {}
}

/** What the unpickler asks its caller; each hook refuses by throwing a CheckpointError. */
export interface UnpickleHooks {
  /** Resolves GLOBAL/STACK_GLOBAL `module.name` to an allowed value, or throws. */
  resolveGlobal(module: string, name: string): unknown;
  /** Resolves a persistent id (BINPERSID), or throws. */
  persistentLoad?(pid: unknown): unknown;
  /** Applies BUILD state to an object other than a dict, or throws. */
  build?(target: unknown, state: unknown): void;
}

/** A result and where the pickle ended (just past STOP). */
export interface UnpickleResult {
  value: unknown;
  end: number;
}

/**
 * What one unpickle may build. Each breach throws a CheckpointError with code
 * `ERR_CHECKPOINT_LIMIT` naming the limit; {@link defaultUnpickleLimits} gives the defaults.
 */
export interface UnpickleLimits {
  /**
   * Most objects built: containers, strings, bytes, long integers, globals, call results and
   * MARK frames, each counting one, plus one per item put into a dict, list or set. Also the
   * longest any one stack frame may grow.
   */
  maxObjects: number;
  /** Most memo entries (PUT, BINPUT, LONG_BINPUT, MEMOIZE to a new index). */
  maxMemoEntries: number;
  /** Longest integer, in bytes of its two's-complement form (LONG1, LONG4; INT and LONG text by their digits). */
  maxIntegerBytes: number;
}

// Bounds of the defaults. A MedicalNet ResNet50 state dict (legacy or zip, with its _metadata)
// builds 4,117 objects and 2,857 memo entries from a 42 KB pickle, about one per 10 bytes
// (test/io/pth-hostile.test.ts loads it at an eighth of the floor). One object per pickle byte, at
// least 2^16, is far from any real checkpoint; the cap bounds the worst case, measured on a loaded
// two-core machine: 2^18 empty dicts (the densest attack) fail after 0.2-0.35 s at 140 MB peak RSS.
const OBJECTS_FLOOR = 1 << 16;
const OBJECTS_CAP = 1 << 18;
// torch writes int64 values (LONG1 of at most 9 bytes) and the legacy magic number (10 bytes);
// decoding is linear, so the bound is about memory and plausibility, not time.
const INTEGER_BYTES = 64;

/**
 * The limits {@link unpickle} applies to a pickle of `pickleBytes` bytes when none are given:
 * objects and memo entries one per pickle byte, at least 65,536 and at most 262,144; integers
 * of at most 64 bytes (512 bits).
 */
export function defaultUnpickleLimits(pickleBytes: number): UnpickleLimits {
  const objects = Math.min(OBJECTS_CAP, Math.max(OBJECTS_FLOOR, Math.floor(pickleBytes)));
  return { maxObjects: objects, maxMemoEntries: objects, maxIntegerBytes: INTEGER_BYTES };
}

const MAX_NUMBER_TEXT = 4096; // longest decimal text line scanned, in bytes
const MAX_MARK_DEPTH = 100_000;

const utf8 = new TextDecoder('utf-8');

function corrupt(message: string, at: number): CheckpointError {
  return new CheckpointError(`Corrupt pickle at byte ${at}: ${message}`, 'ERR_CHECKPOINT_CORRUPT');
}

function overLimit(limit: keyof UnpickleLimits, value: number, what: string, at: number): CheckpointError {
  return new CheckpointError(
    `Pickle exceeds ${limit} = ${value} at byte ${at} (${what}); no real checkpoint comes near it. ` +
      `If this file is trusted, raise options.${limit} of readPth/loadPth`,
    'ERR_CHECKPOINT_LIMIT',
  );
}

/** A Python tuple: a frozen array. */
export function pyTuple(items: unknown[]): readonly unknown[] {
  return Object.freeze(items);
}

/** True when `value` stands for a Python tuple (a frozen array). */
export function isPyTuple(value: unknown): value is readonly unknown[] {
  return Array.isArray(value) && Object.isFrozen(value);
}

function describe(value: unknown): string {
  if (value instanceof PyCallable) return value.name;
  if (value === null) return 'None';
  if (value instanceof Map) return 'dict';
  if (isPyTuple(value)) return 'tuple';
  if (Array.isArray(value)) return 'list';
  if (value instanceof Set) return 'set';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  return typeof value;
}

function decodeLong(bytes: Uint8Array): number | bigint {
  if (bytes.length === 0) return 0;
  // Through hex text: linear in the length, where shifting a BigInt byte by byte is quadratic.
  let v = BigInt(`0x${Buffer.from(bytes).reverse().toString('hex')}`);
  if (bytes[bytes.length - 1] & 0x80) v -= 1n << BigInt(8 * bytes.length);
  return toNumberIfSafe(v);
}

function toNumberIfSafe(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/**
 * Unpickles one object from `bytes[start..]` through `hooks`. Protocols 0-5 are read, except
 * opcodes that need a live Python (INST, OBJ, EXT*, out-of-band buffers), which are refused.
 * @param limits what the pickle may build; by default {@link defaultUnpickleLimits} of `end - start`
 * @throws CheckpointError `ERR_CHECKPOINT_CORRUPT` for malformed input, `ERR_CHECKPOINT_UNSAFE`
 *   (from the hooks) for anything outside the allow-list, `ERR_CHECKPOINT_LIMIT` past a limit
 */
export function unpickle(
  bytes: Uint8Array,
  hooks: UnpickleHooks,
  start = 0,
  end = bytes.length,
  limits: UnpickleLimits = defaultUnpickleLimits(end - start),
): UnpickleResult {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const { maxObjects, maxMemoEntries, maxIntegerBytes } = limits;
  // Decimal digits of the longest integer allowed: 8 * log10(2) digits per byte.
  const maxDigits = Math.ceil(maxIntegerBytes * 8 * Math.LOG10E * Math.LN2);
  let pos = start;
  let stack: unknown[] = [];
  const metastack: unknown[][] = [];
  const memo = new Map<number, unknown>();
  let built = 0;

  /** Counts `n` objects built or items stored; refuses past maxObjects. */
  const grow = (n: number, what: string): void => {
    built += n;
    if (built > maxObjects) throw overLimit('maxObjects', maxObjects, what, pos - 1);
  };
  const integerBytes = (n: number, what: string, at: number): void => {
    if (n > maxIntegerBytes) throw overLimit('maxIntegerBytes', maxIntegerBytes, `${what} of ${n} bytes`, at);
  };

  const need = (n: number, what: string): number => {
    if (n < 0 || pos + n > end) throw corrupt(`${what} needs ${n} bytes but ${end - pos} remain`, pos);
    const at = pos;
    pos += n;
    return at;
  };
  const u8 = (): number => bytes[need(1, 'argument')];
  const u16 = (): number => view.getUint16(need(2, 'argument'), true);
  const u32 = (): number => view.getUint32(need(4, 'argument'), true);
  const u64 = (what: string): number => {
    const v = view.getBigUint64(need(8, what), true);
    if (v > BigInt(end)) throw corrupt(`${what} of ${v} bytes exceeds the input`, pos - 8);
    return Number(v);
  };
  const take = (n: number, what: string): Uint8Array => {
    const at = need(n, what);
    return bytes.subarray(at, at + n);
  };
  const line = (what: string, limit = 1 << 20): string => {
    const stop = Math.min(end, pos + limit);
    for (let i = pos; i < stop; i++) {
      if (bytes[i] === 0x0a) {
        const text = utf8.decode(bytes.subarray(pos, i));
        pos = i + 1;
        return text;
      }
    }
    throw corrupt(`unterminated ${what}`, pos);
  };
  const pop = (): unknown => {
    if (stack.length === 0) throw corrupt('stack underflow', pos - 1);
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) throw corrupt('stack underflow', pos - 1);
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const items = stack;
    const outer = metastack.pop();
    if (!outer) throw corrupt('no MARK on the stack', pos - 1);
    stack = outer;
    return items;
  };
  const memoGet = (index: number): unknown => {
    if (!memo.has(index)) throw corrupt(`memo entry ${index} was never stored`, pos);
    return memo.get(index);
  };
  const memoPut = (index: number): void => {
    const value = top();
    if (memo.size >= maxMemoEntries && !memo.has(index)) throw overLimit('maxMemoEntries', maxMemoEntries, 'memo entries', pos - 1);
    memo.set(index, value);
  };
  const setItems = (target: unknown, items: unknown[]): void => {
    if (!(target instanceof Map)) throw corrupt(`SETITEM(S) on a ${describe(target)}`, pos - 1);
    if (items.length % 2 !== 0) throw corrupt('SETITEMS with an odd number of items', pos - 1);
    grow(items.length / 2, 'dict items');
    for (let i = 0; i < items.length; i += 2) target.set(items[i], items[i + 1]);
  };
  const appendItems = (target: unknown, items: unknown[]): void => {
    if (!Array.isArray(target) || Object.isFrozen(target)) throw corrupt(`APPEND(S) on a ${describe(target)}`, pos - 1);
    grow(items.length, 'list items');
    for (const item of items) target.push(item);
  };
  const addItems = (target: unknown, items: unknown[]): void => {
    if (!(target instanceof Set) || Object.isFrozen(target)) throw corrupt(`ADDITEMS on a ${describe(target)}`, pos - 1);
    grow(items.length, 'set items');
    for (const item of items) target.add(item);
  };
  const call = (callable: unknown, args: unknown, op: string): unknown => {
    if (!(callable instanceof PyCallable)) {
      throw new CheckpointError(
        `Refused ${op} of ${describe(callable)}: only allowed functions and classes may be called`,
        'ERR_CHECKPOINT_UNSAFE',
      );
    }
    if (!Array.isArray(args)) throw corrupt(`${op} arguments are a ${describe(args)}, not a tuple`, pos - 1);
    grow(1, `${op} results`);
    return callable.call(args);
  };
  const decimal = (text: string, what: string): number | bigint => {
    const t = text.replace(/L$/, '').trim();
    if (!/^[+-]?\d+$/.test(t)) throw corrupt(`bad ${what} ${JSON.stringify(t.slice(0, 40))}`, pos);
    const digits = t.length - (t[0] === '+' || t[0] === '-' ? 1 : 0);
    if (digits > maxDigits) throw overLimit('maxIntegerBytes', maxIntegerBytes, `${what} of ${digits} digits`, pos);
    return toNumberIfSafe(BigInt(t));
  };

  while (pos < end) {
    const opAt = pos;
    const op = bytes[pos++];
    // Every opcode pushes at most one value, so checking here bounds each stack frame.
    if (stack.length > maxObjects) throw overLimit('maxObjects', maxObjects, 'values on one stack frame', opAt);
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) throw corrupt('unsupported pickle protocol', opAt);
        break;
      case 0x95: // FRAME: framing is transparent to a reader holding all bytes
        u64('FRAME');
        break;
      case 0x2e: // STOP
        return { value: pop(), end: pos };
      case 0x28: // MARK
        if (metastack.length >= MAX_MARK_DEPTH) throw corrupt('MARKs nested too deeply', opAt);
        grow(1, 'MARK frames');
        metastack.push(stack);
        stack = [];
        break;
      case 0x30: // POP
        if (stack.length === 0) popMark();
        else stack.pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;

      case 0x49: {
        // INT (text); "I01\n"/"I00\n" are True/False
        const text = line('INT', MAX_NUMBER_TEXT);
        stack.push(text === '01' ? true : text === '00' ? false : decimal(text, 'INT'));
        break;
      }
      case 0x4a: // BININT
        stack.push(view.getInt32(need(4, 'BININT'), true));
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x4c: // LONG (text)
        grow(1, 'long integers');
        stack.push(decimal(line('LONG', MAX_NUMBER_TEXT), 'LONG'));
        break;
      case 0x8a: {
        // LONG1
        const n = u8();
        integerBytes(n, 'LONG1', opAt);
        grow(1, 'long integers');
        stack.push(decodeLong(take(n, 'LONG1')));
        break;
      }
      case 0x8b: {
        // LONG4
        const n = view.getInt32(need(4, 'LONG4'), true);
        if (n < 0) throw corrupt(`LONG4 of ${n} bytes refused`, opAt);
        integerBytes(n, 'LONG4', opAt);
        grow(1, 'long integers');
        stack.push(decodeLong(take(n, 'LONG4')));
        break;
      }
      case 0x46: {
        // FLOAT (text)
        const text = line('FLOAT', MAX_NUMBER_TEXT).trim();
        const v = Number(text);
        if (Number.isNaN(v) && !/^[+-]?nan$/i.test(text)) throw corrupt(`bad FLOAT ${JSON.stringify(text.slice(0, 40))}`, opAt);
        stack.push(v);
        break;
      }
      case 0x47: // BINFLOAT (big-endian double)
        stack.push(view.getFloat64(need(8, 'BINFLOAT'), false));
        break;

      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;

      case 0x53: {
        // STRING (quoted text, protocol 0)
        const text = line('STRING');
        const m = /^(['"])(.*)\1$/s.exec(text);
        if (!m) throw corrupt('bad STRING quoting', opAt);
        grow(1, 'strings');
        stack.push(m[2]);
        break;
      }
      case 0x54: {
        // BINSTRING: Python 2 str, decoded as UTF-8 as torch.load does
        const n = view.getInt32(need(4, 'BINSTRING'), true);
        grow(1, 'strings');
        stack.push(utf8.decode(take(n, 'BINSTRING')));
        break;
      }
      case 0x55: // SHORT_BINSTRING
        grow(1, 'strings');
        stack.push(utf8.decode(take(u8(), 'SHORT_BINSTRING')));
        break;
      case 0x56: // UNICODE (raw-unicode-escape text); only plain text is accepted
        grow(1, 'strings');
        stack.push(line('UNICODE'));
        break;
      case 0x58: // BINUNICODE
        grow(1, 'strings');
        stack.push(utf8.decode(take(u32(), 'BINUNICODE')));
        break;
      case 0x8c: // SHORT_BINUNICODE
        grow(1, 'strings');
        stack.push(utf8.decode(take(u8(), 'SHORT_BINUNICODE')));
        break;
      case 0x8d: // BINUNICODE8
        grow(1, 'strings');
        stack.push(utf8.decode(take(u64('BINUNICODE8'), 'BINUNICODE8')));
        break;
      case 0x42: // BINBYTES
        grow(1, 'bytes');
        stack.push(take(u32(), 'BINBYTES').slice());
        break;
      case 0x43: // SHORT_BINBYTES
        grow(1, 'bytes');
        stack.push(take(u8(), 'SHORT_BINBYTES').slice());
        break;
      case 0x8e: // BINBYTES8
      case 0x96: // BYTEARRAY8
        grow(1, 'bytes');
        stack.push(take(u64('BINBYTES8'), 'BINBYTES8').slice());
        break;

      case 0x5d: // EMPTY_LIST
        grow(1, 'lists');
        stack.push([]);
        break;
      case 0x6c: {
        // LIST
        const items = popMark(); // before touching `stack`: popMark replaces it
        stack.push(items);
        break;
      }
      case 0x61: {
        // APPEND
        const item = pop();
        appendItems(top(), [item]);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        appendItems(top(), items);
        break;
      }
      case 0x29: // EMPTY_TUPLE
        grow(1, 'tuples');
        stack.push(pyTuple([]));
        break;
      case 0x74: {
        // TUPLE
        const items = popMark();
        stack.push(pyTuple(items));
        break;
      }
      case 0x85: // TUPLE1
        grow(1, 'tuples');
        stack.push(pyTuple([pop()]));
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        const a = pop();
        grow(1, 'tuples');
        stack.push(pyTuple([a, b]));
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        const a = pop();
        grow(1, 'tuples');
        stack.push(pyTuple([a, b, c]));
        break;
      }
      case 0x7d: // EMPTY_DICT
        grow(1, 'dicts');
        stack.push(new Map());
        break;
      case 0x64: {
        // DICT
        const map = new Map();
        setItems(map, popMark());
        grow(1, 'dicts');
        stack.push(map);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x8f: // EMPTY_SET
        grow(1, 'sets');
        stack.push(new Set());
        break;
      case 0x90: {
        // ADDITEMS
        const items = popMark();
        addItems(top(), items);
        break;
      }
      case 0x91: {
        // FROZENSET
        const items = popMark();
        grow(1 + items.length, 'sets');
        stack.push(Object.freeze(new Set(items)));
        break;
      }

      case 0x70: // PUT (text)
        memoPut(Number(decimal(line('PUT', MAX_NUMBER_TEXT), 'PUT index')));
        break;
      case 0x71: // BINPUT
        memoPut(u8());
        break;
      case 0x72: // LONG_BINPUT
        memoPut(u32());
        break;
      case 0x94: // MEMOIZE
        memoPut(memo.size);
        break;
      case 0x67: // GET (text)
        stack.push(memoGet(Number(decimal(line('GET', MAX_NUMBER_TEXT), 'GET index'))));
        break;
      case 0x68: // BINGET
        stack.push(memoGet(u8()));
        break;
      case 0x6a: // LONG_BINGET
        stack.push(memoGet(u32()));
        break;

      case 0x63: {
        // GLOBAL
        const module = line('GLOBAL module', 1024);
        const name = line('GLOBAL name', 1024);
        grow(1, 'globals');
        stack.push(hooks.resolveGlobal(module, name));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') throw corrupt('STACK_GLOBAL needs two strings', opAt);
        grow(1, 'globals');
        stack.push(hooks.resolveGlobal(module, name));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const callable = pop();
        stack.push(call(callable, args, 'REDUCE'));
        break;
      }
      case 0x81: {
        // NEWOBJ
        const args = pop();
        const cls = pop();
        stack.push(call(cls, args, 'NEWOBJ'));
        break;
      }
      case 0x92: {
        // NEWOBJ_EX
        const kwargs = pop();
        const args = pop();
        const cls = pop();
        if (!(kwargs instanceof Map) || kwargs.size > 0) throw corrupt('NEWOBJ_EX with keyword arguments', opAt);
        stack.push(call(cls, args, 'NEWOBJ_EX'));
        break;
      }
      case 0x62: {
        // BUILD
        const state = pop();
        const target = top();
        if (target instanceof Map) break; // an OrderedDict's attributes (state_dict()._metadata): not kept
        if (!hooks.build) {
          throw new CheckpointError(`Refused BUILD of a ${describe(target)}: only dicts and tensors take state`, 'ERR_CHECKPOINT_UNSAFE');
        }
        hooks.build(target, state);
        break;
      }
      case 0x51: {
        // BINPERSID
        const pid = pop();
        if (!hooks.persistentLoad) throw corrupt('a persistent id where none is expected', opAt);
        grow(1, 'persistent ids');
        stack.push(hooks.persistentLoad(pid));
        break;
      }
      case 0x50: // PERSID (text ids are never written by torch)
        throw new CheckpointError('Refused PERSID: text persistent ids are not torch storages', 'ERR_CHECKPOINT_UNSAFE');
      case 0x69: // INST
      case 0x6f: // OBJ
        throw new CheckpointError(`Refused ${op === 0x69 ? 'INST' : 'OBJ'}: it instantiates arbitrary classes`, 'ERR_CHECKPOINT_UNSAFE');
      case 0x82: // EXT1
      case 0x83: // EXT2
      case 0x84: // EXT4
        throw new CheckpointError('Refused EXT: the extension registry can name any global', 'ERR_CHECKPOINT_UNSAFE');
      case 0x97: // NEXT_BUFFER
      case 0x98: // READONLY_BUFFER
        throw corrupt('out-of-band buffers are not part of a checkpoint', opAt);
      default:
        throw corrupt(`unknown opcode 0x${op.toString(16).padStart(2, '0')}`, opAt);
    }
  }
  throw corrupt('the pickle ends without STOP', pos);
}

/** latin1 text to bytes (Python 2 `_codecs.encode(s, 'latin1')`, how protocol 2 writes bytes). */
export function latin1Bytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0xff) throw new CheckpointError('Corrupt pickle: _codecs.encode of non-latin1 text', 'ERR_CHECKPOINT_CORRUPT');
    out[i] = c;
  }
  return out;
}
