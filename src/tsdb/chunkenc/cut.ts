/**
 * When the head starts a new chunk for a series: Prometheus 2.42's rule from
 * `tsdb/head_append.go` (`memSeries.appendPreprocessor`, `computeChunkEndTime`,
 * `rangeForTimestamp`, `samplesPerChunk = 120`), as pure functions over a small state.
 *
 * Feeding the same in-order samples through `ChunkCutter` yields the same chunk
 * boundaries as Prometheus's head, and therefore as promtool's backfill (which appends
 * into a head whose chunk range is 2 × the block duration, see `promtoolChunkRange`).
 *
 * The rule, for a sample `t` arriving at a series whose open chunk holds `n` samples:
 *
 *   1. no open chunk                    → cut; nextAt = rangeForTimestamp(t, chunkRange)
 *   2. n == 0 (chunk just cut)          → nextAt = rangeForTimestamp(t, chunkRange)
 *   3. n == samplesPerChunk/4 (= 30)    → nextAt = computeChunkEndTime(chunk.minT, chunk.maxT, nextAt)
 *                                          (predicts an end so the rest of the range gets
 *                                          equally full chunks of ~120 samples)
 *   4. t >= nextAt or n >= 2·120 (240)  → cut a new chunk for t (and nextAt as in 1)
 *
 * Integer division is Go's: truncation toward zero, which differs from Math.floor for
 * negative timestamps; `goDiv` reproduces it.
 */

/** Prometheus 2.42 `samplesPerChunk`. */
export const SAMPLES_PER_CHUNK = 120;

/** Prometheus `DefaultBlockDuration` and the default head chunk range: 2h in ms. */
export const DEFAULT_BLOCK_DURATION = 2 * 60 * 60 * 1000;

/** Go's int64 division: truncates toward zero. Assumes b != 0. */
export function goDiv(a: number, b: number): number {
  // `+ 0` turns -0 into 0 so results compare and print like Go ints.
  return Math.trunc(a / b) + 0;
}

/** Upper end of the chunk range containing `t`: `(t/width)*width + width` in Go integer arithmetic. */
export function rangeForTimestamp(t: number, width: number): number {
  return goDiv(t, width) * width + width;
}

/**
 * Go `computeChunkEndTime(start, cur, max)`: given a chunk that started at `start`
 * and whose 30th sample is at `cur`, an end time such that the rest of the range up to
 * `max` is split into chunks of the same duration (at least one).
 */
export function computeChunkEndTime(start: number, cur: number, max: number): number {
  const n = goDiv(max - start, (cur - start + 1) * 4);
  if (n <= 1) return max;
  return start + goDiv(max - start, n);
}

/**
 * The head chunk range promtool's backfill uses: `NewBlockWriter(…, 2*blockDuration)`
 * makes the head's chunk range twice the block duration, so chunks there are cut at
 * 4h boundaries (for the default 2h blocks), not 2h.
 */
export function promtoolChunkRange(blockDuration: number = DEFAULT_BLOCK_DURATION): number {
  return 2 * blockDuration;
}

/**
 * Per-series cut state, mirroring the fields of Go's `memSeries`/`memChunk` that the
 * rule reads. Monomorphic: all fields assigned in the constructor.
 */
export class ChunkCutter {
  /** Head chunk range in ms (2h for a live head; 2 × block duration in promtool's backfill). */
  readonly chunkRange: number;
  /** Whether an open chunk exists. */
  open: boolean;
  /** First and last timestamp of the open chunk. */
  minT: number;
  maxT: number;
  /** Samples in the open chunk. */
  n: number;
  /** Go `memSeries.nextAt`: the time at which the next chunk must start at the latest. */
  nextAt: number;

  constructor(chunkRange: number = DEFAULT_BLOCK_DURATION) {
    this.chunkRange = chunkRange;
    this.open = false;
    this.minT = 0;
    this.maxT = 0;
    this.n = 0;
    this.nextAt = 0;
  }

  /** Forgets the open chunk (e.g. after the head was truncated). */
  reset(): void {
    this.open = false;
    this.minT = 0;
    this.maxT = 0;
    this.n = 0;
    this.nextAt = 0;
  }

  /**
   * Decides for an in-order sample `t` (greater than the last one; the caller rejects
   * out-of-order and duplicate samples first) and records it. Returns true when a new
   * chunk must be started with `t` as its first sample, false when `t` goes into the
   * open chunk.
   */
  add(t: number): boolean {
    let cut = false;
    if (!this.open) {
      cut = true;
    } else {
      const n = this.n;
      if (n === 0) this.nextAt = rangeForTimestamp(t, this.chunkRange);
      if (n === SAMPLES_PER_CHUNK / 4) this.nextAt = computeChunkEndTime(this.minT, this.maxT, this.nextAt);
      if (t >= this.nextAt || n >= SAMPLES_PER_CHUNK * 2) cut = true;
    }
    if (cut) {
      this.open = true;
      this.minT = t;
      this.n = 0;
      this.nextAt = rangeForTimestamp(t, this.chunkRange);
    }
    if (this.n === 0) this.minT = t;
    this.maxT = t;
    this.n++;
    return cut;
  }
}

/**
 * Splits one series' strictly increasing timestamps `ts[0:n)` into head chunks as
 * Prometheus would. Returns the start index of every chunk (first is 0).
 */
export function cutPoints(ts: ArrayLike<number>, n: number = ts.length, chunkRange: number = DEFAULT_BLOCK_DURATION): number[] {
  const c = new ChunkCutter(chunkRange);
  const out: number[] = [];
  for (let i = 0; i < n; i++) if (c.add(ts[i] as number)) out.push(i);
  return out;
}
