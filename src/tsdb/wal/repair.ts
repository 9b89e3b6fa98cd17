/**
 * Repair after corruption, with Prometheus's `WL.Repair` semantics: no record
 * reaches across segments, so everything before the broken record is kept and
 * everything after it is dropped (later records may depend on lost ones, e.g.
 * samples on a lost series record).
 *
 *   before:  00000003 [rec][rec][rec][ba#d…]   00000004 […]   00000005 (active)
 *   after:   00000003 [rec][rec][rec][000 pad]       (deleted)        (deleted)
 *
 * Where Prometheus re-logs the good records into a fresh copy of the segment, we
 * truncate the file at the broken record's first byte and zero-fill to the page
 * end: the same bytes result, without rewriting the segment.
 */
import { readdir, stat, truncate, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { CorruptionError } from './errors.js';
import { WalError } from './errors.js';
import { fsyncDir } from './fsutil.js';
import type { WalLogger } from './logger.js';
import { PAGE_SIZE, parseSegmentName, segmentName } from './segment.js';

/** What a repair did. */
export interface RepairReport {
  dir: string;
  /** The segment that was cut. */
  segment: number;
  /** New length of the cut segment before zero-padding (= the broken record's offset). */
  cutOffset: number;
  /** Bytes dropped from the cut segment plus the sizes of the deleted segments. */
  droppedBytes: number;
  /** Segments deleted because they came after the corruption. */
  deletedSegments: number[];
  reason: string;
}

/**
 * Cuts `err.segment` of `err.dir` at `err.recordOffset` (zero-padding to the page
 * end) and deletes every later segment in that dir. Works on any segment dir
 * (the WAL or a checkpoint); the caller must not be writing to it (see
 * `WAL.repair`, which handles the active segment). Logs one warning line.
 */
export async function repairSegments(err: CorruptionError, logger: WalLogger): Promise<RepairReport> {
  if (err.segment < 0) throw new WalError('corruption error does not name a segment');
  const names = await readdir(err.dir);
  const deleted: number[] = [];
  let dropped = 0;
  const later = names
    .map((n) => ({ n, i: parseSegmentName(n) }))
    .filter((x) => x.i > err.segment)
    .sort((a, b) => a.i - b.i);
  for (const { n, i } of later) {
    const p = join(err.dir, n);
    dropped += (await stat(p)).size;
    await rm(p, { force: true });
    deleted.push(i);
  }
  const path = join(err.dir, segmentName(err.segment));
  const size = (await stat(path)).size;
  const cut = Math.min(err.recordOffset, size);
  dropped += size - cut;
  await truncate(path, cut);
  const padded = cut % PAGE_SIZE === 0 ? cut : cut + (PAGE_SIZE - (cut % PAGE_SIZE));
  if (padded !== cut) await truncate(path, padded); // extends with zero bytes
  const fh = await open(path, 'r+');
  try {
    await fh.datasync();
  } finally {
    await fh.close();
  }
  await fsyncDir(err.dir);
  const report: RepairReport = { dir: err.dir, segment: err.segment, cutOffset: cut, droppedBytes: dropped, deletedSegments: deleted, reason: err.reason };
  logger.warn(
    {
      dir: err.dir,
      segment: segmentName(err.segment),
      offset: err.offset,
      cutAt: cut,
      droppedBytes: dropped,
      deletedSegments: deleted.map(segmentName).join(',') || 'none',
      reason: err.reason,
    },
    `wal repaired: segment ${segmentName(err.segment)} cut at offset ${cut} (${err.reason}); ${deleted.length} later segment(s) deleted, ${dropped} bytes dropped`,
  );
  return report;
}
