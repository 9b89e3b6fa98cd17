/**
 * 64-bit helpers on (hi, lo) uint32 halves, for the places where a double is not enough
 * (STYLE.md §4): float bit patterns, the 64-bit delta-of-delta bucket and the varints at
 * the start of an XOR chunk, which Go encodes from int64/uint64.
 *
 * These live here rather than in tsdb/encoding because only chunk encodings need them.
 */

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
/** Index of the high half in `u32` (platform endianness). */
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;
const LO = 1 - HI;

/** High 32 bits of the IEEE-754 pattern of `v`. */
export function floatHi(v: number): number {
  f64[0] = v;
  return u32[HI] as number;
}

/** Low 32 bits of the IEEE-754 pattern of `v` (call right after `floatHi` for the same value). */
export function floatLo(v: number): number {
  f64[0] = v;
  return u32[LO] as number;
}

/** The double with bits (hi, lo). A NaN payload may be quieted by the engine; keep bits when they matter. */
export function floatFromBits(hi: number, lo: number): number {
  u32[HI] = hi;
  u32[LO] = lo;
  return f64[0] as number;
}

const TWO32 = 4294967296;

/**
 * int64 two's complement (hi as int32 or uint32, lo uint32) to a number;
 * NaN when outside ±(2^53-1), so callers can report corruption instead of rounding.
 */
export function int64ToNumber(hi: number, lo: number): number {
  const h = hi | 0;
  const x = h * TWO32 + (lo >>> 0);
  return x > Number.MAX_SAFE_INTEGER || x < -Number.MAX_SAFE_INTEGER ? NaN : x;
}

/** High half (uint32) of the int64 two's complement of a safe integer. */
export function int64Hi(x: number): number {
  return Math.floor(x / TWO32) >>> 0;
}

/** Low half (uint32) of the int64 two's complement of a safe integer. */
export function int64Lo(x: number): number {
  return (x - Math.floor(x / TWO32) * TWO32) >>> 0;
}

/** Writes Go's `binary.PutUvarint` bytes of the uint64 (hi, lo) at byte `i` of `buf`; returns the index after them. */
export function putUvarint64(buf: Uint8Array, i: number, hi: number, lo: number): number {
  let h = hi >>> 0;
  let l = lo >>> 0;
  while (h !== 0 || l >= 0x80) {
    buf[i++] = (l & 0x7f) | 0x80;
    l = ((l >>> 7) | (h << 25)) >>> 0;
    h >>>= 7;
  }
  buf[i++] = l;
  return i;
}

/** Number of bytes (1–10) `putUvarint64` writes for the uint64 (hi, lo). */
export function uvarint64Len(hi: number, lo: number): number {
  let h = hi >>> 0;
  let l = lo >>> 0;
  let n = 1;
  while (h !== 0 || l >= 0x80) {
    l = ((l >>> 7) | (h << 25)) >>> 0;
    h >>>= 7;
    n++;
  }
  return n;
}

const varintScratch = new Uint8Array(10);

/** Emits the bytes of Go's `binary.PutUvarint` for the uint64 (hi, lo) to `emit`; returns their number (1–10). */
export function uvarint64(hi: number, lo: number, emit: (b: number) => void): number {
  const n = putUvarint64(varintScratch, 0, hi, lo);
  for (let i = 0; i < n; i++) emit(varintScratch[i] as number);
  return n;
}

/** Zigzag (Go `PutVarint`) of int64 (hi, lo): returns [zh, zl] through `out`. */
export function zigzag64(hi: number, lo: number, out: Uint32Array): void {
  const sign = hi >> 31; // all ones for negatives
  out[0] = (((hi << 1) | (lo >>> 31)) ^ sign) >>> 0;
  out[1] = ((lo << 1) ^ sign) >>> 0;
}

/** Counts trailing zeros of a non-zero int32. */
export function ctz32(x: number): number {
  return 31 - Math.clz32(x & -x);
}
