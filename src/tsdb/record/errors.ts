/** Record decoding errors. */
export const ERR_RECORD_CORRUPT = 'MM_ERR_RECORD_CORRUPT';

/**
 * A record that does not decode: wrong type byte, truncated, trailing bytes, or an
 * integer beyond 2^53. `offset` is the byte position inside the record. The
 * replay wraps it with the segment and record offset it came from.
 */
export class RecordError extends Error {
  readonly code = ERR_RECORD_CORRUPT;
  /** Record type being decoded (`recordTypeName` gives its name). */
  readonly recordType: number;
  readonly offset: number;
  constructor(recordType: number, offset: number, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RecordError';
    this.recordType = recordType;
    this.offset = offset;
  }
}
