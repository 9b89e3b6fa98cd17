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
import { ctz32, int64Hi, int64Lo, uvarint64, zigzag64 } from './u64.js';
import { XORIterator } from './xor-iterator.js';

export { XORIterator };

const f64 = new Float64Array(1);
const i32 = new Int32Array(f64.buffer);
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;
const LO = 1 - HI;

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
    // Fast path: a fresh chunk needs no replay (and no iterator buffers).
    if (this.w !== null && this.numSamples() === 0) return new XORAppender(this, this.w, null);
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

  /**
   * Use `XORChunk.appender()`. `it` is an iterator that has consumed the whole chunk,
   * or null for an empty chunk.
   */
  constructor(c: XORChunk, w: BitWriter, it: XORIterator | null) {
    this.c = c;
    this.w = w;
    this.num = it === null ? 0 : it.numRead();
    this.t = it === null ? 0 : it.lastT();
    this.tDelta = it === null ? 0 : it.tDeltaState();
    this.vHi = it === null ? 0 : it.lastVHi() | 0;
    this.vLo = it === null ? 0 : it.lastVLo() | 0;
    this.leading = this.num === 0 || it === null ? 0xff : it.leadingState();
    this.trailing = it === null ? 0 : it.trailingState();
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
