/**
 * Errors of the chunk segment files. Each names the file and the byte offset so a
 * corrupt block can be located with a hex dump.
 */
export class ChunkFileError extends Error {
  readonly code: string;
  readonly file: string;
  readonly offset: number;
  constructor(code: string, file: string, offset: number, message: string, options?: { cause?: unknown }) {
    super(`${file}${offset >= 0 ? ` at offset ${offset}` : ''}: ${message}`, options);
    this.code = code;
    this.file = file;
    this.offset = offset;
    this.name = 'ChunkFileError';
  }
}

/** Bad magic, version or a file too short for its header. */
export const ERR_CHUNK_SEGMENT_HEADER = 'MM_ERR_CHUNK_SEGMENT_HEADER';
/** A chunk ref that points to no segment or past the end of one. */
export const ERR_CHUNK_REF = 'MM_ERR_CHUNK_REF';
/** CRC32C of a chunk does not match. */
export const ERR_CHUNK_CHECKSUM = 'MM_ERR_CHUNK_CHECKSUM';
/** The chunks directory or a segment file is missing or unreadable. */
export const ERR_CHUNK_FILE = 'MM_ERR_CHUNK_FILE';
