// The unpickler's limits one by one: what counts, where each default lies, that each breach is a
// coded CheckpointError, and that the options of readPth/parsePth override them.
import { describe, expect, test } from 'vitest';
import { parsePth } from '../../lib/io/index.js';
import { defaultUnpickleLimits, unpickle, type UnpickleHooks } from '../../lib/io/pth/pickle.js';
import { buildZip } from '../../lib/io/pth/zip.js';
import { CheckpointError } from '../../lib/native/errors.js';

const hooks: UnpickleHooks = {
  resolveGlobal(module, name) {
    throw new CheckpointError(`Refused global ${module}.${name}`, 'ERR_CHECKPOINT_UNSAFE');
  },
};
const bytes = (...parts: Array<string | number[] | Uint8Array>): Uint8Array =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));
const zipOf = (pickle: Uint8Array): Uint8Array => Buffer.concat(buildZip([{ name: 'a/data.pkl', data: pickle }]));

/** A protocol-2 list of `n` empty dicts: 2 + n + 2 bytes, 2n + 2 objects (the dicts, their insertions, the list, the MARK). */
const dictList = (n: number) => bytes([0x80, 2, 0x5d, 0x28], Buffer.alloc(n, 0x7d), [0x65, 0x2e]);

/** LONG1 (n < 256) or LONG4 of the little-endian two's complement `payload`. */
function long(payload: number[]): Uint8Array {
  if (payload.length < 256) return bytes([0x80, 2, 0x8a, payload.length], payload, '.');
  const n = Buffer.alloc(4);
  n.writeInt32LE(payload.length);
  return bytes([0x80, 2, 0x8b], n, payload, '.');
}

describe('default limits', () => {
  test('one object per pickle byte, between 2^16 and 2^18; integers up to 64 bytes', () => {
    expect(defaultUnpickleLimits(100)).toEqual({ maxObjects: 65536, maxMemoEntries: 65536, maxIntegerBytes: 64 });
    expect(defaultUnpickleLimits(100_000).maxObjects).toBe(100_000);
    expect(defaultUnpickleLimits(16 << 20).maxObjects).toBe(262_144);
  });

  test('a list of 30,000 dicts loads; 70,000 (in 70 KB) is past the floor and the byte count', () => {
    const small = unpickle(dictList(30_000), hooks).value as unknown[];
    expect(small).toHaveLength(30_000);
    expect(small[0]).toBeInstanceOf(Map);
    expect(() => unpickle(dictList(70_000), hooks)).toThrow(
      expect.objectContaining({ code: 'ERR_CHECKPOINT_LIMIT', message: expect.stringMatching(/maxObjects = 70006/) }),
    );
    expect(unpickle(dictList(70_000), hooks, 0, undefined, { ...defaultUnpickleLimits(0), maxObjects: 140_002 }).value).toHaveLength(
      70_000,
    );
  });
});

describe('each limit breach is ERR_CHECKPOINT_LIMIT naming its option', () => {
  const limits = { maxObjects: 100, maxMemoEntries: 10, maxIntegerBytes: 16 };
  const refused = (pickle: Uint8Array, option: string) =>
    expect(() => unpickle(pickle, hooks, 0, pickle.length, limits)).toThrow(
      expect.objectContaining({ code: 'ERR_CHECKPOINT_LIMIT', message: expect.stringContaining(`options.${option}`) }),
    );

  test('objects: containers, strings, bytes and dict/list/set items all count', () => {
    refused(dictList(50), 'maxObjects');
    refused(bytes([0x80, 4], Buffer.alloc(101 * 2).fill(Buffer.from([0x8c, 0])), '.'), 'maxObjects'); // empty strings
    refused(bytes([0x80, 2, 0x7d, 0x28], Buffer.alloc(60 * 3).fill(Buffer.from([0x4b, 1, 0x4e])), [0x75, 0x2e]), 'maxObjects'); // 60 pairs into a dict
    expect(unpickle(dictList(49), hooks, 0, undefined, limits).value).toHaveLength(49);
  });

  test('a stack frame longer than maxObjects, even of None', () => {
    refused(bytes([0x80, 2], Buffer.alloc(101, 0x4e), '.'), 'maxObjects');
    expect(unpickle(bytes([0x80, 2], Buffer.alloc(100, 0x4e), '.'), hooks, 0, undefined, limits).value).toBeNull();
  });

  test('memo entries: MEMOIZE and PUT to new indices; re-storing one index is free', () => {
    refused(bytes([0x80, 4, 0x7d], Buffer.alloc(11, 0x94), '.'), 'maxMemoEntries');
    const sameIndex = bytes([0x80, 2, 0x7d], Buffer.alloc(200).fill(Buffer.from([0x71, 7])), '.');
    expect(unpickle(sameIndex, hooks, 0, sameIndex.length, limits).value).toBeInstanceOf(Map);
  });

  test('integers: LONG1, LONG4 and decimal INT/LONG text by their size', () => {
    refused(long(new Array(17).fill(1)), 'maxIntegerBytes');
    refused(long(new Array(300).fill(1)), 'maxIntegerBytes');
    refused(bytes(`L${'9'.repeat(40)}L\n.`), 'maxIntegerBytes');
    refused(bytes(`I${'9'.repeat(40)}\n.`), 'maxIntegerBytes');
    expect(unpickle(bytes(`L${'9'.repeat(39)}L\n.`), hooks, 0, undefined, limits).value).toBe(10n ** 39n - 1n);
  });
});

describe('integers decode exactly, in linear time', () => {
  test.each([
    [[], 0],
    [[0xff], -1],
    [[0x80], -128],
    [[0xff, 0x00], 255],
    [[0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20], 2 ** 53],
    [[0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80], -(2n ** 71n) + 1n],
  ] as Array<[number[], number | bigint]>)('LONG1 %j', (payload, value) => {
    const v = unpickle(long(payload), hooks).value;
    expect(typeof v === 'bigint' ? v : BigInt(v as number)).toBe(BigInt(value));
  });

  test('1,000 integers of 4 KB decode in well under a second when allowed', () => {
    const one = Buffer.concat([Buffer.from([0x8b, 0, 0x10, 0, 0]), Buffer.alloc(4096, 0x7f), Buffer.from('a')]);
    const pickle = bytes([0x80, 2, 0x5d], Buffer.alloc(one.length * 1000).fill(one), '.');
    const t0 = performance.now();
    const list = unpickle(pickle, hooks, 0, pickle.length, { ...defaultUnpickleLimits(pickle.length), maxIntegerBytes: 4096 })
      .value as bigint[];
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(list).toHaveLength(1000);
    expect(list[0] % 256n).toBe(0x7fn);
  });
});

describe('readPth/parsePth options', () => {
  test('override the defaults for a trusted file', () => {
    const file = zipOf(dictList(70_000));
    expect(() => parsePth(file)).toThrow(expect.objectContaining({ code: 'ERR_CHECKPOINT_LIMIT' }));
    // Loads past the limits, then fails only as what it is: a list, not a torch checkpoint's tree.
    expect(parsePth(file, { maxObjects: 200_000 }).tree).toHaveLength(70_000);
    expect(() => parsePth(zipOf(long(new Array(100).fill(1))))).toThrow(expect.objectContaining({ code: 'ERR_CHECKPOINT_LIMIT' }));
    expect(typeof parsePth(zipOf(long(new Array(100).fill(1))), { maxIntegerBytes: 100 }).tree).toBe('bigint');
  });

  test.each([
    ['maxObjects', 0, RangeError],
    ['maxMemoEntries', -5, RangeError],
    ['maxIntegerBytes', 1.5, TypeError],
    ['maxObjects', '100', TypeError],
  ] as const)('options.%s = %j is a %o naming it', (name, value, type) => {
    expect(() => parsePth(zipOf(dictList(1)), { [name]: value } as never)).toThrow(type);
    expect(() => parsePth(zipOf(dictList(1)), { [name]: value } as never)).toThrow(`options.${name}`);
  });
});
