import type { Labels } from './labels.js';

/**
 * Series reference returned by an appender. 0 means "unknown": pass 0 the first
 * time, then pass back what `append` returned to skip the label lookup. A ref is an
 * optimisation hint only: if it no longer names a series (garbage-collected after a
 * head truncation), the appender falls back to `lset`. Refs fit in 53 bits.
 */
export type SeriesRef = number;

/**
 * One storage transaction. Not safe to share between concurrent tasks; single use:
 * after `commit()` or `rollback()` every call throws `AppenderClosedError`.
 *
 * Contract:
 *  - `lset` must be sorted and valid (`Labels` guarantees sort; names validated by the caller).
 *  - Per-sample problems (`OutOfOrderSampleError`, `DuplicateSampleError`,
 *    `OutOfBoundsError` from `errors.ts`) are thrown synchronously from `append`;
 *    the sample is not part of the transaction, the transaction stays usable.
 *    An identical duplicate (same t, same value bits) is accepted and dropped silently.
 *  - Nothing is visible to queriers, and nothing is durable, until `commit()` resolves.
 *    When `commit()` resolves, every appended sample is in the WAL (fsync policy of the
 *    implementation) and queryable. If `commit()` rejects, nothing of the transaction
 *    is kept.
 *  - `rollback()` discards everything appended.
 */
export interface Appender {
  append(ref: SeriesRef, lset: Labels, t: number, v: number): SeriesRef;
  /** Appends Prometheus's stale marker (StaleNaN bits) at `t`. Same errors as `append`. */
  appendStale(ref: SeriesRef, lset: Labels, t: number): SeriesRef;
  commit(): Promise<void>;
  rollback(): Promise<void>;
}

/** Anything that hands out appenders (the TSDB head, a test store, a fan-out). */
export interface Appendable {
  appender(): Appender;
}
