/**
 * Startup with `chunks_head/`: attach the finished chunks found on disk to the series
 * the WAL replay creates, and let the replay skip what they already hold (Prometheus
 * 2.42 `Head.loadMmappedChunks` + `processWALSamples`).
 *
 * ```
 *  loadHeadChunks   chunks_head/* ──► per series ref: [mint, maxt, ref, size, …]   (pending)
 *                   chunks with maxt < minValidTime are dropped (already in a block);
 *                   a chunk not after its series' previous one = corruption: that file
 *                   and later ones go, the WAL replays them
 *  WAL replay       Series record ─► new series takes its pending chunks (cutMeta)
 *                   sample t ≤ last m-mapped maxt  ─► skipped (already on disk)
 *                   sample older than the first m-mapped chunk (≥ minValidTime) while
 *                   nothing was skipped yet ─► the chunks before are missing (a deleted
 *                   file): the series drops its m-mapped chunks, the WAL rebuilds it
 *  finishHeadChunks last value bits of series whose newest sample is on disk (duplicate
 *                   detection); chunks of series the WAL never named are dropped
 * ```
 */
import { ValueType } from '../../storage/index.js';
import { XORIterator } from '../chunkenc/xor.js';
import { LoadedChunks, refFile, type ChunkDiskMapper, type HeadChunksLogger } from './chunk-disk-mapper.js';
import type { Head } from './head.js';
import { AppendResult, META_STRIDE, metaLen, metaSamples, packSize, type MemSeries } from './mem-series.js';
import type { ChunkArena } from './chunk-arena.js';

/** What loading chunks_head did (part of the DB's replay stats). */
export interface HeadChunksStats {
  /** Chunks read from disk and CRC-checked. */
  chunksLoaded: number;
  /** Chunks attached to series (the rest were below minValidTime or of unknown series). */
  chunksAttached: number;
  /** Samples in attached chunks. */
  samplesAttached: number;
  /** WAL samples skipped because an attached chunk holds them. */
  walSamplesSkipped: number;
  /** Series whose attached chunks were dropped because older WAL samples showed a gap. */
  seriesDetached: number;
  /** Files deleted as corrupt (or after a gap in the numbering). */
  droppedFiles: number[];
  corruption: string | null;
  durationMs: number;
}

/** Chunks waiting for their series during WAL replay, and what the replay needs to know about attached ones. */
export class PendingChunks {
  /** Series ref → cutMeta-shaped array. */
  readonly byRef: Map<number, number[]>;
  /** Ref of a series with attached chunks → maxt of its newest attached chunk. */
  readonly attached: Map<number, number>;
  /** Series refs for which a WAL sample was skipped as already on disk. */
  readonly skipped: Set<number>;
  readonly stats: HeadChunksStats;
  /**
   * Set for a read-only head (no chunk mapper of its own): the read-only mapper the chunks
   * were loaded from. Attached chunks are copied into the head's arena, and
   * `finishHeadChunks` closes it.
   */
  copyFrom: ChunkDiskMapper | null;
  constructor(stats: HeadChunksStats, copyFrom: ChunkDiskMapper | null = null) {
    this.byRef = new Map();
    this.attached = new Map();
    this.skipped = new Set();
    this.stats = stats;
    this.copyFrom = copyFrom;
  }
}

/**
 * Reads every chunks_head file (repairing as Prometheus) and parks the chunks by series
 * ref on `head.pendingChunks` for the WAL replay. Call before `replayWAL`, with
 * `head.minValidTime` set (end of the newest block).
 */
export function loadHeadChunks(head: Head, disk: ChunkDiskMapper, logger: HeadChunksLogger | null): HeadChunksStats {
  // A read-only mapper serves a head that keeps its chunks in memory: copy at attach.
  const copyFrom = disk.readOnly ? disk : null;
  const t0 = performance.now();
  const res = disk.loadAll();
  const stats: HeadChunksStats = {
    chunksLoaded: res.chunks.length,
    chunksAttached: 0,
    samplesAttached: 0,
    walSamplesSkipped: 0,
    seriesDetached: 0,
    droppedFiles: res.droppedFiles,
    corruption: res.corruption?.message ?? null,
    durationMs: 0,
  };
  let pending = new PendingChunks(stats, copyFrom);
  for (;;) {
    const bad = group(res.chunks, head.minValidTime, pending);
    if (bad === null) break;
    // Out of sequence: Prometheus treats it as corruption of that file (DeleteCorrupted).
    const drop = disk.fileNumbers().filter((n) => n >= bad.file);
    disk.deleteFilesFrom(drop);
    res.chunks.dropFrom(bad.file);
    stats.droppedFiles = [...stats.droppedFiles, ...drop];
    stats.corruption = bad.message;
    const what = disk.readOnly ? 'skipped (read-only, not repaired)' : 'deleted';
    logger?.warn({ dir: disk.dir, files: drop.join(','), err: bad.message }, `head chunk files corrupt: ${what} from the first bad one on, the WAL replays their samples`);
    pending = new PendingChunks(stats, copyFrom);
  }
  if (res.maxSeriesRef > head.lastSeriesRef) head.lastSeriesRef = res.maxSeriesRef;
  head.pendingChunks = pending;
  stats.durationMs = performance.now() - t0;
  return stats;
}

/** Groups loaded chunks by series; returns the first out-of-sequence chunk's file, or null. */
function group(chunks: LoadedChunks, minValidTime: number, p: PendingChunks): { file: number; message: string } | null {
  const d = chunks.data;
  const S = LoadedChunks.STRIDE;
  for (let i = 0; i < chunks.length; i++) {
    const o = i * S;
    const maxt = d[o + 3] as number;
    if (maxt < minValidTime) continue;
    const enc = d[o + 6] as number;
    const seriesRef = d[o] as number;
    const ref = d[o + 1] as number;
    const mint = d[o + 2] as number;
    if (enc !== 1) {
      // Histogram or out-of-order chunks: not supported by this head; the WAL holds in-order floats only, so skip.
      continue;
    }
    let arr = p.byRef.get(seriesRef);
    if (arr === undefined) {
      arr = [];
      p.byRef.set(seriesRef, arr);
    } else if ((arr[arr.length - META_STRIDE + 1] as number) >= mint) {
      return { file: refFile(ref), message: `out of sequence m-mapped chunk for series ref ${seriesRef}: last chunk ends at ${arr[arr.length - META_STRIDE + 1]}, next starts at ${mint}` };
    }
    arr.push(mint, maxt, ref, packSize(d[o + 4] as number, d[o + 5] as number));
  }
  return null;
}

/** Called when WAL replay creates series `s`: gives it the chunks loaded for its ref. */
export function attachLoadedChunks(head: Head, s: MemSeries): void {
  const p = head.pendingChunks as PendingChunks;
  const arr = p.byRef.get(s.ref);
  if (arr === undefined || s.numChunks() > 0) return;
  p.byRef.delete(s.ref);
  const src = p.copyFrom;
  if (src !== null) {
    // Read-only head: the bytes go into its arena (the mapper is closed after replay).
    for (let k = 0; k < arr.length; k += META_STRIDE) arr[k + 2] = head.arena.put(src.read(arr[k + 2] as number, metaLen(arr[k + 3] as number)));
  }
  s.cutMeta = arr;
  let n = 0;
  for (let k = 3; k < arr.length; k += META_STRIDE) n += metaSamples(arr[k] as number);
  head.numSamples += n;
  p.stats.chunksAttached += arr.length / META_STRIDE;
  p.stats.samplesAttached += n;
  const maxt = arr[arr.length - META_STRIDE + 1] as number;
  p.attached.set(s.ref, maxt);
  head.updateMinMaxTime(arr[0] as number, maxt);
}

/** What `replayRejected` decided for a WAL sample the series did not take. */
export const Rejected = {
  /** A real rejection (out of order / duplicate in the WAL itself). */
  Rejected: 0,
  /** Already in an m-mapped chunk: skipped. */
  OnDisk: 1,
  /** Older than the m-mapped chunks: they were dropped and the sample appended. */
  Appended: 2,
} as const;

/**
 * A WAL sample that `s.append` refused while chunks from disk are attached: skipped
 * when an m-mapped chunk covers it (t ≤ its newest maxt, Prometheus's rule); when it is
 * older than the first m-mapped chunk and no sample of the series was skipped yet, the
 * m-mapped chunks are incomplete (a lost file): they are dropped and the WAL rebuilds
 * the series from this sample on (the checkpoint keeps every sample ≥ the last
 * truncation, so nothing is lost).
 */
export function replayRejected(head: Head, s: MemSeries, t: number, hi: number, lo: number, stale: boolean, range: number, arena: ChunkArena): number {
  const p = head.pendingChunks as PendingChunks;
  const mmMaxt = p.attached.get(s.ref);
  if (mmMaxt === undefined || t > mmMaxt) return Rejected.Rejected;
  const m = s.cutMeta;
  if (m.length > 0 && t < (m[0] as number) && !p.skipped.has(s.ref) && s.headN === 0 && (m[m.length - META_STRIDE + 1] as number) === mmMaxt) {
    let n = 0;
    for (let k = 0; k < m.length; k += META_STRIDE) {
      n += metaSamples(m[k + 3] as number);
      // copies in a read-only head's arena (no-op for chunks_head locations)
      arena.release(m[k + 2] as number, metaLen(m[k + 3] as number));
    }
    head.numSamples -= n;
    s.cutMeta = [];
    p.attached.delete(s.ref);
    p.stats.seriesDetached++;
    return s.append(t, hi, lo, stale, range, arena) === AppendResult.Ok ? Rejected.Appended : Rejected.Rejected;
  }
  p.skipped.add(s.ref);
  p.stats.walSamplesSkipped++;
  return Rejected.OnDisk;
}

/**
 * After WAL replay: series whose newest sample is in an m-mapped chunk get that
 * sample's value bits (an identical re-append must be dropped, a different one is a
 * duplicate); chunks of series the WAL did not name are forgotten.
 */
export function finishHeadChunks(head: Head): HeadChunksStats | null {
  const p = head.pendingChunks;
  if (p === null) return null;
  head.pendingChunks = null;
  closeCopySource(p);
  const it = new XORIterator(new Uint8Array(0));
  for (const [ref, mmMaxt] of p.attached) {
    const s = head.series.getByRef(ref);
    if (s === undefined || s.headN > 0) continue;
    const m = s.cutMeta;
    const k = m.length - META_STRIDE;
    if (k < 0 || (m[k + 1] as number) !== mmMaxt) continue;
    it.reset(head.arena.read(m[k + 2] as number, metaLen(m[k + 3] as number)));
    while (it.next() === ValueType.Float) {
      s.lastHi = it.atVHi();
      s.lastLo = it.atVLo();
      s.lastStale = it.atStale();
    }
  }
  return p.stats;
}

/** Closes a read-only head's source mapper (after replay, or when the open fails). */
export function closeCopySource(p: PendingChunks | null): void {
  const src = p?.copyFrom ?? null;
  if (src === null || p === null) return;
  p.copyFrom = null;
  src.close();
}

/** Lowest chunks_head file number a live finished chunk is in (Infinity when none): older files may go. */
export function minLiveChunkFile(head: Head): number {
  let min = Infinity;
  for (const s of head.series.values()) {
    const m = s.cutMeta;
    if (m.length === 0) continue;
    const f = refFile(m[2] as number);
    if (f < min) min = f;
  }
  return min;
}
