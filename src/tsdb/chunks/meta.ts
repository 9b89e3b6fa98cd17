/**
 * Chunk metadata and block chunk references (Prometheus `tsdb/chunks/chunks.go`:
 * `Meta`, `BlockChunkRef`).
 *
 * A block chunk ref packs the 0-based index of the segment file in the sorted list of
 * `chunks/` files (file `000001` is 0) with the byte offset of the chunk's length
 * field: `seg << 32 | offset`. We keep it as a number, `seg * 2**32 + offset`, which is
 * exact while seg < 2^21 (2 million 512 MiB files) — unpack with division, never `>>`.
 */
import type { Chunk } from '../chunkenc/index.js';

/**
 * One chunk of a series. `minTime`/`maxTime` are the first and last sample timestamps
 * (both inclusive). `ref` is assigned by `ChunkWriter.writeChunks`; `chunk` is set when
 * writing and by readers that load the data.
 */
export interface ChunkMeta {
  ref: number;
  minTime: number;
  maxTime: number;
  chunk: Chunk | null;
}

const TWO32 = 4294967296;

/** `seg * 2^32 + offset`. */
export function blockChunkRef(seg: number, offset: number): number {
  return seg * TWO32 + offset;
}

/** Segment index (0-based) of a block chunk ref. */
export function chunkRefSeg(ref: number): number {
  return Math.floor(ref / TWO32);
}

/** Byte offset of a block chunk ref within its segment. */
export function chunkRefOffset(ref: number): number {
  return ref % TWO32;
}

/** A ChunkMeta for a chunk built in memory (ref 0 until written). */
export function newChunkMeta(chunk: Chunk, minTime: number, maxTime: number): ChunkMeta {
  return { ref: 0, minTime, maxTime, chunk };
}

/** Chunk segment file magic (`MagicChunks`). */
export const MAGIC_CHUNKS = 0x85bd40dd;
/** Chunk segment format version (`chunksFormatV1`). */
export const CHUNKS_FORMAT_V1 = 1;
/** Magic (4) + version (1) + padding (3). */
export const SEGMENT_HEADER_SIZE = 8;
/** `DefaultChunkSegmentSize`: 512 MiB. */
export const DEFAULT_CHUNK_SEGMENT_SIZE = 512 * 1024 * 1024;
/** Largest length field Prometheus reserves (`MaxChunkLengthFieldSize`, a uvarint of a uint32). */
export const MAX_CHUNK_LENGTH_FIELD_SIZE = 5;
/** The encoding byte. */
export const CHUNK_ENCODING_SIZE = 1;
/** CRC32C after each chunk. */
export const CRC_SIZE = 4;

/** Segment file name for sequence number `i` (1-based): `%06d`. */
export function segmentFileName(i: number): string {
  return String(i).padStart(6, '0');
}
