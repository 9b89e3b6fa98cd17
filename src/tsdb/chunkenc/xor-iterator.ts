/**
 * Iterator over an XOR chunk (Go `xorIterator`), implementing the storage
 * `SampleIterator`.
 *
 * Performance design: on the first `next()` the whole chunk (≤ 65535 samples, 120
 * typically) is decoded in one function into struct-of-arrays buffers owned by the
 * iterator — timestamps in a Float64Array, value bits in an Int32Array that aliases a
 * Float64Array — and `next()` then just advances an index. All bit-reader state lives
 * in locals of `decodeXOR`, where V8 keeps it in registers; storing a 32-bit window in
 * an object field instead forces heap-number boxing, because half of all 32-bit
 * patterns do not fit a Smi (measured: ~4× slower). Bits are read by absolute
 * position from a zero-padded copy of the data (`rd`), so every read is four byte
 * loads and two shifts, with no refill branches.
 *
 * Values are kept as bits: `atVHi()/atVLo()` give the exact IEEE-754 pattern (stale
 * markers and NaN payloads intact); `atV()` reads the aliased double.
 * Corrupt data: samples before the problem are returned, then `next()` returns None
 * and `err()` gives a ChunkEncodingError naming the sample and bit position.
 */
import { ValueType, STALE_NAN_HI, STALE_NAN_LO } from '../../storage/index.js';
import type { SampleIterator } from '../../storage/index.js';
import { ChunkEncodingError, ERR_CHUNK_CORRUPT, ERR_CHUNK_TRUNCATED } from './errors.js';
import { int64ToNumber } from './u64.js';
import { CRC32C_TABLES } from '../encoding/index.js';

const T = CRC32C_TABLES;

/** Index of the high 32-bit half of a float64 in an Int32Array view (platform endianness). */
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;
const LO = 1 - HI;
/**
 * Zero words after the data: more than the most bits one sample can consume before the
 * end-of-data check (68 for a timestamp, 77 for a value) plus one peek.
 */
const PAD_WORDS = 8;
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/**
 * The 32 bits at bit position `pos` of the big-endian word array `w`, MSB first, as an
 * int32. `(w[i+1] >>> 1) >>> (31 - s)` is `w[i+1] >>> (32 - s)` without JavaScript's
 * shift-count masking turning a shift by 32 into a shift by 0 when `s` is 0.
 */
function peek(w: Int32Array, pos: number): number {
  const i = pos >>> 5;
  const s = pos & 31;
  return ((w[i] as number) << s) | (((w[i + 1] as number) >>> 1) >>> (31 - s));
}

export class XORIterator implements SampleIterator {
  /** Chunk data is `data[dataStart:dataEnd)`. */
  private data: Uint8Array;
  private dataStart: number;
  private dataEnd: number;
  private decoded: boolean;
  /** Samples decoded successfully. */
  private n: number;
  /** Current sample, -1 before the first `next()`. */
  private idx: number;
  private ts: Float64Array;
  private v64: Float64Array;
  private v32: Int32Array;
  /** Big-endian words of the chunk being decoded, zero-padded (see `peek`). */
  private words: Int32Array;
  /** DataView over the buffer of the last decoded chunk (windows are shared by many chunks). */
  private dv: DataView;
  /** Start of the CRC-32C range (the encoding byte before the data), -1 for no check. */
  private crcStart: number;
  private crcBad: boolean;
  private e: ChunkEncodingError | null;
  /** Encoder state after the last decoded sample (for `XORChunk.appender()`). */
  private endTDelta: number;
  private endLeading: number;
  private endTrailing: number;
  private endBit: number;

  constructor(b: Uint8Array) {
    this.data = b;
    this.dataStart = 0;
    this.dataEnd = b.length;
    this.decoded = false;
    this.n = 0;
    this.idx = -1;
    this.ts = new Float64Array(128);
    this.v64 = new Float64Array(128);
    this.v32 = new Int32Array(this.v64.buffer);
    this.words = new Int32Array(128);
    this.dv = new DataView(new ArrayBuffer(0));
    this.crcStart = -1;
    this.crcBad = false;
    this.e = null;
    this.endTDelta = 0;
    this.endLeading = 0;
    this.endTrailing = 0;
    this.endBit = 16;
  }

  /** Points the iterator at new chunk data, as a fresh one. Buffers are kept. */
  reset(b: Uint8Array): void {
    this.resetRange(b, 0, b.length);
  }

  /** Like `reset(b.subarray(start, end))` without creating the view (hot path of block reads). */
  resetRange(b: Uint8Array, start: number, end: number): void {
    this.crcStart = -1;
    this.resetState(b, start, end);
  }

  /**
   * Like `resetRange` for a chunk record as stored in a block segment: `b[start-1]` is
   * the encoding byte and `b[end:end+4)` the big-endian CRC-32C of `b[start-1:end)`.
   * The checksum is checked while decoding loads the chunk (one pass over the bytes
   * instead of two); on a mismatch no sample is returned, `err()` is a ChunkEncodingError
   * and `checksumFailed()` is true — the chunk reader's own checked read then gives the
   * error naming file and offset.
   */
  resetRangeChecked(b: Uint8Array, start: number, end: number): void {
    this.crcStart = start - 1;
    this.resetState(b, start, end);
  }

  /** The last chunk given to `resetRangeChecked` did not match its CRC. */
  checksumFailed(): boolean {
    return this.crcBad;
  }

  private resetState(b: Uint8Array, start: number, end: number): void {
    this.crcBad = false;
    this.data = b;
    this.dataStart = start;
    this.dataEnd = end;
    this.decoded = false;
    this.n = 0;
    this.idx = -1;
    this.e = null;
    this.endTDelta = 0;
    this.endLeading = 0;
    this.endTrailing = 0;
    this.endBit = 16;
  }

  private corrupt(code: string, what: string, k: number, total: number, pos: number): void {
    this.e = new ChunkEncodingError(code, `XOR chunk: ${what} (sample ${k} of ${total}, bit ${pos})`);
  }

  /** Decodes every sample into the arrays. */
  private decode(): void {
    this.decoded = true;
    const data = this.data;
    const ds = this.dataStart;
    const len = this.dataEnd - ds;
    if (len < 2) {
      if (this.crcStart >= 0) {
        let c = ~0;
        for (let p = this.crcStart; p < ds + len; p++) c = (T[(c ^ (data[p] as number)) & 0xff] as number) ^ (c >>> 8);
        const e = ds + len;
        if (~c !== (((data[e] as number) << 24) | ((data[e + 1] as number) << 16) | ((data[e + 2] as number) << 8) | (data[e + 3] as number))) {
          this.crcBad = true;
          this.e = new ChunkEncodingError(ERR_CHUNK_CORRUPT, 'XOR chunk: checksum mismatch');
          return;
        }
      }
      if (len !== 0) this.e = new ChunkEncodingError(ERR_CHUNK_TRUNCATED, `XOR chunk of ${len} bytes has no sample count`);
      return;
    }
    const total = ((data[ds] as number) << 8) | (data[ds + 1] as number);
    if (this.ts.length < total) {
      let cap = this.ts.length;
      while (cap < total) cap *= 2;
      this.ts = new Float64Array(cap);
      this.v64 = new Float64Array(cap);
      this.v32 = new Int32Array(this.v64.buffer);
    }
    // Big-endian 32-bit words of the chunk (count header included, so bit positions are
    // the chunk's), zero-padded: every read below is one `peek` of two word loads.
    const nw = (len + 3) >>> 2;
    if (this.words.length < nw + PAD_WORDS) this.words = new Int32Array(Math.max(2 * this.words.length, nw + PAD_WORDS));
    const W = this.words;
    const fullEnd = ds + (len & ~3);
    let j = 0;
    let q = ds;
    let dv = this.dv;
    if (dv.buffer !== data.buffer) dv = this.dv = new DataView(data.buffer);
    const bo = data.byteOffset;
    if (this.crcStart < 0) {
      for (; q < fullEnd; q += 4) W[j++] = dv.getInt32(bo + q);
      if (q < ds + len) {
        let x = 0;
        for (let sh = 24; q < ds + len; q++, sh -= 8) x |= (data[q] as number) << sh;
        W[j++] = x;
      }
    } else {
      // CRC-32C (slicing by 4) of the encoding byte, then of each word as it is loaded.
      let c = ~0;
      for (let p = this.crcStart; p < ds; p++) c = (T[(c ^ (data[p] as number)) & 0xff] as number) ^ (c >>> 8);
      for (; q < fullEnd; q += 4) {
        const x = dv.getInt32(bo + q);
        W[j++] = x;
        c =
          (T[768 + ((c ^ (x >>> 24)) & 0xff)] as number) ^
          (T[512 + (((c >>> 8) ^ (x >>> 16)) & 0xff)] as number) ^
          (T[256 + (((c >>> 16) ^ (x >>> 8)) & 0xff)] as number) ^
          (T[((c >>> 24) ^ x) & 0xff] as number);
      }
      if (q < ds + len) {
        let x = 0;
        for (let sh = 24; q < ds + len; q++, sh -= 8) {
          const by = data[q] as number;
          x |= by << sh;
          c = (T[(c ^ by) & 0xff] as number) ^ (c >>> 8);
        }
        W[j++] = x;
      }
      if (~c !== dv.getInt32(bo + ds + len)) {
        this.crcBad = true;
        this.e = new ChunkEncodingError(ERR_CHUNK_CORRUPT, 'XOR chunk: checksum mismatch');
        return;
      }
    }
    for (let z = 0; z < PAD_WORDS; z++) W[j + z] = 0;
    const endBits = len * 8;
    const ts = this.ts;
    const v32 = this.v32;

    let pos = 16;
    let t = 0;
    let tDelta = 0;
    let vHi = 0;
    let vLo = 0;
    let leading = 0;
    let trailing = 0;
    /** Significant bits of the current value window (64 - leading - trailing). */
    let sig = 64;
    let k = 0;
    for (; k < total; k++) {
      // `w`: at least the next 31 bits at `pos`, MSB first (bit 31 of the int32 first).
      let w = peek(W, pos);
      if (k >= 2) {
        // Hot path: dod 0 and an unchanged value are two zero bits.
        if (w >>> 30 === 0) {
          pos += 2;
          t += tDelta;
          if (pos > endBits || t > MAX_SAFE || t < -MAX_SAFE) break;
          ts[k] = t;
          v32[2 * k + HI] = vHi;
          v32[2 * k + LO] = vLo;
          continue;
        }
        // Delta-of-delta: 0 | 10+14 | 110+17 | 1110+20 | 1111+64 (two's complement).
        if (w >= 0) {
          pos += 1;
          w <<= 1;
        } else {
          let dod: number;
          if (w << 1 >= 0) {
            const x = (w >>> 16) & 0x3fff;
            pos += 16;
            dod = x > 8192 ? x - 16384 : x;
          } else if (w << 2 >= 0) {
            const x = (w >>> 12) & 0x1ffff;
            pos += 20;
            dod = x > 65536 ? x - 131072 : x;
          } else if (w << 3 >= 0) {
            const x = (w >>> 8) & 0xfffff;
            pos += 24;
            dod = x > 524288 ? x - 1048576 : x;
          } else {
            dod = int64ToNumber(peek(W, pos + 4), peek(W, pos + 36));
            pos += 68;
            if (dod !== dod) {
              this.corrupt(ERR_CHUNK_CORRUPT, 'timestamp delta-of-delta beyond ±2^53', k, total, pos);
              break;
            }
          }
          tDelta += dod;
          w = peek(W, pos);
        }
        t += tDelta;
      } else if (k === 0) {
        // t0: zigzag varint, read byte-wise as Go's binary.ReadVarint.
        let lo = 0;
        let hi = 0;
        let ok = false;
        for (let i = 0; i < 10; i++) {
          const c = peek(W, pos) >>> 24;
          pos += 8;
          const v = c & 0x7f;
          const sh = 7 * i;
          if (sh < 32) {
            lo |= v << sh;
            if (sh > 25) hi |= v >>> (32 - sh);
          } else hi |= v << (sh - 32);
          if (c < 0x80) {
            ok = i < 9 || c <= 1;
            break;
          }
        }
        if (!ok || pos > endBits) {
          this.corrupt(ERR_CHUNK_TRUNCATED, 'bad first timestamp', k, total, pos);
          break;
        }
        // un-zigzag
        const neg = -(lo & 1);
        const h = ((hi >>> 1) ^ neg) | 0;
        const l = (((lo >>> 1) | (hi << 31)) ^ neg) >>> 0;
        t = int64ToNumber(h, l);
        if (t !== t) {
          this.corrupt(ERR_CHUNK_CORRUPT, 'first timestamp beyond ±2^53', k, total, pos);
          break;
        }
        vHi = peek(W, pos);
        vLo = peek(W, pos + 32);
        pos += 64;
        if (pos > endBits) {
          this.corrupt(ERR_CHUNK_TRUNCATED, 'data ends early', k, total, pos);
          break;
        }
        ts[0] = t;
        v32[HI] = vHi;
        v32[LO] = vLo;
        continue;
      } else {
        // t1 - t0: uvarint of a uint64, added as int64.
        let lo = 0;
        let hi = 0;
        let ok = false;
        for (let i = 0; i < 10; i++) {
          const c = peek(W, pos) >>> 24;
          pos += 8;
          const v = c & 0x7f;
          const sh = 7 * i;
          if (sh < 32) {
            lo |= v << sh;
            if (sh > 25) hi |= v >>> (32 - sh);
          } else hi |= v << (sh - 32);
          if (c < 0x80) {
            ok = i < 9 || c <= 1;
            break;
          }
        }
        const d = int64ToNumber(hi, lo);
        if (!ok || pos > endBits) {
          this.corrupt(ERR_CHUNK_TRUNCATED, 'bad timestamp delta', k, total, pos);
          break;
        }
        if (d !== d) {
          this.corrupt(ERR_CHUNK_CORRUPT, 'timestamp delta beyond ±2^53', k, total, pos);
          break;
        }
        tDelta = d;
        t += d;
        w = peek(W, pos);
      }
      // Value: 0 (same) | 10 + window bits | 11 + L:5 + S:6 + S bits.
      if (w < 0) {
        let xh = 0;
        let xl: number;
        if (w << 1 >= 0) {
          // Reuse the window: 29 of w's 31 bits are left after the control bits.
          pos += 2;
          if (sig <= 29) {
            xl = (w << 2) >>> (32 - sig);
          } else if (sig <= 32) {
            xl = peek(W, pos) >>> (32 - sig);
          } else {
            xh = peek(W, pos) >>> (64 - sig);
            xl = peek(W, pos + sig - 32);
          }
        } else {
          const x = (w << 2) >>> 21;
          pos += 13;
          const l = x >>> 6;
          let s = x & 63;
          if (s === 0) s = 64;
          if (l + s > 64) {
            this.corrupt(ERR_CHUNK_CORRUPT, `value window of ${l} leading zeros and ${s} significant bits`, k, total, pos);
            break;
          }
          leading = l;
          trailing = 64 - l - s;
          sig = s;
          if (s <= 18) {
            xl = (w << 13) >>> (32 - s);
          } else if (s <= 32) {
            xl = peek(W, pos) >>> (32 - s);
          } else {
            xh = peek(W, pos) >>> (64 - s);
            xl = peek(W, pos + s - 32);
          }
        }
        pos += sig;
        const tr = trailing;
        if (tr === 0) {
          vHi ^= xh;
          vLo ^= xl;
        } else if (tr < 32) {
          vHi ^= (xh << tr) | (xl >>> (32 - tr));
          vLo ^= xl << tr;
        } else {
          vHi ^= xl << (tr - 32);
        }
      } else {
        pos += 1;
      }
      if (pos > endBits) {
        this.corrupt(ERR_CHUNK_TRUNCATED, 'data ends early', k, total, pos);
        break;
      }
      if (t > MAX_SAFE || t < -MAX_SAFE) {
        this.corrupt(ERR_CHUNK_CORRUPT, 'timestamp beyond ±2^53', k, total, pos);
        break;
      }
      ts[k] = t;
      v32[2 * k + HI] = vHi;
      v32[2 * k + LO] = vLo;
    }
    if (k < total && this.e === null) {
      if (t > MAX_SAFE || t < -MAX_SAFE) this.corrupt(ERR_CHUNK_CORRUPT, 'timestamp beyond ±2^53', k, total, pos);
      else this.corrupt(ERR_CHUNK_TRUNCATED, 'data ends early', k, total, pos);
    }
    this.n = k;
    this.endTDelta = tDelta;
    this.endLeading = leading;
    this.endTrailing = trailing;
    this.endBit = k === 0 ? 16 : pos;
  }

  next(): ValueType {
    if (!this.decoded) this.decode();
    const i = this.idx + 1;
    if (i < this.n) {
      this.idx = i;
      return ValueType.Float;
    }
    this.idx = this.n;
    return ValueType.None;
  }

  seek(t: number): ValueType {
    if (!this.decoded) this.decode();
    let i = this.idx < 0 ? 0 : this.idx;
    const ts = this.ts;
    const n = this.n;
    while (i < n && (ts[i] as number) < t) i++;
    this.idx = i;
    return i < n ? ValueType.Float : ValueType.None;
  }

  atT(): number {
    return this.ts[this.idx] as number;
  }

  atV(): number {
    return this.v64[this.idx] as number;
  }

  /** High 32 bits (uint32) of the current value's IEEE-754 pattern. */
  atVHi(): number {
    return (this.v32[2 * this.idx + HI] as number) >>> 0;
  }

  /** Low 32 bits (uint32) of the current value's IEEE-754 pattern. */
  atVLo(): number {
    return (this.v32[2 * this.idx + LO] as number) >>> 0;
  }

  atStale(): boolean {
    const j = 2 * this.idx;
    return this.v32[j + HI] === STALE_NAN_HI && this.v32[j + LO] === STALE_NAN_LO;
  }

  err(): Error | null {
    // As Go: the error shows once the iterator is exhausted.
    return this.idx >= this.n ? this.e : null;
  }

  /** Timestamp of the chunk's last decoded sample (0 for none); valid after decoding. */
  lastT(): number {
    return this.n > 0 ? (this.ts[this.n - 1] as number) : 0;
  }
  /** Value bits (uint32 halves) of the chunk's last decoded sample. */
  lastVHi(): number {
    return this.n > 0 ? (this.v32[2 * (this.n - 1) + HI] as number) >>> 0 : 0;
  }
  lastVLo(): number {
    return this.n > 0 ? (this.v32[2 * (this.n - 1) + LO] as number) >>> 0 : 0;
  }

  /** Samples returned so far. */
  numRead(): number {
    return this.idx < 0 ? 0 : Math.min(this.idx + 1, this.n);
  }

  /** Encoder state after the chunk's last sample (valid once iteration reached the end). */
  tDeltaState(): number {
    return this.endTDelta;
  }
  leadingState(): number {
    return this.endLeading;
  }
  trailingState(): number {
    return this.endTrailing;
  }
  /** Bit position after the last decoded sample. */
  endBitPos(): number {
    return this.endBit;
  }
}
