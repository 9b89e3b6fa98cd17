/**
 * Bit streams for chunk encodings, byte-compatible with Prometheus's `tsdb/chunkenc/bstream.go`.
 *
 * Bits are written MSB-first. Prometheus's writer keeps a byte slice and `count`, the
 * free low bits of the last byte; its `writeByte` always appends a new byte, so after a
 * `writeByte` (or a `writeBits` of a multiple of 8 bits) that ends on a byte boundary the
 * slice ends with one extra all-zero byte that is part of the chunk data (spec §5.1).
 * We keep the equivalent state as a bit position plus an `extra` flag:
 *
 *     Go (stream, count)            here (pos, extra)
 *     len(stream)*8 - count   ==    pos              bits written so far
 *     count == 8              ==    extra            a trailing empty byte exists
 *
 * The flag only depends on the *last* Go-level write, so several Go writes may be
 * merged into one raw write here as long as the last one keeps its own rule; the XOR
 * appender relies on that to write control bits in one go.
 *
 * The reader buffers 32 bits in a plain int (Prometheus buffers 64 in a uint64; JS
 * bitwise operators are 32-bit, STYLE.md §4). Reads never throw: running past the end
 * sets `eof`, reads return 0, and the caller checks `eof` once per sample.
 */

/**
 * ORs the low `n` bits (1 ≤ n ≤ 32) of `v`, most significant first, into `buf` at bit `p`
 * counted from byte `base`. The bits there must be zero (writers only ever append). Shared by
 * BitWriter and the head's in-series XOR encoder (head/mem-series.ts).
 */
export function putBits(buf: Uint8Array, base: number, p: number, v: number, n: number): void {
  let i = base + (p >>> 3);
  let free = 8 - (p & 7);
  let rem = n;
  if (n < 32) v &= (1 << n) - 1;
  // Uint8Array stores keep the low 8 bits, which drops bits already written above.
  while (rem > free) {
    rem -= free;
    buf[i] = (buf[i] as number) | (v >>> rem);
    i++;
    free = 8;
  }
  buf[i] = (buf[i] as number) | (v << (free - rem));
}

/** Writes the 32 bits of `v` big-endian at byte `i` of `buf`. */
export function writeBE32(buf: Uint8Array, i: number, v: number): void {
  buf[i] = v >>> 24;
  buf[i + 1] = v >>> 16;
  buf[i + 2] = v >>> 8;
  buf[i + 3] = v;
}

/** Bit writer. `buf` beyond `byteLen()` is always zero, so writes can OR bits in. */
export class BitWriter {
  buf: Uint8Array;
  /** Bits written so far (including any header bytes the owner placed at the start). */
  pos: number;
  /** A trailing all-zero byte is part of the stream (Go `count == 8`). */
  extra: boolean;
  constructor(initialCapacity = 128) {
    this.buf = new Uint8Array(initialCapacity);
    this.pos = 0;
    this.extra = false;
  }

  /** Length in bytes of the stream as Prometheus would hold it. */
  byteLen(): number {
    return ((this.pos + 7) >>> 3) + (this.extra ? 1 : 0);
  }

  /** The stream bytes (a view; invalid after the next write). */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.byteLen());
  }

  /** Makes room for `nbits` more bits plus the possible extra byte. */
  private ensure(nbits: number): void {
    const need = ((this.pos + nbits + 7) >>> 3) + 1;
    if (need <= this.buf.length) return;
    let cap = Math.max(this.buf.length * 2, 16);
    while (cap < need) cap *= 2;
    const nb = new Uint8Array(cap);
    nb.set(this.buf.subarray(0, this.byteLen()));
    this.buf = nb;
  }

  /**
   * Writes the low `n` bits of `v` (1 <= n <= 32), most significant first, without
   * Go's trailing-byte rule (as a run of Go `writeBit` calls would).
   */
  writeRaw(v: number, n: number): void {
    this.ensure(n);
    putBits(this.buf, 0, this.pos, v, n);
    this.pos += n;
    this.extra = false;
  }

  /** Go `writeBit`. */
  writeBit(bit: number): void {
    this.writeRaw(bit, 1);
  }

  /** Go `writeBits(v, n)` for n <= 32, including the trailing-byte rule. */
  writeBits(v: number, n: number): void {
    if (n === 0) return;
    this.writeRaw(v, n);
    this.extra = (n & 7) === 0 && (this.pos & 7) === 0;
  }

  /** Go `writeByte`. */
  writeByte(b: number): void {
    this.writeBits(b, 8);
  }

  /** Go `writeBits(u, n)` for a 64-bit `u` given as halves, n <= 64. */
  writeBits64(hi: number, lo: number, n: number): void {
    if (n === 0) return;
    if (n > 32) {
      this.writeRaw(hi, n - 32);
      this.writeRaw(lo, 32);
    } else {
      this.writeRaw(lo, n);
    }
    this.extra = (n & 7) === 0 && (this.pos & 7) === 0;
  }

  /** Overwrites byte `i` (used for headers such as the XOR sample count). */
  setByte(i: number, b: number): void {
    this.buf[i] = b;
  }
}

/**
 * Bit reader over `buf[start:end)`. `w` holds the next `wn` bits left-aligned (the next
 * bit is bit 31). Fields are public so hot loops (the XOR iterator) can inline reads.
 */
export class BitReader {
  buf: Uint8Array;
  /** Next byte to load into `w`. */
  p: number;
  end: number;
  w: number;
  wn: number;
  /** Set when a read ran past `end`; reads then return 0. */
  eof: boolean;

  constructor(buf: Uint8Array = EMPTY, start = 0, end = buf.length) {
    this.buf = buf;
    this.p = start;
    this.end = end;
    this.w = 0;
    this.wn = 0;
    this.eof = false;
  }

  reset(buf: Uint8Array, start: number, end: number): void {
    this.buf = buf;
    this.p = start;
    this.end = end;
    this.w = 0;
    this.wn = 0;
    this.eof = false;
  }

  /** Bit position of the next unread bit, relative to the buffer start. */
  bitPos(): number {
    return this.p * 8 - this.wn;
  }

  /** Loads up to 32 more bits into an empty window; false at the end of data. */
  refill(): boolean {
    const b = this.buf;
    const p = this.p;
    if (p + 4 <= this.end) {
      this.w = ((b[p] as number) << 24) | ((b[p + 1] as number) << 16) | ((b[p + 2] as number) << 8) | (b[p + 3] as number);
      this.wn = 32;
      this.p = p + 4;
      return true;
    }
    if (p >= this.end) return false;
    let w = 0;
    let k = 0;
    let q = p;
    while (q < this.end) {
      w |= (b[q++] as number) << (24 - 8 * k);
      k++;
    }
    this.w = w;
    this.wn = 8 * k;
    this.p = q;
    return true;
  }

  readBit(): number {
    if (this.wn === 0 && !this.refill()) {
      this.eof = true;
      return 0;
    }
    const bit = this.w >>> 31;
    this.w <<= 1;
    this.wn--;
    return bit;
  }

  /** Reads `n` bits (1..32) as an unsigned number. */
  readBits(n: number): number {
    if (n <= this.wn) {
      const r = this.w >>> (32 - n);
      // Two shifts: `x << 32` is `x` in JS.
      this.w = (this.w << (n - 1)) << 1;
      this.wn -= n;
      return r;
    }
    return this.readBitsSlow(n);
  }

  private readBitsSlow(n: number): number {
    let r = 0;
    let need = n;
    if (this.wn > 0) {
      r = this.w >>> (32 - this.wn);
      need -= this.wn;
      this.wn = 0;
    }
    if (!this.refill() || need > this.wn) {
      this.eof = true;
      this.wn = 0;
      return 0;
    }
    // Arithmetic, not <<: the result may need all 32 bits.
    r = r * 2 ** need + (this.w >>> (32 - need));
    this.w = (this.w << (need - 1)) << 1;
    this.wn -= need;
    return r;
  }

  readByte(): number {
    return this.readBits(8);
  }
}

const EMPTY = new Uint8Array(0);
