/**
 * A small pickle writer (protocol 2) for {@link encodePth}: opcodes into a growing buffer, the
 * caller composing the objects. Its reading counterpart is the restricted unpickler in pickle.ts.
 * @module
 */

/** A Python float even when integral (savePth writes plain JS integers as Python ints). */
export class PyFloat {
  constructor(readonly value: number) {}
}

/** Writes pickle opcodes (protocol 2) into a growing buffer; the caller composes objects. */
export class PickleWriter {
  private chunks: Uint8Array[] = [];
  private buf = new Uint8Array(1 << 16);
  private view = new DataView(this.buf.buffer);
  private pos = 0;

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.chunks.push(this.buf.slice(0, this.pos));
    const size = Math.max(1 << 16, n);
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
    this.pos = 0;
  }
  op(code: number): this {
    this.ensure(1);
    this.buf[this.pos++] = code;
    return this;
  }
  proto(version: number): this {
    return this.op(0x80).op(version);
  }
  mark(): this {
    return this.op(0x28);
  }
  stop(): this {
    return this.op(0x2e);
  }
  none(): this {
    return this.op(0x4e);
  }
  bool(v: boolean): this {
    return this.op(v ? 0x88 : 0x89);
  }
  /** Integers: BININT1/BININT2/BININT when they fit, LONG1 otherwise. */
  int(v: number | bigint): this {
    if (typeof v === 'number') {
      if (!Number.isSafeInteger(v)) throw new RangeError(`Expected a safe integer but received ${v}`);
      if (v >= 0 && v < 0x100) {
        this.op(0x4b);
        return this.op(v);
      }
      if (v >= 0 && v < 0x10000) {
        this.ensure(3);
        this.buf[this.pos++] = 0x4d;
        this.view.setUint16(this.pos, v, true);
        this.pos += 2;
        return this;
      }
      if (v >= -0x80000000 && v <= 0x7fffffff) {
        this.ensure(5);
        this.buf[this.pos++] = 0x4a;
        this.view.setInt32(this.pos, v, true);
        this.pos += 4;
        return this;
      }
      v = BigInt(v);
    }
    // LONG1: little-endian two's complement, shortest form
    const out: number[] = [];
    let x = v;
    for (;;) {
      const byte = Number(x & 0xffn);
      out.push(byte);
      x >>= 8n;
      if ((x === 0n && !(byte & 0x80)) || (x === -1n && byte & 0x80)) break;
    }
    if (out.length > 255) throw new RangeError('Integer too large to pickle');
    this.ensure(2 + out.length);
    this.buf[this.pos++] = 0x8a;
    this.buf[this.pos++] = out.length;
    for (const b of out) this.buf[this.pos++] = b;
    return this;
  }
  float(v: number): this {
    this.ensure(9);
    this.buf[this.pos++] = 0x47;
    this.view.setFloat64(this.pos, v, false);
    this.pos += 8;
    return this;
  }
  str(s: string): this {
    const bytes = Buffer.from(s, 'utf8');
    this.ensure(5 + bytes.length);
    this.buf[this.pos++] = 0x58;
    this.view.setUint32(this.pos, bytes.length, true);
    this.pos += 4;
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
    return this;
  }
  global(module: string, name: string): this {
    const bytes = Buffer.from(`${module}\n${name}\n`, 'utf8');
    this.ensure(1 + bytes.length);
    this.buf[this.pos++] = 0x63;
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
    return this;
  }
  /** The pickle written so far, as one array. */
  finish(): Uint8Array {
    const parts = [...this.chunks, this.buf.subarray(0, this.pos)];
    const total = parts.reduce((n, p) => n + p.length, 0);
    const out = new Uint8Array(total);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}
