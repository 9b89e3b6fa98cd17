/**
 * The head: the in-memory, WAL-backed part of the database holding the newest samples
 * (Prometheus tsdb/head.go). Split by concern as Prometheus does:
 *
 *   head.ts         time bounds, stats, series creation, truncation + garbage collection
 *   series-map.ts   label set → series (hashed), ref → series (dense), string interning
 *   postings.ts     label pair → refs, matcher evaluation
 *   mem-series.ts   one series: finished chunks (in the arena) + open chunk, chunk cutting
 *   chunk-arena.ts  shared pages holding finished chunks' bytes
 *   head-append.ts  the Appender transaction (validate → WAL → apply); named so the lint
 *                   rule against importing `app*` (src/app.ts) does not catch it
 *   read.ts         the head querier and its series iterators
 *   replay.ts       rebuilding the head from a WAL checkpoint and segments
 *   block.ts        a time range of the head as block-writer input
 *   lockfile.ts     the data directory's lock file (used by the DB)
 *
 * Lifecycle: `new Head(opts)` → `replayWAL(...)` (optional) → appenders and queriers →
 * `truncateMemory(t)` after each block cut. The WAL is owned by the DB; the head only
 * calls `log` on it.
 *
 * Concurrency: JS runs one task at a time, so the head needs no locks; the only
 * interleaving points are the `await`s in `commit()`. Everything a commit applies to
 * memory is applied synchronously after the WAL write resolves, so a reader never sees
 * half a commit.
 */
import { InvalidLabelsError, type Labels } from '../../storage/index.js';
import { MemPostings } from './postings.js';
import { labelsHash, SeriesMap } from './series-map.js';
import { ChunkArena } from './chunk-arena.js';
import type { ChunkDiskMapper } from './chunk-disk-mapper.js';
import { attachLoadedChunks, minLiveChunkFile, type PendingChunks } from './mmap-load.js';
import { MemSeries } from './mem-series.js';
import { HeadAppender } from './head-append.js';
import { HeadQuerier } from './read.js';
import { MemTombstones } from '../tombstones/index.js';

/** Default block range / head chunk range: 2 h in ms (Prometheus DefaultBlockDuration). */
export const DEFAULT_BLOCK_RANGE = 2 * 60 * 60 * 1000;

/** What the head needs from the write-ahead log: a durable append of whole records. */
export interface HeadWAL {
  /** Writes the records (in order) and resolves once they are durable. */
  log(...records: Uint8Array[]): Promise<void>;
}

export interface HeadOptions {
  /** Chunk range = smallest block range, ms. */
  chunkRange: number;
  /** Where commits are logged; null for a head without WAL (read-only, tests). */
  wal: HeadWAL | null;
  /**
   * Reject samples more than this many ms after the newest head sample as out of bounds.
   * Prometheus 2.42 has no such limit (Infinity, the default); kept as an option because a
   * single far-future sample makes the head cut many empty-ish blocks.
   */
  maxFutureMs: number;
  /**
   * Where finished chunks go (`<dir>/chunks_head`, Prometheus format, see
   * chunk-disk-mapper.ts); null keeps them in memory (heads without a directory:
   * read-only DBs, tests, benchmarks).
   */
  chunkDisk: ChunkDiskMapper | null;
}

export function defaultHeadOptions(): HeadOptions {
  return { chunkRange: DEFAULT_BLOCK_RANGE, wal: null, maxFutureMs: Infinity, chunkDisk: null };
}

/** Counters for the head's metrics (Prometheus headMetrics names in comments). */
export class HeadMetrics {
  /** prometheus_tsdb_head_samples_appended_total */
  samplesAppended = 0;
  /** prometheus_tsdb_out_of_order_samples_total (at append and at commit). */
  outOfOrderSamples = 0;
  /** Samples rejected with ErrDuplicateSampleForTimestamp (counted by the scrape layer in Prometheus). */
  duplicateSamples = 0;
  /** prometheus_tsdb_out_of_bound_samples_total */
  outOfBoundSamples = 0;
  /** Identical duplicates dropped silently. */
  identicalDuplicates = 0;
  /** Label sets rejected as invalid. */
  invalidLabels = 0;
  /** prometheus_tsdb_head_series_created_total */
  seriesCreated = 0;
  /** prometheus_tsdb_head_series_removed_total */
  seriesRemoved = 0;
  /** prometheus_tsdb_head_chunks_removed_total */
  chunksRemoved = 0;
  /** prometheus_tsdb_head_truncations_total */
  truncations = 0;
  /** Open appenders a head cut stopped waiting for (held samples below the cut for too long). */
  abandonedAppenders = 0;
  /** Commits that resolved / rejected, and rollbacks. */
  commits = 0;
  commitFailures = 0;
  rollbacks = 0;
  /** prometheus_tsdb_head_gc_duration_seconds (last run, seconds). */
  lastGcSeconds = 0;
}

/** A snapshot of the head's size and time bounds. */
export interface HeadStats {
  numSeries: number;
  /** Samples currently held in memory. */
  numSamples: number;
  numChunks: number;
  /** Bytes of chunk data (finished chunks + written part of open chunks). */
  chunkBytes: number;
  /** Oldest / newest sample time, ms; null when the head is empty. */
  mint: number | null;
  maxt: number | null;
  /** Appends below this time are out of bounds. */
  minValidTime: number;
}

export class Head {
  readonly opts: HeadOptions;
  readonly series: SeriesMap<MemSeries>;
  readonly postings: MemPostings;
  /** Bytes of every series' finished chunks. */
  readonly arena: ChunkArena;
  readonly metrics: HeadMetrics;
  /** Oldest / newest committed sample time; +Inf / -Inf while empty. */
  minTime: number;
  maxTime: number;
  /** Lower bound for appends (Prometheus head.minValidTime): end of the newest block. */
  minValidTime: number;
  /** Samples currently held (maintained at commit and truncation). */
  numSamples: number;
  /** Last series ref handed out; refs start at 1 and are never reused. */
  lastSeriesRef: number;
  /** Increments per commit; used to collect each new series once per Series record. */
  commitSeq: number;
  /** Open appenders that hold samples, for `waitForAppendersBelow`. */
  readonly openAppenders: Set<HeadAppender>;
  /** Called after a commit leaves the head spanning > 1.5 chunk ranges (the DB schedules a cut). */
  compactableHook: (() => void) | null;
  /** Chunks loaded from chunks_head at startup, by series ref, until WAL replay creates the series (mmap-load.ts). */
  pendingChunks: PendingChunks | null;
  /**
   * Deleted intervals per head series ref (Prometheus `head.tombstones`), filled by
   * `DB.delete` after the Tombstones record is durable and by WAL replay; applied by
   * queries (delete.ts) and head cuts, trimmed by `truncateMemory`.
   */
  readonly tombstones: MemTombstones;

  constructor(opts: Partial<HeadOptions> = {}) {
    this.opts = { ...defaultHeadOptions(), ...opts };
    if (!(this.opts.chunkRange > 0)) throw new RangeError(`head chunk range must be positive, got ${this.opts.chunkRange}`);
    this.series = new SeriesMap();
    this.postings = new MemPostings();
    this.arena = new ChunkArena(1 << 20, this.opts.chunkDisk);
    this.metrics = new HeadMetrics();
    this.minTime = Infinity;
    this.maxTime = -Infinity;
    this.minValidTime = -Infinity;
    this.numSamples = 0;
    this.lastSeriesRef = 0;
    this.commitSeq = 0;
    this.openAppenders = new Set();
    this.compactableHook = null;
    this.pendingChunks = null;
    this.tombstones = new MemTombstones();
  }

  /** True when the head holds no samples. */
  isEmpty(): boolean {
    return this.maxTime === -Infinity;
  }

  /**
   * The lowest time an appender created now accepts (Prometheus
   * `appendableMinValidTime`): half a chunk range behind the newest sample, so the range
   * being compacted never receives appends, and never below the newest block's end.
   */
  appendableMinValidTime(): number {
    return Math.max(this.maxTime - this.opts.chunkRange / 2, this.minValidTime);
  }

  /** A new transaction. */
  appender(): HeadAppender {
    return new HeadAppender(this);
  }

  /** A querier over [mint, maxt] of the head (inclusive, ms). */
  querier(mint: number, maxt: number): HeadQuerier {
    return new HeadQuerier(this, mint, maxt);
  }

  /**
   * The series for `lset`, created (and registered in the postings) when new. Label
   * sets are validated on creation only: non-empty, no empty value, no repeated name.
   * `created` tells the appender to log a Series record.
   */
  getOrCreate(lset: Labels): MemSeries {
    const hash = labelsHash(lset);
    const s = this.series.getByLabels(hash, lset);
    if (s !== undefined) return s;
    validateNewLabels(lset, this.metrics);
    return this.createSeries(++this.lastSeriesRef, this.series.intern(lset), hash);
  }

  /**
   * WAL replay: the series with ref `ref` and labels `lset`. If the labels already exist
   * under another ref (the series was dropped and re-created before a restart), the
   * existing series is returned and the caller maps `ref` onto it.
   */
  getOrCreateWithRef(ref: number, lset: Labels): MemSeries {
    const hash = labelsHash(lset);
    const s = this.series.getByLabels(hash, lset);
    if (s !== undefined) return s;
    if (ref > this.lastSeriesRef) this.lastSeriesRef = ref;
    const ns = this.createSeries(ref, this.series.intern(lset), hash);
    ns.logged = true;
    if (this.pendingChunks !== null) attachLoadedChunks(this, ns);
    return ns;
  }

  private createSeries(ref: number, lset: Labels, hash: number): MemSeries {
    const s = new MemSeries(ref, lset, hash);
    this.series.add(s);
    this.postings.add(ref, lset.pairs);
    this.metrics.seriesCreated++;
    return s;
  }

  /** Widens the head's time bounds after a commit applied samples in [mint, maxt]. */
  updateMinMaxTime(mint: number, maxt: number): void {
    if (mint < this.minTime) this.minTime = mint;
    if (maxt > this.maxTime) this.maxTime = maxt;
  }

  /**
   * Resolves once no open appender holds a sample older than `maxt` (Prometheus
   * `WaitForAppendersOverlapping`), so a block cut of [.., maxt) cannot miss a commit
   * in flight. Gives up after `timeoutMs`; such late samples are then rejected as out of
   * bounds at their commit, and the appenders that held it up are no longer waited for
   * (an abandoned, never-committed appender must not delay every later cut).
   */
  async waitForAppendersBelow(maxt: number, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      let blocking: HeadAppender | null = null;
      for (const a of this.openAppenders) {
        if (a.pendingMint() < maxt) {
          blocking = a;
          break;
        }
      }
      if (blocking === null) return;
      const left = deadline - Date.now();
      if (left <= 0) {
        for (const a of [...this.openAppenders]) {
          if (a.pendingMint() < maxt) {
            this.openAppenders.delete(a);
            this.metrics.abandonedAppenders++;
          }
        }
        return;
      }
      await Promise.race([blocking.done(), new Promise((r) => setTimeout(r, Math.min(left, 1000)).unref())]);
    }
  }

  /**
   * Drops everything older than `mint` from memory after a block covering it was written
   * (Prometheus `truncateMemory` + `gc`): chunks whose newest sample is older than
   * `mint`, then series left without chunks and without a pending commit. Raises
   * `minValidTime` to `mint` so no append can land in the persisted range again.
   * Returns the refs of removed series (the WAL checkpoint keeps their Series records
   * only while segments may still reference them).
   */
  truncateMemory(mint: number): number[] {
    const start = performance.now();
    if (mint > this.minValidTime) this.minValidTime = mint;
    const deleted = new Map<number, readonly string[]>();
    let actualMint = Infinity;
    let removedChunks = 0;
    let removedSamples = 0;
    const arena = this.arena;
    for (const s of this.series.values()) {
      const before = s.numChunks();
      removedSamples += s.truncateChunksBefore(mint, arena);
      removedChunks += before - s.numChunks();
      if (s.numChunks() === 0 && s.pendingCommit === 0) {
        deleted.set(s.ref, s.lset.pairs);
        continue;
      }
      const m = s.minTime();
      if (m < actualMint) actualMint = m;
    }
    for (const ref of deleted.keys()) this.series.remove(this.series.getByRef(ref) as MemSeries);
    this.postings.delete(deleted);
    // chunks_head files no live chunk is in go (a new file is cut first), as Prometheus.
    const disk = this.opts.chunkDisk;
    if (disk !== null) disk.truncate(minLiveChunkFile(this));
    // Tombstones of removed series go, and intervals wholly below the cut (Prometheus gc).
    for (const ref of deleted.keys()) this.tombstones.deleteRef(ref);
    this.tombstones.truncateBefore(mint);
    if (deleted.size > 0) {
      this.series.trim();
      this.series.rebuildStrings();
    }
    this.numSamples -= removedSamples;
    this.metrics.chunksRemoved += removedChunks;
    this.metrics.seriesRemoved += deleted.size;
    this.metrics.truncations++;
    if (this.series.size === 0 || actualMint === Infinity) {
      this.minTime = Infinity;
      this.maxTime = -Infinity;
    } else {
      this.minTime = Math.max(this.minTime, mint);
      if (actualMint > this.minTime) {
        // Data starts later than the cut: the head's range starts there (Prometheus
        // truncateMemory), but never above what appenders may still write.
        const amvt = this.appendableMinValidTime();
        this.minTime = Math.min(actualMint, amvt);
        if (this.minTime > this.minValidTime) this.minValidTime = this.minTime;
      }
    }
    this.metrics.lastGcSeconds = (performance.now() - start) / 1000;
    return [...deleted.keys()];
  }

  stats(): HeadStats {
    let numChunks = 0;
    let chunkBytes = 0;
    for (const s of this.series.values()) {
      numChunks += s.numChunks();
      chunkBytes += s.chunkBytes();
    }
    return {
      numSeries: this.series.size,
      numSamples: this.numSamples,
      numChunks,
      chunkBytes,
      mint: this.isEmpty() ? null : this.minTime,
      maxt: this.isEmpty() ? null : this.maxTime,
      minValidTime: this.minValidTime,
    };
  }
}

function validateNewLabels(lset: Labels, metrics: HeadMetrics): void {
  const p = lset.pairs;
  if (p.length === 0) {
    metrics.invalidLabels++;
    throw new InvalidLabelsError('empty label set');
  }
  for (let i = 0; i < p.length; i += 2) {
    if (p[i + 1] === '') {
      metrics.invalidLabels++;
      throw new InvalidLabelsError(`label ${JSON.stringify(p[i])} has an empty value`);
    }
    if (i > 0 && p[i] === p[i - 2]) {
      metrics.invalidLabels++;
      throw new InvalidLabelsError(`label name ${JSON.stringify(p[i])} is not unique`);
    }
  }
}
