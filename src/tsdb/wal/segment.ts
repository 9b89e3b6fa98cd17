/**
 * Segment files: names, listing and the layout constants shared by the writer,
 * the reader and repair (src: tsdb/wlog/wlog.go in Prometheus 2.42).
 *
 *   wal/
 *     00000000            segment 0 ─┐ consecutive indexes, `%08d`
 *     00000001            segment 1  │ each a sequence of 32 KiB pages
 *     00000002            active ────┘ (only its last page may be partial)
 *     checkpoint.00000001/00000000   segments 0..1 folded, filtered
 */
import { readdir } from 'node:fs/promises';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { WalError, segmentName } from './errors.js';

export { segmentName };

/** Page size: fragments never cross a page boundary. */
export const PAGE_SIZE = 32 * 1024;
/** Fragment header: type byte, BE16 length, BE32 CRC32C. */
export const RECORD_HEADER_SIZE = 7;
/** Prometheus's `DefaultSegmentSize`. */
export const DEFAULT_SEGMENT_SIZE = 128 * 1024 * 1024;

/** Fragment types (low 3 bits of the type byte). */
export const FragmentType = {
  /** Rest of the page is zeros. */
  PageTerm: 0,
  Full: 1,
  First: 2,
  Middle: 3,
  Last: 4,
} as const;
/** Bit 3 of the type byte: the record's bytes are snappy (block format) compressed. */
export const SNAPPY_MASK = 0x08;
/** Low bits of the type byte that hold the fragment type. */
export const TYPE_MASK = 0x07;

/** One segment file found on disk. */
export interface SegmentRef {
  readonly dir: string;
  readonly index: number;
  readonly path: string;
}

/** A range of segments in one directory (inclusive; `last = Infinity` = to the end). */
export interface SegmentRange {
  dir: string;
  first?: number;
  last?: number;
}

/** Parses a segment name: all digits (Prometheus uses `strconv.Atoi`); other names are not segments. */
export function parseSegmentName(name: string): number {
  if (name.length === 0 || name.length > 15) return -1;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
  }
  return Number(name);
}

function collect(dir: string, names: string[]): SegmentRef[] {
  const refs: SegmentRef[] = [];
  for (const n of names) {
    const i = parseSegmentName(n);
    if (i >= 0) refs.push({ dir, index: i, path: join(dir, n) });
  }
  refs.sort((a, b) => a.index - b.index);
  for (let k = 1; k < refs.length; k++) {
    if ((refs[k - 1] as SegmentRef).index + 1 !== (refs[k] as SegmentRef).index) {
      throw new WalError(`segments are not sequential in ${dir}: ${segmentName((refs[k - 1] as SegmentRef).index)} then ${segmentName((refs[k] as SegmentRef).index)}`);
    }
  }
  return refs;
}

/**
 * Segment files of `dir`, ascending; throws `WalError` when the indexes have a gap
 * (Prometheus refuses such a WAL too: "segments are not sequential").
 */
export async function listSegments(dir: string): Promise<SegmentRef[]> {
  return collect(dir, await readdir(dir));
}

/** Synchronous `listSegments`, for the (synchronous) reader. */
export function listSegmentsSync(dir: string): SegmentRef[] {
  return collect(dir, readdirSync(dir));
}

/** First and last segment index in `dir`, or `{first: -1, last: -1}` when there is none. */
export async function segmentRange(dir: string): Promise<{ first: number; last: number }> {
  const refs = await listSegments(dir);
  if (refs.length === 0) return { first: -1, last: -1 };
  return { first: (refs[0] as SegmentRef).index, last: (refs[refs.length - 1] as SegmentRef).index };
}
