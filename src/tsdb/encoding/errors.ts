/**
 * Decoding errors. `offset` is the byte position (within the buffer being decoded)
 * where the problem was found, so callers can report "file X, offset N".
 */
export class EncodingError extends Error {
  readonly code: string;
  constructor(
    code: string,
    message: string,
    readonly offset: number,
  ) {
    super(`${message} at offset ${offset}`);
    this.code = code;
    this.name = 'EncodingError';
  }
}

/** Ran past the end of the buffer. */
export const ERR_INVALID_SIZE = 'MM_ERR_INVALID_SIZE';
/** A uvarint/varint that is malformed or exceeds 64 bits. */
export const ERR_INVALID_VARINT = 'MM_ERR_INVALID_VARINT';
/** A 64-bit integer above 2^53 where a number is expected (see STYLE.md §4). */
export const ERR_UNSAFE_INTEGER = 'MM_ERR_UNSAFE_INTEGER';
/** Checksum mismatch. */
export const ERR_INVALID_CHECKSUM = 'MM_ERR_INVALID_CHECKSUM';
