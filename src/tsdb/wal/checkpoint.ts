/**
 * Checkpoints, as Prometheus's `wlog.Checkpoint`: fold the previous checkpoint
 * and WAL segments `from..to` into `checkpoint.<to>/`, keeping only what the head
 * still needs, so the segments can be deleted.
 *
 *   wal/checkpoint.00000004/   ─┐
 *   wal/00000005 … 00000009    ─┴─► filter ─► wal/checkpoint.00000009.tmp/00000000…
 *                                          ─► fsync files + dir ─► rename to checkpoint.00000009
 *                                          ─► delete checkpoint.00000004
 *
 * The WAL moves bytes only: what to keep is decided by the caller's `filter`,
 * which sees each record and may keep it, drop it or write a shortened copy.
 * `src/tsdb/record/checkpoint-filter.ts` builds Prometheus's filter (series still
 * alive, samples/exemplars with t >= mint, tombstones reaching mint, latest metadata).
 *
 * A read error during a checkpoint is thrown, never repaired: the head would not
 * know which series records were lost (Prometheus does the same).
 */
import { mkdir, readdir, rename, rm, open } from 'node:fs/promises';
import { join } from 'node:path';
import { Encbuf } from '../encoding/index.js';
import { checkpointName, deleteCheckpoints, lastCheckpoint } from './checkpoint-dir.js';
import { WalError } from './errors.js';
import { fsyncDir } from './fsutil.js';
import { WAL } from './log.js';
import { stderrWalLogger, type WalLogger } from './logger.js';
import { openReader } from './reader.js';
import type { SegmentRange } from './segment.js';
import { DEFAULT_SEGMENT_SIZE } from './segment.js';

/**
 * Decides per record: return false to drop it; return true to keep it, written
 * as `out`'s bytes if the filter put any there (a rewritten, smaller record), else
 * unchanged. `out` is reset before every call; `rec` is only valid during the call.
 * `finish`, if present, is called once after the last record and may emit a final
 * record into `out` the same way (e.g. the latest metadata per series).
 */
export type CheckpointFilter = ((rec: Uint8Array, out: Encbuf) => boolean) & {
  finish?: (out: Encbuf) => boolean;
};

export interface CheckpointOptions {
  /** Snappy-compress the checkpoint's records (default true, as the WAL). */
  compress: boolean;
  /** Segment size inside the checkpoint dir. */
  segmentSize: number;
  logger: WalLogger;
}

export function defaultCheckpointOptions(): CheckpointOptions {
  return { compress: true, segmentSize: DEFAULT_SEGMENT_SIZE, logger: stderrWalLogger };
}

/** What a checkpoint did. */
export interface CheckpointStats {
  /** The new checkpoint directory. */
  dir: string;
  /** Its index (= `to`). */
  index: number;
  /** First WAL segment actually read (after the previous checkpoint). */
  fromSegment: number;
  toSegment: number;
  recordsRead: number;
  recordsWritten: number;
  /** Record bytes read (decompressed) and written (before compression). */
  bytesRead: number;
  bytesWritten: number;
  /** Older checkpoints deleted afterwards. */
  deletedCheckpoints: number[];
}

/** Flush the checkpoint writer (and yield to the event loop) every this many record bytes. */
const FLUSH_BYTES = 1 << 20;

/**
 * Writes `checkpoint.<to>` from the last checkpoint plus segments `from..to` of
 * `walDir`; see the file comment. `mint` is informational here (the filter
 * carries its own); it is logged with the result. Throws `WalError` if the
 * segments cannot be read or there is a gap after the last checkpoint.
 */
export async function checkpoint(walDir: string, from: number, to: number, filter: CheckpointFilter, mint: number, opts: Partial<CheckpointOptions> = {}): Promise<CheckpointStats> {
  const o = { ...defaultCheckpointOptions(), ...opts };
  const ranges: SegmentRange[] = [];
  const last = await lastCheckpoint(walDir);
  if (last !== null) {
    if (from > last.index + 1) throw new WalError(`unexpected gap to last checkpoint: expected segment ${last.index + 1}, requested ${from}`);
    // WAL segments up to the last checkpoint are in it already.
    from = last.index + 1;
    ranges.push({ dir: last.dir });
  }
  ranges.push({ dir: walDir, first: from, last: to });

  const cpdir = join(walDir, checkpointName(to));
  const tmp = cpdir + '.tmp';
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  const stats: CheckpointStats = {
    dir: cpdir,
    index: to,
    fromSegment: from,
    toSegment: to,
    recordsRead: 0,
    recordsWritten: 0,
    bytesRead: 0,
    bytesWritten: 0,
    deletedCheckpoints: [],
  };
  let renamed = false;
  try {
    // sync off: the files are fsynced once below, before the rename.
    const cp = await WAL.open(tmp, { compress: o.compress, segmentSize: o.segmentSize, sync: false, logger: o.logger });
    const r = openReader(ranges);
    const out = new Encbuf(64 * 1024);
    let sinceFlush = 0;
    let lastLog: Promise<void> | null = null;
    try {
      while (r.next()) {
        const rec = r.record();
        stats.recordsRead++;
        stats.bytesRead += rec.length;
        out.reset();
        if (!filter(rec, out)) continue;
        const keep = out.len > 0 ? out.get() : rec;
        // log() copies synchronously, so the reader's and `out`'s buffers can be reused at once.
        lastLog = cp.log(keep);
        stats.recordsWritten++;
        stats.bytesWritten += keep.length;
        sinceFlush += keep.length;
        if (sinceFlush >= FLUSH_BYTES) {
          await lastLog; // bounds memory and lets other work run
          sinceFlush = 0;
        }
      }
      const err = r.err();
      if (err !== null) throw new WalError(`checkpoint: read segments: ${err.message}`, { cause: err });
      if (filter.finish !== undefined) {
        out.reset();
        if (filter.finish(out) && out.len > 0) {
          lastLog = cp.log(out.get());
          stats.recordsWritten++;
          stats.bytesWritten += out.len;
        }
      }
      if (lastLog !== null) await lastLog;
    } finally {
      r.close();
      await cp.close();
    }
    for (const name of await readdir(tmp)) {
      const fh = await open(join(tmp, name), 'r+');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
    await fsyncDir(tmp);
    await rm(cpdir, { recursive: true, force: true });
    await rename(tmp, cpdir);
    renamed = true;
    await fsyncDir(walDir);
  } finally {
    if (!renamed) await rm(tmp, { recursive: true, force: true });
  }
  stats.deletedCheckpoints = await deleteCheckpoints(walDir, to);
  o.logger.info(
    { from, to, mint, recordsRead: stats.recordsRead, recordsWritten: stats.recordsWritten, bytesRead: stats.bytesRead, bytesWritten: stats.bytesWritten },
    `wal checkpoint ${checkpointName(to)} written`,
  );
  return stats;
}
