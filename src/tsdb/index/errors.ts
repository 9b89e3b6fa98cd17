/**
 * Index errors. Reader errors name the file and the byte offset of the section or
 * series that failed; writer errors name what was added out of order.
 */
export class IndexError extends Error {
  readonly code: string;
  readonly file: string;
  readonly offset: number;
  constructor(code: string, file: string, offset: number, message: string, options?: { cause?: unknown }) {
    super(`${file}${offset >= 0 ? ` at offset ${offset}` : ''}: ${message}`, options);
    this.code = code;
    this.file = file;
    this.offset = offset;
    this.name = 'IndexError';
  }
}

/** Wrong magic, unsupported version, file too short, bad TOC. */
export const ERR_INDEX_HEADER = 'MM_ERR_INDEX_HEADER';
/** A section or series does not decode (length, CRC, varints, symbol refs). */
export const ERR_INDEX_CORRUPT = 'MM_ERR_INDEX_CORRUPT';
/** A checksum mismatch in a section or series. */
export const ERR_INDEX_CHECKSUM = 'MM_ERR_INDEX_CHECKSUM';
/** Writer misuse: stage order, unsorted symbols or series, unknown symbol. */
export const ERR_INDEX_WRITER = 'MM_ERR_INDEX_WRITER';

/** Writer error (no file offset). */
export class IndexWriterError extends Error {
  readonly code = ERR_INDEX_WRITER;
  constructor(message: string) {
    super(message);
    this.name = 'IndexWriterError';
  }
}
