/**
 * XOR ("Gorilla") float chunks, byte-identical to Prometheus 2.42 `tsdb/chunkenc/xor.go`
 * (spec §5.2, worked examples in §5.2.1 are golden tests).
 *
 *     ┌──────────────┬──────────────┬────────────┬───────────────────┬──────────────────────────┐
 *     │ n: BE16      │ t0: varint   │ v0: 64 bit │ t1-t0: uvarint    │ v1: xor block │ s2 … sn  │
 *     └──────────────┴──────────────┴────────────┴───────────────────┴──────────────────────────┘
 *     sample i >= 2:  dod bucket (0 | 10+14 | 110+17 | 1110+20 | 1111+64)  then the value xor block
 *     xor block:      0 (same bits) | 10 + window bits | 11 + L:5 + S:6 + S bits
 *
 * Values travel as their raw 64-bit patterns (hi/lo uint32) through the appender and
 * the iterator, never through JS arithmetic, so the stale marker (a signalling NaN)
 * and every other payload survive bit-exactly.
 */
import { ValueType, STALE_NAN_HI, STALE_NAN_LO, NORMAL_NAN_HI, NORMAL_NAN_LO } from '../../storage/index.js';
import type { SampleIterator } from '../../storage/index.js';
import { BitWriter } from './bstream.js';
import { Encoding } from './chunk.js';
import type { Chunk, ChunkAppender } from './chunk.js';
import { ChunkEncodingError, ERR_CHUNK_CORRUPT, ERR_CHUNK_TRUNCATED } from './errors.js';
import { ctz32, int64Hi, int64Lo, int64ToNumber, uvarint64, zigzag64 } from './u64.js';

const f64 = new Float64Array(1);
const i32 = new Int32Array(f64.buffer);
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;
const LO = 1 - HI;

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
/** Go uint16 sample counter: the header cannot count beyond this. */
export const MAX_XOR_SAMPLES = 65535;

/**
 * A float chunk. Built empty with `new XORChunk()` and appended to, or wrapped around
 * existing bytes with `XORChunk.fromBytes` (no copy; read-only until `appender()`).
 */
export class XORChunk implements Chunk {
  /** Owns the bytes while appending; for a wrapped chunk, `null` until `appender()`. */
  private w: BitWriter | null;
  /** Wrapped bytes (read-only view) when `w` is null. */
  private data: Uint8Array;

  constructor() {
    this.w = new BitWriter(128);
    this.w.pos = 16; // the 2-byte sample count, as Go's make([]byte, 2, 128)
    this.data = EMPTY;
  }

  /** Wraps encoded chunk data (as read from a chunk file). The view must stay unchanged while the chunk is used. */
  static fromBytes(b: Uint8Array): XORChunk {
    const c = new XORChunk();
    c.w = null;
    c.data = b;
    return c;
  }

  encoding(): Encoding {
    return Encoding.XOR;
  }

  bytes(): Uint8Array {
    return this.w !== null ? this.w.bytes() : this.data;
  }

  numSamples(): number {
    const b = this.bytes();
    return b.length < 2 ? 0 : (((b[0] as number) << 8) | (b[1] as number));
  }

  /**
   * An appender continuing this chunk. As Prometheus's `XORChunk.Appender`, it replays the
   * chunk to recover the encoder state; only an empty chunk starts with the "no window"
   * sentinel, so reopening after 1 sample continues with window (0,0) exactly as Go does.
   * Throws ChunkEncodingError if the existing data does not decode.
   */
  appender(): XORAppender {
    const it = new XORIterator(this.bytes());
    while (it.next() !== ValueType.None) {
      /* replay */
    }
    const e = it.err();
    if (e !== null) throw e;
    if (this.w === null) {
      // Take a private copy of the wrapped bytes so appends never touch the caller's buffer.
      const w = new BitWriter(Math.max(128, this.data.length * 2));
      w.buf.set(this.data);
      const end = it.endBitPos();
      w.pos = end;
      // Go keeps whatever the stream held; a trailing empty byte beyond the last bit means count == 8.
      w.extra = this.data.length > (end + 7) >>> 3;
      if (this.data.length < 2) w.pos = 16;
      this.w = w;
      this.data = EMPTY;
    }
    return new XORAppender(this, this.w, it);
  }

  /** Go's `Iterator(reuse)`. */
  iterator(reuse?: SampleIterator | null): XORIterator {
    if (reuse instanceof XORIterator) {
      reuse.reset(this.bytes());
      return reuse;
    }
    return new XORIterator(this.bytes());
  }
}

const EMPTY = new Uint8Array(0);
const zz = new Uint32Array(2);

/** Appends to one XORChunk. Fields mirror Go's `xorAppender`. */
export class XORAppender implements ChunkAppender {
  private readonly c: XORChunk;
  private readonly w: BitWriter;
  private num: number;
  private t: number;
  private tDelta: number;
  private vHi: number;
  private vLo: number;
  private leading: number;
  private trailing: number;

  /** Use `XORChunk.appender()`. `it` is an iterator that has consumed the whole chunk. */
  constructor(c: XORChunk, w: BitWriter, it: XORIterator) {
    this.c = c;
    this.w = w;
    this.num = it.numRead();
    this.t = it.atT();
    this.tDelta = it.tDeltaState();
    this.vHi = it.atVHi() | 0;
    this.vLo = it.atVLo() | 0;
    this.leading = this.num === 0 ? 0xff : it.leadingState();
    this.trailing = it.trailingState();
  }

  /** The chunk this appender writes to. */
  chunk(): XORChunk {
    return this.c;
  }

  append(t: number, v: number): void {
    if (v !== v) {
      this.appendBits(t, NORMAL_NAN_HI, NORMAL_NAN_LO);
      return;
    }
    f64[0] = v;
    this.appendBits(t, i32[HI] as number, i32[LO] as number);
  }

  appendStale(t: number): void {
    this.appendBits(t, STALE_NAN_HI, STALE_NAN_LO);
  }

  appendBits(t: number, hi: number, lo: number): void {
    const w = this.w;
    const num = this.num;
    if (num >= MAX_XOR_SAMPLES) throw new RangeError(`XOR chunk full: ${MAX_XOR_SAMPLES} samples`);
    hi |= 0;
    lo |= 0;
    let tDelta = 0;
    if (num === 0) {
      zigzag64(int64Hi(t), int64Lo(t), zz);
      uvarint64(zz[0] as number, zz[1] as number, (b) => w.writeByte(b));
      w.writeBits64(hi, lo, 64);
    } else if (num === 1) {
      tDelta = t - this.t;
      uvarint64(int64Hi(tDelta), int64Lo(tDelta), (b) => w.writeByte(b));
      this.writeVDelta(hi, lo);
    } else {
      tDelta = t - this.t;
      const dod = tDelta - this.tDelta;
      // Buckets are asymmetric: -(2^(n-1)-1) <= dod <= 2^(n-1) (Go bitRange).
      if (dod === 0) {
        w.writeRaw(0, 1);
      } else if (dod >= -8191 && dod <= 8192) {
        w.writeRaw(0b10, 2);
        w.writeBits(dod & 0x3fff, 14);
      } else if (dod >= -65535 && dod <= 65536) {
        w.writeRaw(0b110, 3);
        w.writeBits(dod & 0x1ffff, 17);
      } else if (dod >= -524287 && dod <= 524288) {
        w.writeRaw(0b1110, 4);
        w.writeBits(dod & 0xfffff, 20);
      } else {
        w.writeRaw(0b1111, 4);
        w.writeBits64(int64Hi(dod), int64Lo(dod), 64);
      }
      this.writeVDelta(hi, lo);
    }
    this.t = t;
    this.tDelta = tDelta;
    this.vHi = hi;
    this.vLo = lo;
    this.num = num + 1;
    w.setByte(0, (num + 1) >>> 8);
    w.setByte(1, (num + 1) & 0xff);
  }

  /** Go `xorWrite`: the value block for (hi, lo) against the previous value. */
  private writeVDelta(hi: number, lo: number): void {
    const w = this.w;
    const xh = hi ^ this.vHi;
    const xl = lo ^ this.vLo;
    if (xh === 0 && xl === 0) {
      w.writeRaw(0, 1);
      return;
    }
    let newLeading = xh !== 0 ? Math.clz32(xh) : 32 + Math.clz32(xl);
    const newTrailing = xl !== 0 ? ctz32(xl) : 32 + ctz32(xh);
    // Only 5 bits for the leading-zero count.
    if (newLeading >= 32) newLeading = 31;
    let tr: number;
    let sig: number;
    if (this.leading !== 0xff && newLeading >= this.leading && newTrailing >= this.trailing) {
      // Reuse the previous window: control bits 10.
      w.writeRaw(0b10, 2);
      tr = this.trailing;
      sig = 64 - this.leading - tr;
    } else {
      this.leading = newLeading;
      this.trailing = newTrailing;
      tr = newTrailing;
      sig = 64 - newLeading - newTrailing;
      // 11, 5 bits leading, 6 bits significant count (64 is written as 0).
      w.writeRaw((0b11 << 11) | (newLeading << 6) | (sig & 63), 13);
    }
    // x >>> tr across the halves, then the low `sig` bits.
    let sh: number;
    let sl: number;
    if (tr === 0) {
      sh = xh;
      sl = xl;
    } else if (tr < 32) {
      sh = xh >>> tr;
      sl = (xl >>> tr) | (xh << (32 - tr));
    } else {
      sh = 0;
      sl = xh >>> (tr - 32);
    }
    w.writeBits64(sh, sl, sig);
  }
}

/**
 * Iterator over an XOR chunk's samples (Go `xorIterator`), implementing the storage
 * `SampleIterator`. Holds the value as bits; `atV()` builds the double on demand.
 * The bit reader's state is kept in this object's own fields (not a nested reader)
 * so the hot loop in `next()` touches one object.
 */
export class XORIterator implements SampleIterator {
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
