/**
 * Chunk decoding errors. A corrupt chunk is reported through the iterator's `err()`
 * (never thrown from `next()`), naming what was wrong and the bit position.
 */
export class ChunkEncodingError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
    this.name = 'ChunkEncodingError';
  }
}

/** Chunk data ended before `numSamples` samples were decoded. */
export const ERR_CHUNK_TRUNCATED = 'MM_ERR_CHUNK_TRUNCATED';
/** Chunk data is inconsistent (impossible bit window, timestamp beyond ±2^53, …). */
export const ERR_CHUNK_CORRUPT = 'MM_ERR_CHUNK_CORRUPT';
/** An encoding byte this build cannot decode. */
export const ERR_CHUNK_UNSUPPORTED = 'MM_ERR_CHUNK_UNSUPPORTED_ENCODING';
