/**
 * Rebuilding the head from the WAL at startup (Prometheus tsdb/head_wal.go
 * `loadWAL`, tsdb/head.go `Init`):
 *
 * ```
 *   wal/checkpoint.N/0000…  ─► records ─┐
 *   wal/N+1 … wal/last      ─► records ─┴─► Series  → getOrCreateWithRef (a ref whose
 *                                                      labels already exist maps onto it)
 *                                          Samples → series.append, t ≥ minValidTime,
 *                                                      out-of-order/duplicates dropped
 *                                          Tombstones → head.tombstones (delete.ts)
 *                                          others  → counted and ignored (exemplars,
 *                                                      metadata, histograms)
 * ```
 *
 * Replay is synchronous (the WAL reader does sync reads of 1 MiB): nothing else runs
 * during startup, and a sync pull loop costs no promise per record. Reading stops at
 * the first corruption; everything before it has been applied, and the error is
 * returned so the caller repairs the log (Prometheus repairs and keeps what was read).
 */
import { NORMAL_NAN_HI, NORMAL_NAN_LO, STALE_NAN_HI, STALE_NAN_LO } from '../../storage/index.js';
import { decodeSamples, decodeSeries, decodeTombstones, RecordError, recordType, RecordType, recordTypeName, SampleBatch, SeriesBatch, TombstoneBatch } from '../record/index.js';
import { CorruptionError, listSegmentsSync, openReader, type SegmentRange } from '../wal/index.js';
import type { Head } from './head.js';
import { AppendResult, type MemSeries } from './mem-series.js';
import { Rejected, replayRejected } from './mmap-load.js';

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;
const LO = 1 - HI;

/** What a replay read and did. */
export interface ReplayStats {
  /** Checkpoint read first (its index), or null. */
  checkpoint: number | null;
  /** WAL segments read after the checkpoint, inclusive; null when none. */
  firstSegment: number | null;
  lastSegment: number | null;
  records: number;
  seriesRecords: number;
  series: number;
  samples: number;
  /** Samples appended to the head. */
  samplesAppended: number;
  /** Samples for refs with no Series record (lost with a corrupt segment, or gc'd). */
  unknownRefSamples: number;
  /** Samples older than the head's minValidTime (already in a block). */
  belowMinValid: number;
  /** Out-of-order or duplicate samples dropped (they are rejected again, as at commit). */
  rejected: number;
  /** Records of types the head does not use (exemplars, metadata, histograms, unknown). */
  ignoredRecords: number;
  /** Tombstone intervals applied to head series (Tombstones records, see delete.ts). */
  tombstones: number;
  /** The corruption that stopped reading, if any; the caller repairs the WAL. */
  corruption: CorruptionError | null;
  durationMs: number;
}

/** Where to read: the newest checkpoint (optional) and the WAL segments after it. */
export interface ReplaySource {
  checkpointDir: string | null;
  checkpointIndex: number | null;
  walDir: string;
  /** First WAL segment to read (checkpoint index + 1, or the first on disk). */
  fromSegment: number;
  /** Last WAL segment to read (inclusive); Infinity = all. */
  toSegment: number;
}

/**
 * Replays `src` into `head`. I/O errors other than corruption throw `WalError`;
 * a corruption stops the replay and is returned in `stats.corruption`.
 */
export function replayWAL(head: Head, src: ReplaySource): ReplayStats {
  const start = performance.now();
  const stats: ReplayStats = {
    checkpoint: src.checkpointIndex,
    firstSegment: null,
    lastSegment: null,
    records: 0,
    seriesRecords: 0,
    series: 0,
    samples: 0,
    samplesAppended: 0,
    unknownRefSamples: 0,
    belowMinValid: 0,
    rejected: 0,
    ignoredRecords: 0,
    tombstones: 0,
    corruption: null,
    durationMs: 0,
  };
  const segs = listSegmentsSync(src.walDir).filter((s) => s.index >= src.fromSegment && s.index <= src.toSegment);
  if (segs.length > 0) {
    stats.firstSegment = (segs[0] as { index: number }).index;
    stats.lastSegment = (segs[segs.length - 1] as { index: number }).index;
  }
  const ranges: SegmentRange[] = [];
  if (src.checkpointDir !== null) ranges.push({ dir: src.checkpointDir });
  ranges.push({ dir: src.walDir, first: src.fromSegment, last: src.toSegment });
  const state = new ReplayState(head, stats);
  const r = openReader(ranges);
  try {
    while (r.next()) {
      try {
        state.record(r.record());
      } catch (e) {
        if (!(e instanceof RecordError)) throw e;
        // CRCs matched but the payload does not decode: treat it like a corrupt record,
        // so the log is cut there (everything before it was applied).
        stats.corruption = new CorruptionError(r.dir(), r.segment(), r.recordOffset() + e.offset, r.recordOffset(), `undecodable ${recordTypeName(e.recordType)} record: ${e.message}`);
        break;
      }
    }
    const e = r.err();
    if (e instanceof CorruptionError) stats.corruption ??= e;
    else if (e !== null && stats.corruption === null) throw e;
  } finally {
    r.close();
  }
  state.finish();
  stats.durationMs = performance.now() - start;
  return stats;
}

/** Per-replay scratch: decode batches reused for every record and the ref remapping. */
class ReplayState {
  private readonly head: Head;
  private readonly stats: ReplayStats;
  private readonly seriesBatch: SeriesBatch;
  private readonly samples: SampleBatch;
  /** WAL refs that name a series created under another ref (same labels). */
  private readonly remap: Map<number, MemSeries>;
  private mint: number;
  private maxt: number;
  private tstones: TombstoneBatch | null;

  constructor(head: Head, stats: ReplayStats) {
    this.head = head;
    this.stats = stats;
    this.seriesBatch = new SeriesBatch(256);
    this.samples = new SampleBatch(4096);
    this.remap = new Map();
    this.tstones = null;
    this.mint = Infinity;
    this.maxt = -Infinity;
  }

  record(rec: Uint8Array): void {
    this.stats.records++;
    switch (recordType(rec)) {
      case RecordType.Series:
        this.series(rec);
        return;
      case RecordType.Samples:
        this.samplesRecord(rec);
        return;
      case RecordType.Tombstones:
        this.tombstonesRecord(rec);
        return;
      default:
        this.stats.ignoredRecords++;
    }
  }

  private series(rec: Uint8Array): void {
    const b = this.seriesBatch;
    decodeSeries(rec, b);
    this.stats.seriesRecords++;
    const h = this.head;
    for (let i = 0; i < b.length; i++) {
      const ref = b.refs[i] as number;
      const s = h.getOrCreateWithRef(ref, b.labels[i]!);
      if (s.ref !== ref) {
        this.remap.set(ref, s);
        // Never hand this ref out again.
        if (ref > h.lastSeriesRef) h.lastSeriesRef = ref;
      }
      this.stats.series++;
    }
    b.reset();
  }

  private samplesRecord(rec: Uint8Array): void {
    const b = this.samples;
    decodeSamples(rec, b);
    const h = this.head;
    const st = this.stats;
    const range = h.opts.chunkRange;
    const arena = h.arena;
    const minValid = h.minValidTime;
    const { refs, ts, vs, stale } = b;
    const n = b.length;
    st.samples += n;
    let last: MemSeries | undefined;
    let lastRef = -1;
    let appended = 0;
    for (let i = 0; i < n; i++) {
      const ref = refs[i] as number;
      let s: MemSeries | undefined;
      if (ref === lastRef) s = last;
      else {
        s = h.series.getByRef(ref) ?? this.remap.get(ref);
        lastRef = ref;
        last = s;
      }
      if (s === undefined) {
        st.unknownRefSamples++;
        continue;
      }
      const t = ts[i] as number;
      if (t < minValid) {
        st.belowMinValid++;
        continue;
      }
      const v = vs[i] as number;
      const isStale = stale[i] === 1;
      let hi: number;
      let lo: number;
      if (isStale) {
        hi = STALE_NAN_HI;
        lo = STALE_NAN_LO;
      } else if (v !== v) {
        hi = NORMAL_NAN_HI;
        lo = NORMAL_NAN_LO;
      } else {
        f64[0] = v;
        hi = u32[HI] as number;
        lo = u32[LO] as number;
      }
      if (s.append(t, hi, lo, isStale, range, arena) === AppendResult.Ok) {
        appended++;
        if (t < this.mint) this.mint = t;
        if (t > this.maxt) this.maxt = t;
      } else {
        // With chunks from chunks_head attached, samples they hold are skipped (mmap-load.ts).
        const r = h.pendingChunks === null ? Rejected.Rejected : replayRejected(h, s, t, hi, lo, isStale, range, arena);
        if (r === Rejected.Appended) {
          appended++;
          if (t < this.mint) this.mint = t;
          if (t > this.maxt) this.maxt = t;
        } else if (r === Rejected.Rejected) st.rejected++;
      }
    }
    st.samplesAppended += appended;
    h.numSamples += appended;
  }

  /**
   * Deleted intervals of head series (Prometheus `loadWAL`): intervals ending below
   * minValidTime are already applied in a block; unknown refs are skipped.
   */
  private tombstonesRecord(rec: Uint8Array): void {
    const b = (this.tstones ??= new TombstoneBatch());
    decodeTombstones(rec, b);
    const h = this.head;
    for (let i = 0; i < b.length; i++) {
      const ref = b.refs[i] as number;
      const maxt = b.maxts[i] as number;
      if (maxt < h.minValidTime) continue;
      const s = h.series.getByRef(ref) ?? this.remap.get(ref);
      if (s === undefined) continue;
      h.tombstones.addInterval(s.ref, { mint: b.mints[i] as number, maxt });
      this.stats.tombstones++;
    }
  }

  finish(): void {
    if (this.mint !== Infinity) this.head.updateMinMaxTime(this.mint, this.maxt);
  }
}

