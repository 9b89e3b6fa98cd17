/** What a sample iterator is positioned on. Small ints: use in switch, no allocation. */
export const ValueType = {
  None: 0,
  Float: 1,
  Histogram: 2,
  FloatHistogram: 3,
} as const;
export type ValueType = (typeof ValueType)[keyof typeof ValueType];

export function valueTypeName(v: ValueType): string {
  switch (v) {
    case ValueType.None:
      return 'none';
    case ValueType.Float:
      return 'float';
    case ValueType.Histogram:
      return 'histogram';
    case ValueType.FloatHistogram:
      return 'floathistogram';
  }
}

/**
 * Pull iterator over the samples of one series, in time order. No objects per sample:
 * `next()` returns a number and `atT()`/`atV()` read fields.
 *
 *  - `next()` advances; returns `ValueType.None` when exhausted or on error (check `err()`).
 *  - `seek(t)` advances to the first sample with timestamp >= t (never backwards; if the
 *    current sample already satisfies it, stays). Returns its type or None.
 *  - `atT()`, `atV()` are valid only after a `next()`/`seek()` that returned Float.
 *  - `atStale()` is true when the current sample is Prometheus's stale marker; `atV()` is NaN then.
 */
export interface SampleIterator {
  next(): ValueType;
  seek(t: number): ValueType;
  atT(): number;
  atV(): number;
  atStale(): boolean;
  err(): Error | null;
}

/** An iterator over nothing. */
export class EmptyIterator implements SampleIterator {
  next(): ValueType {
    return ValueType.None;
  }
  seek(): ValueType {
    return ValueType.None;
  }
  atT(): number {
    return 0;
  }
  atV(): number {
    return 0;
  }
  atStale(): boolean {
    return false;
  }
  err(): Error | null {
    return null;
  }
}

/**
 * Iterator over samples held in parallel arrays (struct of arrays). Used for tests,
 * small in-memory sets and query results. `stale[i]` marks stale markers.
 */
export class ArrayIterator implements SampleIterator {
  private i = -1;
  constructor(
    private readonly ts: ArrayLike<number>,
    private readonly vs: ArrayLike<number>,
    private readonly stale: ArrayLike<boolean | number> | null = null,
    private readonly n: number = ts.length,
  ) {}
  next(): ValueType {
    if (this.i < this.n) this.i++;
    return this.i < this.n ? ValueType.Float : ValueType.None;
  }
  seek(t: number): ValueType {
    if (this.i < 0) this.i = 0;
    while (this.i < this.n && (this.ts[this.i] as number) < t) this.i++;
    return this.i < this.n ? ValueType.Float : ValueType.None;
  }
  atT(): number {
    return this.ts[this.i] as number;
  }
  atV(): number {
    return this.vs[this.i] as number;
  }
  atStale(): boolean {
    return this.stale !== null && !!this.stale[this.i];
  }
  err(): Error | null {
    return null;
  }
}
