/**
 * The previous, streaming XOR iterator (bit reader state in object fields), kept only
 * to compare against the batch decoder in src/tsdb/chunkenc/xor-iterator.ts
 * (STYLE.md §13: old and new side by side until the change has landed).
 */
import { ValueType, STALE_NAN_HI, STALE_NAN_LO } from '../../../src/storage/index.js';
import type { SampleIterator } from '../../../src/storage/index.js';
import { ChunkEncodingError, ERR_CHUNK_CORRUPT, ERR_CHUNK_TRUNCATED } from '../../../src/tsdb/chunkenc/errors.js';
import { int64ToNumber } from '../../../src/tsdb/chunkenc/u64.js';

const f64 = new Float64Array(1);
const i32 = new Int32Array(f64.buffer);
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;
const LO = 1 - HI;
const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const zz = new Uint32Array(2);

/**
 * Iterator over an XOR chunk's samples (Go `xorIterator`), implementing the storage
 * `SampleIterator`. Holds the value as bits; `atV()` builds the double on demand.
 * The bit reader's state is kept in this object's own fields (not a nested reader)
 * so the hot loop in `next()` touches one object.
 */
export class StreamingXORIterator implements SampleIterator {
  private b: Uint8Array;
  private p: number;
  private end: number;
  private w: number;
  private wn: number;
  private eof: boolean;
  private numTotal: number;
  private nRead: number;
  private t: number;
  private tDelta: number;
  private vHi: number;
  private vLo: number;
  private leading: number;
  private trailing: number;
  private e: ChunkEncodingError | null;

  constructor(b: Uint8Array) {
    this.b = b;
    this.p = 2;
    this.end = b.length;
    this.w = 0;
    this.wn = 0;
    this.eof = false;
    this.numTotal = b.length >= 2 ? ((b[0] as number) << 8) | (b[1] as number) : 0;
    this.nRead = 0;
    this.t = 0;
    this.tDelta = 0;
    this.vHi = 0;
    this.vLo = 0;
    this.leading = 0;
    this.trailing = 0;
    this.e = b.length < 2 && b.length !== 0 ? new ChunkEncodingError(ERR_CHUNK_TRUNCATED, `XOR chunk of ${b.length} bytes has no sample count`) : null;
  }

  /** Points the iterator at new chunk data, as a fresh one. */
  reset(b: Uint8Array): void {
    this.b = b;
    this.p = 2;
    this.end = b.length;
    this.w = 0;
    this.wn = 0;
    this.eof = false;
    this.numTotal = b.length >= 2 ? ((b[0] as number) << 8) | (b[1] as number) : 0;
    this.nRead = 0;
    this.t = 0;
    this.tDelta = 0;
    this.vHi = 0;
    this.vLo = 0;
    this.leading = 0;
    this.trailing = 0;
    this.e = b.length < 2 && b.length !== 0 ? new ChunkEncodingError(ERR_CHUNK_TRUNCATED, `XOR chunk of ${b.length} bytes has no sample count`) : null;
  }

  // --- bit reading, inlined by V8 -------------------------------------------------

  private refill(): boolean {
    const b = this.b;
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

  private readBit(): number {
    if (this.wn === 0 && !this.refill()) {
      this.eof = true;
      return 0;
    }
    const bit = this.w >>> 31;
    this.w <<= 1;
    this.wn--;
    return bit;
  }

  /** `n` in 1..32; unsigned result. */
  private readBits(n: number): number {
    if (n <= this.wn) {
      const r = this.w >>> (32 - n);
      this.w = (this.w << (n - 1)) << 1;
      this.wn -= n;
      return r;
    }
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
    r = r * 2 ** need + (this.w >>> (32 - need));
    this.w = (this.w << (need - 1)) << 1;
    this.wn -= need;
    return r;
  }

  /** uvarint read byte-wise from the bit stream (Go `binary.ReadUvarint(&it.br)`), as halves into `zz`. */
  private readUvarint64(): boolean {
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      const c = this.readBits(8);
      if (this.eof) return false;
      const v = c & 0x7f;
      const shift = 7 * i;
      if (shift < 32) {
        lo |= v << shift;
        if (shift > 25) hi |= v >>> (32 - shift);
      } else {
        hi |= v << (shift - 32);
      }
      if (c < 0x80) {
        // Go rejects a 10th byte > 1 (overflow).
        if (i === 9 && c > 1) return false;
        zz[0] = hi >>> 0;
        zz[1] = lo >>> 0;
        return true;
      }
    }
    return false;
  }

  private fail(code: string, what: string): ValueType {
    if (this.e === null) {
      const bit = this.p * 8 - this.wn;
      this.e = new ChunkEncodingError(code, `XOR chunk: ${what} (sample ${this.nRead} of ${this.numTotal}, bit ${bit})`);
    }
    this.nRead = this.numTotal;
    return ValueType.None;
  }

  next(): ValueType {
    const n = this.nRead;
    if (n >= this.numTotal || this.e !== null) return ValueType.None;
    if (n >= 2) {
      // Hot path: dod == 0 and unchanged value are two zero bits.
      if (this.wn >= 2 && this.w >>> 30 === 0) {
        this.w <<= 2;
        this.wn -= 2;
        this.t += this.tDelta;
        this.nRead = n + 1;
        return ValueType.Float;
      }
      let dod = 0;
      // Read up to 4 prefix bits, stopping at the first 0.
      if (this.readBit() === 1) {
        // Each readBit() consumes a bit: 10 -> 14, 110 -> 17, 1110 -> 20, 1111 -> 64.
        let sz = 14;
        if (this.readBit() === 1) {
          sz = 17;
          if (this.readBit() === 1) sz = this.readBit() === 1 ? 64 : 20;
        }
        if (sz === 64) {
          const hi = this.readBits(32);
          const lo = this.readBits(32);
          dod = int64ToNumber(hi, lo);
          if (dod !== dod) return this.fail(ERR_CHUNK_CORRUPT, 'timestamp delta-of-delta beyond ±2^53');
        } else {
          const bits = this.readBits(sz);
          const half = 1 << (sz - 1);
          dod = bits > half ? bits - 2 * half : bits;
        }
      }
      const tDelta = this.tDelta + dod;
      const t = this.t + tDelta;
      if (t > MAX_SAFE || t < -MAX_SAFE) return this.fail(ERR_CHUNK_CORRUPT, 'timestamp beyond ±2^53');
      this.tDelta = tDelta;
      this.t = t;
      this.readValue();
      if (this.eof) return this.fail(ERR_CHUNK_TRUNCATED, 'data ends early');
      if (this.e !== null) return ValueType.None;
      this.nRead = n + 1;
      return ValueType.Float;
    }
    if (n === 0) {
      if (!this.readUvarint64()) return this.fail(ERR_CHUNK_TRUNCATED, 'bad first timestamp');
      // un-zigzag (hi, lo)
      const zh = zz[0] as number;
      const zl = zz[1] as number;
      const neg = -(zl & 1);
      const h = ((zh >>> 1) ^ neg) | 0;
      const l = (((zl >>> 1) | (zh << 31)) ^ neg) >>> 0;
      const t = int64ToNumber(h, l);
      if (t !== t) return this.fail(ERR_CHUNK_CORRUPT, 'first timestamp beyond ±2^53');
      this.t = t;
      this.vHi = this.readBits(32) | 0;
      this.vLo = this.readBits(32) | 0;
      if (this.eof) return this.fail(ERR_CHUNK_TRUNCATED, 'data ends early');
      this.nRead = 1;
      return ValueType.Float;
    }
    // n === 1: uvarint delta (uint64, added as int64)
    if (!this.readUvarint64()) return this.fail(ERR_CHUNK_TRUNCATED, 'bad timestamp delta');
    const delta = int64ToNumber(zz[0] as number, zz[1] as number);
    if (delta !== delta) return this.fail(ERR_CHUNK_CORRUPT, 'timestamp delta beyond ±2^53');
    const t = this.t + delta;
    if (t > MAX_SAFE || t < -MAX_SAFE) return this.fail(ERR_CHUNK_CORRUPT, 'timestamp beyond ±2^53');
    this.tDelta = delta;
    this.t = t;
    this.readValue();
    if (this.eof) return this.fail(ERR_CHUNK_TRUNCATED, 'data ends early');
    if (this.e !== null) return ValueType.None;
    this.nRead = 2;
    return ValueType.Float;
  }

  /** Go `xorRead`: applies one value block to (vHi, vLo). */
  private readValue(): void {
    if (this.readBit() === 0) return;
    if (this.readBit() === 1) {
      const l = this.readBits(5);
      let sig = this.readBits(6);
      if (sig === 0) sig = 64;
      if (l + sig > 64) {
        this.fail(ERR_CHUNK_CORRUPT, `value window of ${l} leading zeros and ${sig} significant bits`);
        return;
      }
      this.leading = l;
      this.trailing = 64 - l - sig;
    }
    const tr = this.trailing;
    const sig = 64 - this.leading - tr;
    let xh = 0;
    let xl: number;
    if (sig > 32) {
      xh = this.readBits(sig - 32);
      xl = this.readBits(32);
    } else {
      xl = this.readBits(sig);
    }
    if (tr === 0) {
      this.vHi ^= xh;
      this.vLo ^= xl;
    } else if (tr < 32) {
      this.vHi ^= (xh << tr) | (xl >>> (32 - tr));
      this.vLo ^= xl << tr;
    } else {
      this.vHi ^= xl << (tr - 32);
    }
  }

  seek(t: number): ValueType {
    if (this.e !== null) return ValueType.None;
    while (this.nRead === 0 || t > this.t) {
      if (this.next() === ValueType.None) return ValueType.None;
    }
    return ValueType.Float;
  }

  atT(): number {
    return this.t;
  }

  atV(): number {
    i32[HI] = this.vHi;
    i32[LO] = this.vLo;
    return f64[0] as number;
  }

  /** High 32 bits (uint32) of the current value's IEEE-754 pattern. */
  atVHi(): number {
    return this.vHi >>> 0;
  }

  /** Low 32 bits (uint32) of the current value's IEEE-754 pattern. */
  atVLo(): number {
    return this.vLo >>> 0;
  }

  atStale(): boolean {
    return this.vHi === STALE_NAN_HI && this.vLo === STALE_NAN_LO;
  }

  err(): Error | null {
    return this.e;
  }

  /** Samples decoded so far. */
  numRead(): number {
    return this.nRead;
  }

  /** Encoder state for `XORChunk.appender()`. */
  tDeltaState(): number {
    return this.tDelta;
  }
  leadingState(): number {
    return this.leading;
  }
  trailingState(): number {
    return this.trailing;
  }
  /** Bit position after the last decoded sample. */
  endBitPos(): number {
    return this.p * 8 - this.wn;
  }
}
