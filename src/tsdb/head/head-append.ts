/**
 * The head appender: one storage transaction (Prometheus tsdb/head_append.go
 * `headAppender`).
 *
 * ```
 *  append(ref, lset, t, v)          synchronous, per sample
 *    ├─ t < minValidTime            → OutOfBounds (thrown, counted)
 *    ├─ series by ref, else by labels (created now, as Prometheus does, to get its ref)
 *    ├─ check against committed state: out of order / duplicate → thrown, counted;
 *    │                                 identical duplicate → dropped silently
 *    └─ push (ref, t, v, stale) onto the WAL record batch (struct of arrays) + the series
 *
 *  commit()
 *    ├─ encode a Series record (series never logged before) and a Samples record
 *    ├─ await wal.log(series, samples)          ← durable before anything is applied
 *    │    └─ rejects → nothing applied, error rethrown ("a failed commit keeps nothing")
 *    └─ apply synchronously: every sample re-checked against the state now (another
 *       transaction may have committed meanwhile); late out-of-order / duplicates are
 *       dropped and counted, exactly as Prometheus's Commit does
 * ```
 *
 * The batch arrays come from a small pool on the head and go back on commit/rollback,
 * so a steady scrape loop allocates nothing per sample.
 */
import {
  AppenderClosedError,
  NORMAL_NAN_HI,
  NORMAL_NAN_LO,
  errDuplicateSample,
  errOutOfBounds,
  errOutOfOrderSample,
  STALE_NAN_HI,
  STALE_NAN_LO,
  StorageError,
  type Appender,
  type Labels,
  type SeriesRef,
} from '../../storage/index.js';
import type { Head } from './head.js';
import { AppendResult, type MemSeries } from './mem-series.js';
import { Encbuf } from '../encoding/index.js';
import { encodeSamples, encodeSeries, SampleBatch, SeriesBatch } from '../record/index.js';

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
/** Index of the high half in `u32` (platform endianness). */
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;
const LO = 1 - HI;

/** Commit failed because the WAL write failed; nothing of the transaction was applied. */
export class CommitError extends StorageError {
  constructor(cause: unknown) {
    super('MM_ERR_COMMIT_WAL', `commit: write to WAL: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

/**
 * The samples of one transaction: the WAL record batch (refs, ts, vs, stale as
 * parallel typed arrays, encoded as is) plus the target series of each sample, so
 * commit does not look refs up again.
 */
class TxBatch {
  readonly samples: SampleBatch;
  readonly series: MemSeries[];

  constructor() {
    this.samples = new SampleBatch(64);
    this.series = [];
  }

  /**
   * Empties the batch. `series` keeps its length and capacity: truncating it made V8
   * drop the backing store, so every scrape regrew it (~20 reallocations for 5,000
   * samples). Entries at and beyond `samples.length` are stale: the next transaction
   * overwrites them; until then they only keep series alive that the head dropped.
   */
  clear(): void {
    this.samples.reset();
  }
}

/** Batches kept for reuse; a few suffice (one per concurrent scrape commit). */
const POOL_MAX = 16;
const pool: TxBatch[] = [];

function getBatch(): TxBatch {
  return pool.pop() ?? new TxBatch();
}

function putBatch(b: TxBatch): void {
  b.clear();
  // Very large batches (a bulk import) are not worth keeping.
  if (pool.length < POOL_MAX && b.samples.refs.length <= 1 << 16) pool.push(b);
}

/** Scratch record batch and buffers for encoding; `wal.log` copies synchronously, so one set serves every commit. */
const seriesScratch = new SeriesBatch(64);
/**
 * Series records are big only when many series appear at once (a new target: ~1 MiB
 * for 5,000 series), then small or absent: a buffer grown beyond this is dropped after
 * use instead of staying resident for good.
 */
const SERIES_BUF_KEEP = 64 * 1024;
let seriesBuf = new Encbuf(4096);
const samplesBuf = new Encbuf(16384);

export class HeadAppender implements Appender {
  private readonly head: Head;
  /** Lower bound for this transaction, fixed at its first sample (Prometheus: at creation). */
  private minValidTime: number;
  private batch: TxBatch | null;
  /** Oldest sample time held, for `Head.waitForAppendersBelow`. */
  private mint: number;
  private closed: boolean;
  private donePromise: Promise<void> | null;
  private resolveDone: (() => void) | null;

  constructor(head: Head) {
    this.head = head;
    this.minValidTime = NaN;
    this.batch = null;
    this.mint = Infinity;
    this.closed = false;
    this.donePromise = null;
    this.resolveDone = null;
  }

  /** Oldest sample time this open transaction holds (Infinity when none). */
  pendingMint(): number {
    return this.mint;
  }

  /** Resolves when the transaction is committed or rolled back. */
  done(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.donePromise === null) this.donePromise = new Promise((r) => (this.resolveDone = r));
    return this.donePromise;
  }

  append(ref: SeriesRef, lset: Labels, t: number, v: number): SeriesRef {
    if (v !== v) return this.add(ref, lset, t, v, NORMAL_NAN_HI, NORMAL_NAN_LO, false);
    f64[0] = v;
    return this.add(ref, lset, t, v, u32[HI] as number, u32[LO] as number, false);
  }

  appendStale(ref: SeriesRef, lset: Labels, t: number): SeriesRef {
    return this.add(ref, lset, t, NaN, STALE_NAN_HI, STALE_NAN_LO, true);
  }

  private add(ref: SeriesRef, lset: Labels, t: number, v: number, hi: number, lo: number, stale: boolean): SeriesRef {
    if (this.closed) throw new AppenderClosedError();
    const h = this.head;
    if (this.minValidTime !== this.minValidTime) {
      // Prometheus initialises an empty head's time range from the first sample
      // (initAppender), so the window is anchored there; we anchor this transaction only.
      this.minValidTime = h.isEmpty() ? h.minValidTime : h.appendableMinValidTime();
      if (h.isEmpty() && t - h.opts.chunkRange / 2 > this.minValidTime) this.minValidTime = t - h.opts.chunkRange / 2;
    }
    if (t < this.minValidTime || !Number.isSafeInteger(t) || (h.maxTime !== -Infinity && t > h.maxTime + h.opts.maxFutureMs)) {
      h.metrics.outOfBoundSamples++;
      throw errOutOfBounds;
    }
    let s = ref > 0 ? h.series.getByRef(ref) : undefined;
    if (s === undefined) s = h.getOrCreate(lset);
    switch (s.appendable(t, hi, lo, stale)) {
      case AppendResult.Ok:
        break;
      case AppendResult.IdenticalDuplicate:
        // Accepted and dropped: nothing to log or apply (Prometheus logs it and drops it at commit).
        h.metrics.identicalDuplicates++;
        return s.ref;
      case AppendResult.Duplicate:
        h.metrics.duplicateSamples++;
        throw errDuplicateSample;
      default:
        h.metrics.outOfOrderSamples++;
        throw errOutOfOrderSample;
    }
    let b = this.batch;
    if (b === null) {
      b = getBatch();
      this.batch = b;
      h.openAppenders.add(this);
    }
    if (stale) b.samples.pushStale(s.ref, t);
    else b.samples.push(s.ref, t, v);
    b.series[b.samples.length - 1] = s;
    s.pendingCommit++;
    if (t < this.mint) this.mint = t;
    return s.ref;
  }

  async commit(): Promise<void> {
    if (this.closed) throw new AppenderClosedError();
    this.closed = true;
    const b = this.batch;
    if (b === null) {
      this.finish();
      return;
    }
    const h = this.head;
    const wal = h.opts.wal;
    try {
      if (wal !== null) {
        const seq = ++h.commitSeq;
        const fresh: MemSeries[] = [];
        const n = b.samples.length;
        for (let i = 0; i < n; i++) {
          const s = b.series[i] as MemSeries;
          if (!s.logged && s.logMark !== seq) {
            s.logMark = seq;
            fresh.push(s);
          }
        }
        try {
          samplesBuf.reset();
          encodeSamples(b.samples, samplesBuf);
          if (fresh.length > 0) {
            seriesScratch.reset();
            for (let i = 0; i < fresh.length; i++) seriesScratch.push((fresh[i] as MemSeries).ref, (fresh[i] as MemSeries).lset);
            seriesBuf.reset();
            encodeSeries(seriesScratch, seriesBuf);
            seriesScratch.reset();
            const p = wal.log(seriesBuf.get(), samplesBuf.get());
            if (seriesBuf.buf.length > SERIES_BUF_KEEP) seriesBuf = new Encbuf(4096);
            await p;
          } else {
            await wal.log(samplesBuf.get());
          }
        } catch (e) {
          h.metrics.commitFailures++;
          throw new CommitError(e);
        }
        for (let i = 0; i < fresh.length; i++) (fresh[i] as MemSeries).logged = true;
      }
      this.apply(b);
      h.metrics.commits++;
    } finally {
      for (let i = 0; i < b.samples.length; i++) (b.series[i] as MemSeries).pendingCommit--;
      this.finish();
    }
  }

  /** Applies the logged samples to memory; synchronous so readers never see half of it. */
  private apply(b: TxBatch): void {
    const h = this.head;
    const range = h.opts.chunkRange;
    const arena = h.arena;
    // Truncation may have raised the floor since append(): such samples are dropped.
    const floor = Math.max(this.minValidTime, h.minValidTime);
    let mint = Infinity;
    let maxt = -Infinity;
    let appended = 0;
    const m = h.metrics;
    const { ts, vs, stale } = b.samples;
    const n = b.samples.length;
    for (let i = 0; i < n; i++) {
      const t = ts[i] as number;
      if (t < floor) {
        m.outOfBoundSamples++;
        continue;
      }
      const s = b.series[i] as MemSeries;
      const v = vs[i] as number;
      const st = stale[i] === 1;
      let hi: number;
      let lo: number;
      if (st) {
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
      const r = s.append(t, hi, lo, st, range, arena);
      if (r === AppendResult.Ok) {
        appended++;
        if (t < mint) mint = t;
        if (t > maxt) maxt = t;
      } else if (r === AppendResult.OutOfOrder) m.outOfOrderSamples++;
      else if (r === AppendResult.Duplicate) m.duplicateSamples++;
      else m.identicalDuplicates++;
    }
    m.samplesAppended += appended;
    h.numSamples += appended;
    if (appended > 0) {
      h.updateMinMaxTime(mint, maxt);
      if (h.compactableHook !== null && h.maxTime - h.minTime > (h.opts.chunkRange / 2) * 3) h.compactableHook();
    }
  }

  async rollback(): Promise<void> {
    if (this.closed) throw new AppenderClosedError();
    this.closed = true;
    const b = this.batch;
    if (b !== null) for (let i = 0; i < b.samples.length; i++) (b.series[i] as MemSeries).pendingCommit--;
    this.head.metrics.rollbacks++;
    this.finish();
  }

  private finish(): void {
    if (this.batch !== null) {
      putBatch(this.batch);
      this.batch = null;
      this.head.openAppenders.delete(this);
    }
    this.mint = Infinity;
    if (this.resolveDone !== null) this.resolveDone();
  }
}
