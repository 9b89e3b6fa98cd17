import type { Labels } from './labels.js';
import type { Matcher } from './matcher.js';
import type { SampleIterator } from './iterator.js';

/** Optional hints for `select`: the time range actually needed (ms, inclusive). */
export interface SelectHints {
  start: number;
  end: number;
}

/** One series of a query result. `iterator(reuse)` may recycle `reuse` to avoid allocation. */
export interface Series {
  labels(): Labels;
  iterator(reuse?: SampleIterator | null): SampleIterator;
}

/**
 * Pull iterator over series. `next()` then `at()`; after `next()` returns false,
 * check `err()`. A `Series` returned by `at()` stays valid after `next()`.
 */
export interface SeriesSet {
  next(): boolean;
  at(): Series;
  err(): Error | null;
  warnings(): string[];
}

/**
 * Read access to a time range [mint, maxt] (ms, inclusive) of a storage.
 * `select(sorted, …)`: when `sorted` is true the series come ordered by labels
 * (`compareLabels`), which merging needs. Samples outside [mint, maxt] are not returned.
 * `close()` releases what the querier holds (block read references); call it once.
 */
export interface Querier {
  select(sorted: boolean, hints: SelectHints | null, ...matchers: Matcher[]): SeriesSet;
  labelValues(name: string, ...matchers: Matcher[]): string[];
  labelNames(...matchers: Matcher[]): string[];
  close(): void;
}

export interface Queryable {
  querier(mint: number, maxt: number): Querier;
}

class EmptySeriesSet implements SeriesSet {
  next(): boolean {
    return false;
  }
  at(): Series {
    throw new Error('at() on an empty series set');
  }
  err(): Error | null {
    return null;
  }
  warnings(): string[] {
    return [];
  }
}

export const emptySeriesSet: SeriesSet = new EmptySeriesSet();

export function errSeriesSet(err: Error): SeriesSet {
  const s = new EmptySeriesSet();
  s.err = () => err;
  return s;
}
