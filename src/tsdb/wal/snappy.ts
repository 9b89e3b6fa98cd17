/**
 * Snappy **block** format (Go `snappy.Encode`/`Decode`, not the framed stream),
 * which is what Prometheus writes into compressed WAL fragments.
 *
 * Decoding is done here in JS, into a caller-owned buffer, so replay does not
 * allocate per record (the native binding returns a fresh Buffer per call).
 * Encoding uses the native `snappy` package (napi-rs, raw block format): any valid
 * block decodes the same, so its output need not match Go's byte for byte.
 *
 * Block layout: uvarint(decodedLength), then elements, each starting with a tag
 * byte whose low 2 bits select the element:
 *   00 literal   len-1 in tag>>2 (<60), or in the next 1..4 LE bytes (tag>>2 = 60..63)
 *   01 copy      len 4..11 = 4 + ((tag>>2)&7), offset 11 bits: (tag>>5)<<8 | next byte
 *   10 copy      len 1..64 = 1 + (tag>>2), offset LE16
 *   11 copy      len 1..64 = 1 + (tag>>2), offset LE32
 * A copy repeats `len` bytes starting `offset` bytes back; it may overlap itself.
 */
import { compressSync } from 'snappy';

/** Decoded length from the block preamble, or -1 if the preamble is malformed. */
export function snappyDecodedLength(src: Uint8Array, start: number, end: number): number {
  let n = 0;
  let mul = 1;
  for (let p = start; p < end && p < start + 5; p++) {
    const c = src[p] as number;
    n += (c & 0x7f) * mul;
    if (c < 0x80) return n > 0xffffffff ? -1 : n;
    mul *= 128;
  }
  return -1;
}

/**
 * Decodes `src[start:end)` into `dst` (which must hold at least
 * `snappyDecodedLength` bytes). Returns the decoded length, or -1 when the block
 * is malformed (bad tag, copy before the start, length mismatch): never throws.
 */
export function snappyDecode(src: Uint8Array, start: number, end: number, dst: Uint8Array): number {
  // Preamble.
  let n = 0;
  let mul = 1;
  let p = start;
  for (;;) {
    if (p >= end || p >= start + 5) return -1;
    const c = src[p++] as number;
    n += (c & 0x7f) * mul;
    if (c < 0x80) break;
    mul *= 128;
  }
  if (n > dst.length) return -1;
  let d = 0;
  while (p < end) {
    const tag = src[p++] as number;
    let len: number;
    let off: number;
    switch (tag & 3) {
      case 0: {
        len = tag >>> 2;
        if (len >= 60) {
          const nb = len - 59;
          if (p + nb > end) return -1;
          len = src[p] as number;
          if (nb > 1) len |= (src[p + 1] as number) << 8;
          if (nb > 2) len |= (src[p + 2] as number) << 16;
          if (nb > 3) len = (len | ((src[p + 3] as number) << 24)) >>> 0;
          p += nb;
        }
        len += 1;
        if (p + len > end || d + len > n) return -1;
        if (len < 16) {
          for (let i = 0; i < len; i++) dst[d + i] = src[p + i] as number;
        } else {
          dst.set(src.subarray(p, p + len), d);
        }
        d += len;
        p += len;
        continue;
      }
      case 1:
        if (p >= end) return -1;
        len = 4 + ((tag >>> 2) & 7);
        off = ((tag >>> 5) << 8) | (src[p++] as number);
        break;
      case 2:
        if (p + 2 > end) return -1;
        len = 1 + (tag >>> 2);
        off = (src[p] as number) | ((src[p + 1] as number) << 8);
        p += 2;
        break;
      default:
        if (p + 4 > end) return -1;
        len = 1 + (tag >>> 2);
        off = ((src[p] as number) | ((src[p + 1] as number) << 8) | ((src[p + 2] as number) << 16) | ((src[p + 3] as number) << 24)) >>> 0;
        p += 4;
        break;
    }
    if (off === 0 || off > d || d + len > n) return -1;
    if (off >= len && len >= 16) {
      dst.copyWithin(d, d - off, d - off + len);
    } else {
      // Overlapping (or short) copy: byte by byte, which repeats the pattern as the format intends.
      for (let i = 0; i < len; i++) dst[d + i] = dst[d - off + i] as number;
    }
    d += len;
  }
  return d === n ? n : -1;
}

/** Snappy block encoding of `src` (a new Buffer). */
export function snappyEncode(src: Uint8Array): Uint8Array {
  return compressSync(src);
}
