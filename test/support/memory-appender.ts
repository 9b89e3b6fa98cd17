/**
 * In-memory storage for tests and benches: an `Appendable` whose appenders follow
 * the storage contract with Prometheus 2.42 head-appender semantics, and a
 * `Queryable` to read the result back.
 *
 *  - `append` checks each sample against the *committed* state of its series:
 *    t < newest → OutOfOrderSampleError; t == newest with different value bits →
 *    DuplicateSampleError; identical → accepted and silently dropped at commit;
 *    t older than (newest sample in storage − outOfBoundsWindow) → OutOfBoundsError.
 *  - Series are created at `append` time (like the head's getOrCreate), so a ref
 *    stays valid after a rollback.
 *  - `commit()` applies samples in append order; a later sample of the same series
 *    with the same or an older timestamp in the same transaction is dropped (counted
 *    in `commitDropped`), as Prometheus's commit does (first one wins).
 *  - `rollback()` discards the transaction. Using a closed appender throws
 *    `AppenderClosedError`.
 *  - Stale markers are explicit state (`stale` flag per sample), never a NaN payload.
 */
import {
  AppenderClosedError,
  ArrayIterator,
  InvalidLabelsError,
  Labels,
  emptySeriesSet,
  errDuplicateSample,
  errOutOfBounds,
  errOutOfOrderSample,
  float64BitsEqual,
  isValidLabelName,
  type Appendable,
  type Appender,
  type Matcher,
  type Querier,
  type Queryable,
  type SampleIterator,
  type SelectHints,
  type Series,
  type SeriesRef,
  type SeriesSet,
} from '../../src/storage/index.js';

/** One series: labels plus samples as parallel arrays (no object per sample). */
export class MemSeries {
  readonly ref: number;
  readonly lset: Labels;
  readonly ts: number[];
  readonly vs: number[];
  /** 1 = stale marker. */
  readonly stale: number[];
  /** Newest committed timestamp, -Infinity when empty. */
  maxT: number;
  lastV: number;
  lastStale: boolean;

  constructor(ref: number, lset: Labels) {
    this.ref = ref;
    this.lset = lset;
    this.ts = [];
    this.vs = [];
    this.stale = [];
    this.maxT = -Infinity;
    this.lastV = 0;
    this.lastStale = false;
  }
}

export interface MemoryStorageOptions {
  /** Samples older than the newest sample in storage minus this are out of bounds (ms; head: chunkRange/2 = 1h). 0 disables. */
  outOfBoundsWindow: number;
}

export class MemoryStorage implements Appendable, Queryable {
  readonly opts: MemoryStorageOptions;
  private readonly byKey = new Map<string, MemSeries>();
  private readonly byRef: MemSeries[] = [null as unknown as MemSeries];
  /** Newest committed timestamp over all series. */
  maxT = -Infinity;
  /** Committed samples including stale markers. */
  samplesAppended = 0;
  staleMarkersAppended = 0;
  /** Samples dropped at commit (in-transaction duplicates / out of order). */
  commitDropped = 0;
  commits = 0;
  rollbacks = 0;

  constructor(opts: Partial<MemoryStorageOptions> = {}) {
    this.opts = { outOfBoundsWindow: 3600_000, ...opts };
  }

  appender(): Appender {
    return new MemoryAppender(this);
  }

  /** Number of series (including ones whose only appends were rolled back). */
  get numSeries(): number {
    return this.byKey.size;
  }

  /** @internal */
  getOrCreate(lset: Labels): MemSeries {
    const key = lset.key();
    let s = this.byKey.get(key);
    if (s === undefined) {
      validate(lset);
      s = new MemSeries(this.byRef.length, lset);
      this.byRef.push(s);
      this.byKey.set(key, s);
    }
    return s;
  }

  /** @internal */
  byRefOrNull(ref: SeriesRef): MemSeries | null {
    return ref > 0 && ref < this.byRef.length ? (this.byRef[ref] ?? null) : null;
  }

  /** The series with exactly these labels, or undefined. */
  get(lset: Labels): MemSeries | undefined {
    return this.byKey.get(lset.key());
  }

  /** All series (insertion order). */
  all(): MemSeries[] {
    return [...this.byKey.values()];
  }

  /** Test helper: series with samples as `{t, v, stale}` objects (not for hot paths). */
  dump(): Array<{ labels: Record<string, string>; samples: Array<{ t: number; v: number; stale: boolean }> }> {
    return this.all()
      .filter((s) => s.ts.length > 0)
      .map((s) => ({ labels: s.lset.toObject(), samples: s.ts.map((t, i) => ({ t, v: s.vs[i]!, stale: s.stale[i] === 1 })) }));
  }

  querier(mint: number, maxt: number): Querier {
    return new MemoryQuerier(this, mint, maxt);
  }
}

function validate(lset: Labels): void {
  if (lset.length === 0) throw new InvalidLabelsError('empty label set');
  for (let i = 0; i < lset.length; i++) {
    const n = lset.name(i);
    if (!isValidLabelName(n)) throw new InvalidLabelsError(`invalid label name ${JSON.stringify(n)}`);
    if (lset.value(i) === '') throw new InvalidLabelsError(`empty value for ${JSON.stringify(n)}`);
    if (i > 0 && lset.name(i - 1) >= n) throw new InvalidLabelsError(`label name ${JSON.stringify(n)} is not unique or not sorted`);
  }
}

/** Growable struct-of-arrays transaction buffer. */
export class MemoryAppender implements Appender {
  private readonly st: MemoryStorage;
  private closed = false;
  private series: MemSeries[] = [];
  private ts: number[] = [];
  private vs: number[] = [];
  private stale: number[] = [];

  constructor(st: MemoryStorage) {
    this.st = st;
  }

  append(ref: SeriesRef, lset: Labels, t: number, v: number): SeriesRef {
    return this.add(ref, lset, t, v, false);
  }

  appendStale(ref: SeriesRef, lset: Labels, t: number): SeriesRef {
    return this.add(ref, lset, t, NaN, true);
  }

  private add(ref: SeriesRef, lset: Labels, t: number, v: number, stale: boolean): SeriesRef {
    if (this.closed) throw new AppenderClosedError();
    const st = this.st;
    let s = st.byRefOrNull(ref);
    if (s === null) s = st.getOrCreate(lset);
    const w = st.opts.outOfBoundsWindow;
    if (w > 0 && st.maxT !== -Infinity && t < st.maxT - w) throw errOutOfBounds;
    if (t < s.maxT) throw errOutOfOrderSample;
    if (t === s.maxT && !sameValue(s.lastV, s.lastStale, v, stale)) throw errDuplicateSample;
    this.series.push(s);
    this.ts.push(t);
    this.vs.push(v);
    this.stale.push(stale ? 1 : 0);
    return s.ref;
  }

  commit(): Promise<void> {
    if (this.closed) return Promise.reject(new AppenderClosedError());
    this.closed = true;
    const st = this.st;
    for (let i = 0; i < this.series.length; i++) {
      const s = this.series[i]!;
      const t = this.ts[i]!;
      if (t <= s.maxT) {
        st.commitDropped++;
        continue;
      }
      const stale = this.stale[i] === 1;
      s.ts.push(t);
      s.vs.push(this.vs[i]!);
      s.stale.push(stale ? 1 : 0);
      s.maxT = t;
      s.lastV = this.vs[i]!;
      s.lastStale = stale;
      if (t > st.maxT) st.maxT = t;
      st.samplesAppended++;
      if (stale) st.staleMarkersAppended++;
    }
    st.commits++;
    this.release();
    return Promise.resolve();
  }

  rollback(): Promise<void> {
    if (this.closed) return Promise.reject(new AppenderClosedError());
    this.closed = true;
    this.st.rollbacks++;
    this.release();
    return Promise.resolve();
  }

  private release(): void {
    this.series = [];
    this.ts = [];
    this.vs = [];
    this.stale = [];
  }
}

function sameValue(a: number, aStale: boolean, b: number, bStale: boolean): boolean {
  if (aStale || bStale) return aStale === bStale;
  return float64BitsEqual(a, b);
}

class MemoryQuerier implements Querier {
  constructor(
    private readonly st: MemoryStorage,
    private readonly mint: number,
    private readonly maxt: number,
  ) {}

  select(sorted: boolean, hints: SelectHints | null, ...matchers: Matcher[]): SeriesSet {
    const mint = Math.max(this.mint, hints?.start ?? -Infinity);
    const maxt = Math.min(this.maxt, hints?.end ?? Infinity);
    const out: Series[] = [];
    for (const s of this.st.all()) {
      if (!matchers.every((m) => m.matches(s.lset.get(m.name)))) continue;
      let lo = 0;
      while (lo < s.ts.length && s.ts[lo]! < mint) lo++;
      let hi = lo;
      while (hi < s.ts.length && s.ts[hi]! <= maxt) hi++;
      if (hi === lo) continue;
      const ts = s.ts.slice(lo, hi);
      const vs = s.vs.slice(lo, hi);
      const stale = s.stale.slice(lo, hi);
      out.push({ labels: () => s.lset, iterator: (): SampleIterator => new ArrayIterator(ts, vs, stale) });
    }
    if (out.length === 0) return emptySeriesSet;
    if (sorted) out.sort((a, b) => a.labels().compare(b.labels()));
    let i = -1;
    return {
      next: () => ++i < out.length,
      at: () => out[i]!,
      err: () => null,
      warnings: () => [],
    };
  }

  labelValues(name: string, ...matchers: Matcher[]): string[] {
    const vals = new Set<string>();
    for (const s of this.st.all()) {
      if (!matchers.every((m) => m.matches(s.lset.get(m.name)))) continue;
      const v = s.lset.get(name);
      if (v !== '') vals.add(v);
    }
    return [...vals].sort();
  }

  labelNames(...matchers: Matcher[]): string[] {
    const names = new Set<string>();
    for (const s of this.st.all()) {
      if (!matchers.every((m) => m.matches(s.lset.get(m.name)))) continue;
      for (let i = 0; i < s.lset.length; i++) names.add(s.lset.name(i));
    }
    return [...names].sort();
  }

  close(): void {}
}

/**
 * Appendable that only counts: the "scrape side alone" in benches. Returns a
 * stable ref per label set object identity is not needed — the scrape cache passes
 * refs back — so it hands out increasing refs on ref 0 and echoes others.
 */
export class CountingAppendable implements Appendable {
  samples = 0;
  private nextRef = 1;
  private readonly app: CountingAppender;

  constructor() {
    this.app = new CountingAppender(this);
  }

  appender(): Appender {
    this.app.open = true;
    return this.app;
  }

  /** @internal */
  newRef(): number {
    return this.nextRef++;
  }
}

class CountingAppender implements Appender {
  open = false;
  pending = 0;
  constructor(private readonly owner: CountingAppendable) {}
  append(ref: SeriesRef): SeriesRef {
    this.pending++;
    return ref !== 0 ? ref : this.owner.newRef();
  }
  appendStale(ref: SeriesRef): SeriesRef {
    this.pending++;
    return ref !== 0 ? ref : this.owner.newRef();
  }
  commit(): Promise<void> {
    this.owner.samples += this.pending;
    this.pending = 0;
    this.open = false;
    return Promise.resolve();
  }
  rollback(): Promise<void> {
    this.pending = 0;
    this.open = false;
    return Promise.resolve();
  }
}
