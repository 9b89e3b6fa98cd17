/**
 * WAL errors. Each class has a stable `code` so callers (the head's replay, the
 * CLI) can branch on it without matching messages.
 *
 * `CorruptionError` is the one that drives repair, like Prometheus's
 * `wlog.CorruptionErr`: it names the directory and segment, the byte `offset`
 * where the bad bytes were found, and `recordOffset`, the first byte of the record
 * that could not be read. Everything before `recordOffset` in that segment (and in
 * every earlier segment) was read intact; repair cuts the segment there.
 */
export const ERR_WAL_CORRUPT = 'MM_ERR_WAL_CORRUPT';
export const ERR_WAL = 'MM_ERR_WAL';
export const ERR_WAL_CLOSED = 'MM_ERR_WAL_CLOSED';

/** A segment could not be read past `offset`; see the file comment. */
export class CorruptionError extends Error {
  readonly code = ERR_WAL_CORRUPT;
  /** Directory holding the segment (the WAL dir or a checkpoint dir). */
  readonly dir: string;
  /** Segment index (file name `%08d`). */
  readonly segment: number;
  /** Byte offset in the segment where the problem was found. */
  readonly offset: number;
  /** Byte offset in the segment of the first record that could not be read (the cut point for repair). */
  readonly recordOffset: number;
  /** What was wrong, e.g. "fragment checksum mismatch". */
  readonly reason: string;

  constructor(dir: string, segment: number, offset: number, recordOffset: number, reason: string) {
    super(`wal corruption in ${dir}/${segmentName(segment)} at offset ${offset} (record starting at ${recordOffset}): ${reason}`);
    this.name = 'CorruptionError';
    this.dir = dir;
    this.segment = segment;
    this.offset = offset;
    this.recordOffset = recordOffset;
    this.reason = reason;
  }
}

/** Any other WAL failure (I/O, layout such as non-sequential segments, bad options). */
export class WalError extends Error {
  readonly code: string;
  constructor(message: string, options?: { cause?: unknown; code?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'WalError';
    this.code = options?.code ?? ERR_WAL;
  }
}

/** `%08d`, Prometheus's `SegmentName` (the format docs' 6 digits are wrong for 2.42). */
export function segmentName(i: number): string {
  return String(i).padStart(8, '0');
}
