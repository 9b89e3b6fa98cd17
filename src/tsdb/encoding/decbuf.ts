/**
 * Byte reader with a sticky error, the counterpart of Prometheus's `encoding.Decbuf`.
 *
 * Reads never throw: the first problem (running off the end, a bad varint, an
 * integer above 2^53) is recorded in `err`, and every later read returns 0/''.
 * Check `err` once after a run of reads. `offset` in the error is relative to the
 * start of `buf`, plus `base` (set it to the position of `buf` within its file so
 * errors point into the file).
 */
import { EncodingError, ERR_INVALID_SIZE, ERR_INVALID_VARINT, ERR_UNSAFE_INTEGER } from './errors.js';

const textDecoder = new TextDecoder('utf-8');
const TWO32 = 4294967296;

export class Decbuf {
  buf: Uint8Array;
  view: DataView;
  /** Read position within `buf`. */
  pos: number;
  /** End of the readable region within `buf` (exclusive). */
  end: number;
  /** Offset of `buf[0]` in the enclosing file, for error messages. */
  base: number;
  err: EncodingError | null;

  constructor(buf: Uint8Array, start = 0, end = buf.length, base = 0) {
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = start;
    this.end = end;
    this.base = base;
    this.err = null;
  }

  /** Bytes left. */
  len(): number {
    return this.end - this.pos;
  }

  private fail(code: string, msg: string): void {
    if (this.err === null) this.err = new EncodingError(code, msg, this.base + this.pos);
    this.pos = this.end;
  }

  private need(n: number): boolean {
    if (this.err !== null) return false;
    if (this.end - this.pos < n) {
      this.fail(ERR_INVALID_SIZE, `unexpected end of data: need ${n} bytes, have ${this.end - this.pos}`);
      return false;
    }
    return true;
  }

  skip(n: number): void {
    if (this.need(n)) this.pos += n;
  }

  byte(): number {
    if (!this.need(1)) return 0;
    return this.buf[this.pos++] as number;
  }

  be16(): number {
    if (!this.need(2)) return 0;
    const v = this.view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }

  be32(): number {
    if (!this.need(4)) return 0;
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }

  /** Big-endian uint64 as a number; error if above 2^53. */
  be64(): number {
    if (!this.need(8)) return 0;
    const hi = this.view.getUint32(this.pos);
    const lo = this.view.getUint32(this.pos + 4);
    if (hi > 0x1fffff) {
      this.fail(ERR_UNSAFE_INTEGER, 'uint64 above 2^53');
      return 0;
    }
    this.pos += 8;
    return hi * TWO32 + lo;
  }

  /** Big-endian int64 (two's complement) as a number; error if |x| > 2^53. */
  be64Int(): number {
    if (!this.need(8)) return 0;
    const hi = this.view.getInt32(this.pos);
    const lo = this.view.getUint32(this.pos + 4);
    if (hi > 0x1fffff || hi < -0x200000) {
      this.fail(ERR_UNSAFE_INTEGER, 'int64 outside ±2^53');
      return 0;
    }
    this.pos += 8;
    return hi * TWO32 + lo;
  }

  beFloat64(): number {
    if (!this.need(8)) return 0;
    const v = this.view.getFloat64(this.pos);
    this.pos += 8;
    return v;
  }

  /** Unsigned LEB128 (Go binary.Uvarint) as a number; error if malformed or above 2^53. */
  uvarint(): number {
    if (this.err !== null) return 0;
    const b = this.buf;
    let p = this.pos;
    const end = this.end;
    // Fast path: values below 2^28 fit in 4 bytes with plain bit operators.
    let x = 0;
    let shift = 0;
    for (; shift < 28; shift += 7) {
      if (p >= end) {
        this.fail(ERR_INVALID_VARINT, 'truncated uvarint');
        return 0;
      }
      const c = b[p++] as number;
      x |= (c & 0x7f) << shift;
      if (c < 0x80) {
        this.pos = p;
        return x >>> 0;
      }
    }
    // Slow path above 2^28: arithmetic, since << would overflow 32 bits.
    let mul = 268435456; // 2^28
    x = x >>> 0;
    for (let i = 4; i < 10; i++) {
      if (p >= end) {
        this.fail(ERR_INVALID_VARINT, 'truncated uvarint');
        return 0;
      }
      const c = b[p++] as number;
      x += (c & 0x7f) * mul;
      if (c < 0x80) {
        if (x > Number.MAX_SAFE_INTEGER) {
          this.fail(ERR_UNSAFE_INTEGER, 'uvarint above 2^53');
          return 0;
        }
        this.pos = p;
        return x;
      }
      mul *= 128;
    }
    this.fail(ERR_INVALID_VARINT, 'uvarint overflows 64 bits');
    return 0;
  }

  /** Zigzag varint (Go binary.Varint) as a number. */
  varint(): number {
    const ux = this.uvarint();
    // Undo zigzag arithmetically: exact for all safe integers.
    return ux % 2 === 0 ? ux / 2 : -(ux + 1) / 2;
  }

  /** A uvarint-length-prefixed byte slice (a view, not a copy). */
  uvarintBytes(): Uint8Array {
    const n = this.uvarint();
    if (!this.need(n)) return EMPTY;
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** A uvarint-length-prefixed UTF-8 string. */
  uvarintStr(): string {
    const n = this.uvarint();
    if (!this.need(n)) return '';
    const s = decodeUtf8(this.buf, this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
}

const EMPTY = new Uint8Array(0);

/** UTF-8 decode with an ASCII fast path (label strings are nearly always ASCII). */
export function decodeUtf8(b: Uint8Array, start: number, end: number): string {
  if (end - start < 64) {
    let s = '';
    for (let i = start; i < end; i++) {
      const c = b[i] as number;
      if (c > 0x7f) return textDecoder.decode(b.subarray(start, end));
      s += String.fromCharCode(c);
    }
    return s;
  }
  return textDecoder.decode(b.subarray(start, end));
}
