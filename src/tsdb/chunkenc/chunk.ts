/**
 * Chunk contracts and the encoding byte, as Prometheus's `tsdb/chunkenc/chunk.go`.
 *
 * A chunk is an immutable-once-cut run of samples of one series, stored as bytes.
 * The encoding byte is written next to the chunk data in chunk segment files
 * (`chunks/000001`) and in head chunk files, so its values are part of the on-disk
 * format and must never change.
 */
import type { SampleIterator } from '../../storage/index.js';

/** Chunk encodings (the byte stored before the chunk data). */
export const Encoding = {
  None: 0,
  XOR: 1,
  Histogram: 2,
  FloatHistogram: 3,
} as const;
export type Encoding = (typeof Encoding)[keyof typeof Encoding];

/**
 * Out-of-order XOR chunks are tagged 0x81 in Prometheus's head chunk files only
 * (`EncOOOXOR`); block chunk files never hold it. Recognised so head-chunk readers can
 * map it back to XOR.
 */
export const ENC_OOO_XOR = 0x81;

/** Name as Prometheus's `Encoding.String()` ("none", "XOR", "histogram", "floathistogram"). */
export function encodingName(e: number): string {
  switch (e) {
    case Encoding.None:
      return 'none';
    case Encoding.XOR:
      return 'XOR';
    case Encoding.Histogram:
      return 'histogram';
    case Encoding.FloatHistogram:
      return 'floathistogram';
    default:
      return '<unknown>';
  }
}

/** True for the encodings a block chunk file may hold (1, 2, 3). */
export function isValidEncoding(e: number): boolean {
  return e === Encoding.XOR || e === Encoding.Histogram || e === Encoding.FloatHistogram;
}

/**
 * A chunk of samples. `bytes()` is the encoded data exactly as written to disk (without
 * the length, encoding byte and CRC that the segment file adds); it is a view that stays
 * valid until the next append.
 */
export interface Chunk {
  encoding(): Encoding;
  bytes(): Uint8Array;
  numSamples(): number;
  /** An iterator over the samples; `reuse` (an iterator from an earlier call) is reset and returned when possible. */
  iterator(reuse?: SampleIterator | null): SampleIterator;
}

/**
 * Appends float samples to a chunk. Timestamps must be strictly increasing; the chunk
 * layer does not check this (the head does, as in Prometheus). Single owner.
 */
export interface ChunkAppender {
  /** Appends a float. Any NaN is written as Go's `math.NaN()` bits (0x7ff8000000000001), as Prometheus parses "NaN". */
  append(t: number, v: number): void;
  /** Appends Prometheus's stale marker with its exact bits (0x7ff0000000000002). */
  appendStale(t: number): void;
  /** Appends a value given as its raw IEEE-754 bits (high and low 32-bit halves): bit-exact copy, e.g. when re-encoding. */
  appendBits(t: number, hi: number, lo: number): void;
}
