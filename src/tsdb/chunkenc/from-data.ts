/**
 * Chunk construction from stored bytes (Prometheus's `chunkenc.Pool.Get(enc, data)`).
 *
 * Histogram chunks (encodings 2 and 3) are kept as opaque chunks: their bytes and
 * sample count (the same BE16 header) are available, so blocks holding them can be
 * listed, analysed, copied and rewritten unchanged, but their samples cannot be
 * iterated: the iterator reports MM_ERR_CHUNK_UNSUPPORTED_ENCODING. mm-metrics never
 * produces native histograms (the text formats cannot carry them in 2.42).
 */
import type { SampleIterator } from '../../storage/index.js';
import { ValueType } from '../../storage/index.js';
import { Encoding, encodingName } from './chunk.js';
import type { Chunk } from './chunk.js';
import { ChunkEncodingError, ERR_CHUNK_UNSUPPORTED } from './errors.js';
import { XORChunk } from './xor.js';

/** A chunk whose samples this build cannot decode (native histograms). */
export class OpaqueChunk implements Chunk {
  private readonly enc: Encoding;
  private readonly data: Uint8Array;

  constructor(enc: Encoding, data: Uint8Array) {
    this.enc = enc;
    this.data = data;
  }
  encoding(): Encoding {
    return this.enc;
  }
  bytes(): Uint8Array {
    return this.data;
  }
  numSamples(): number {
    const b = this.data;
    return b.length < 2 ? 0 : (((b[0] as number) << 8) | (b[1] as number));
  }
  iterator(): SampleIterator {
    return new ErrIterator(new ChunkEncodingError(ERR_CHUNK_UNSUPPORTED, `cannot iterate ${encodingName(this.enc)} chunks (native histograms are not supported)`));
  }
}

/** An iterator that yields nothing and reports `e`. */
export class ErrIterator implements SampleIterator {
  private readonly e: Error;
  constructor(e: Error) {
    this.e = e;
  }
  next(): ValueType {
    return ValueType.None;
  }
  seek(): ValueType {
    return ValueType.None;
  }
  atT(): number {
    return 0;
  }
  atV(): number {
    return 0;
  }
  atStale(): boolean {
    return false;
  }
  err(): Error | null {
    return this.e;
  }
}

/**
 * The chunk for (encoding byte, data). `data` is wrapped, not copied. Throws
 * ChunkEncodingError for an unknown encoding byte.
 */
export function chunkFromData(enc: number, data: Uint8Array): Chunk {
  switch (enc) {
    case Encoding.XOR:
      return XORChunk.fromBytes(data);
    case Encoding.Histogram:
    case Encoding.FloatHistogram:
      return new OpaqueChunk(enc, data);
    default:
      throw new ChunkEncodingError(ERR_CHUNK_UNSUPPORTED, `unknown chunk encoding ${enc}`);
  }
}
