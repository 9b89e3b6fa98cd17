/**
 * The scrape core: one exposition body → one storage transaction (Prometheus
 * scrape.go `scrapeLoop.append` and `checkAddError`). No I/O here, so it is tested
 * directly with bytes (`append(body, contentType, ts)`), and benchmarked alone.
 *
 * Hot path (a series already in the cache), per sample:
 *   parser.next() → parser.series() bytes → cache.get(bytes) (hash + byte compare)
 *   → app.append(ref, cachedLabels, t, v) → mark seen for staleness.
 * No string is decoded and no label set is built; labels are parsed only on a miss.
 */
import { Labels, OutOfBoundsError, OutOfOrderSampleError, DuplicateSampleError } from '../storage/index.js';
import type { Appender, SeriesRef } from '../storage/index.js';
import { Entry, type Parser } from '../textparse/parser.js';
import { ParseError } from '../textparse/errors.js';
import { ScrapeCache, hashLabelPairs } from './cache.js';
import { ScrapeError, ScrapeErrorCode } from './errors.js';
import { ExposedLabels, SampleLabels, checkSeries, mutateSampleLabels, type LabelLimits } from './labels.js';

/** Builds the parser for a body from the response Content-Type (textparse's `newParser`). */
export type ParserFactory = (body: Uint8Array, contentType: string) => Parser;

/** Samples more than this far in the future (relative to the appender) are out of bounds (`maxAheadTime`). */
export const MAX_AHEAD_TIME = 10 * 60 * 1000;

/** What one `append` did; one instance reused per loop (fixed shape). */
export class AppendResult {
  /** Sample lines parsed (`scrape_samples_scraped`). */
  total = 0;
  /** Samples passed to the appender (`scrape_samples_post_metric_relabeling`). */
  added = 0;
  /** New series texts appended before any limit error (`scrape_series_added`). */
  seriesAdded = 0;
  /** Samples dropped as out of order / duplicate / out of bounds (scrape not failed). */
  outOfOrder = 0;
  duplicates = 0;
  outOfBounds = 0;
  /** Stale markers appended for series that disappeared. */
  staleMarkers = 0;
  /** Non-null when the whole scrape must be rolled back. */
  err: ScrapeError | null = null;

  reset(): void {
    this.total = 0;
    this.added = 0;
    this.seriesAdded = 0;
    this.outOfOrder = 0;
    this.duplicates = 0;
    this.outOfBounds = 0;
    this.staleMarkers = 0;
    this.err = null;
  }
}

/** The per-target settings `append` needs (subset of ScrapeConfig). */
export interface AppendOptions extends LabelLimits {
  honorLabels: boolean;
  honorTimestamps: boolean;
  sampleLimit: number;
}

const EMPTY = new Uint8Array(0);

/**
 * Optional parser extension (textparse's parsers have it): the current series' byte
 * range in the body, so the hot path needs no `subarray` object per sample.
 */
interface SeriesOffsets {
  seriesStartOffset(): number;
  seriesEndOffset(): number;
}

function seriesOffsets(p: Parser): (Parser & SeriesOffsets) | null {
  const q = p as Parser & Partial<SeriesOffsets>;
  return typeof q.seriesStartOffset === 'function' && typeof q.seriesEndOffset === 'function' ? (q as Parser & SeriesOffsets) : null;
}

/**
 * Optional parser extension (textparse's 0.0.4 parser has it): told which cached
 * series is expected next (the cache's scrape-order prediction), the parser compares
 * those bytes in place and, on a match, skips tokenizing the label list; the cache
 * entry is then known without a lookup. Outputs are identical either way.
 */
interface ExpectSeries {
  expectSeries(view: DataView, off: number, len: number): void;
  seriesMatchedExpected(): boolean;
}

function expectSeries(p: Parser): (Parser & ExpectSeries) | null {
  const q = p as Parser & Partial<ExpectSeries>;
  return typeof q.expectSeries === 'function' && typeof q.seriesMatchedExpected === 'function' ? (q as Parser & ExpectSeries) : null;
}

/**
 * Appends expositions of one target. Owns the target's `ScrapeCache`; one scrape at
 * a time (the loop serialises scrapes).
 */
export class ExpositionAppender {
  readonly cache: ScrapeCache;
  private readonly targetLabels: Labels;
  private readonly opts: AppendOptions;
  private readonly newParser: ParserFactory;
  private readonly exposed: ExposedLabels;
  private readonly final: SampleLabels;
  /** Bound once: `forEachStale` callback state (no closure per scrape). */
  private staleApp: Appender | null;
  private staleT: number;
  private staleRes: AppendResult | null;
  private readonly onStale: (lset: Labels) => boolean;

  constructor(targetLabels: Labels, opts: AppendOptions, newParser: ParserFactory, cache: ScrapeCache = new ScrapeCache()) {
    this.cache = cache;
    this.targetLabels = targetLabels;
    this.opts = opts;
    this.newParser = newParser;
    this.exposed = new ExposedLabels();
    this.final = new SampleLabels();
    this.staleApp = null;
    this.staleT = 0;
    this.staleRes = null;
    this.onStale = (lset) => this.appendStale(lset);
  }

  /**
   * Parses `body` and appends every sample to `app` at `defTime` (ms) unless the
   * sample carries its own timestamp and honor_timestamps is on; then appends stale
   * markers for series that disappeared. On `out.err` the caller must roll `app`
   * back and call `append` again with an empty body (Prometheus does exactly this to
   * write stale markers for a failed scrape). A failed fetch is an empty body with no
   * Content-Type; a successful empty 0.0.4 body is an empty exposition (up=1, every
   * series goes stale) and an empty OpenMetrics body a parse error, as in 2.42.
   */
  append(app: Appender, body: Uint8Array, contentType: string, defTime: number, out: AppendResult): void {
    out.reset();
    const cache = this.cache;
    const opts = this.opts;
    const honorTimestamps = opts.honorTimestamps;
    const sampleLimit = opts.sampleLimit;
    const maxT = Date.now() + MAX_AHEAD_TIME;
    let limited = 0;
    let sampleLimitHit = false;
    let err: ScrapeError | null = null;
    // An empty body is parsed like any other (OpenMetrics rejects it: no `# EOF`);
    // only the re-append after a failure (no Content-Type) skips the parser, whose
    // 0.0.4 fallback would find nothing in it.
    const p = body.length === 0 && contentType === '' ? null : this.newParser(body, contentType);
    const po = p === null ? null : seriesOffsets(p);
    const px = po === null ? null : expectSeries(p as Parser);
    // Cache entry predicted for the next sample line (-1: none).
    let pe = -1;

    if (p !== null) {
      for (;;) {
        let et: Entry;
        if (px !== null) {
          pe = cache.predicted();
          if (pe >= 0) px.expectSeries(cache.keyView(), cache.keyOffset(pe), cache.keyLength(pe));
        }
        try {
          et = p.next();
        } catch (e) {
          err = parseFailure(e);
          break;
        }
        if (et === Entry.EOF) break;
        if (et !== Entry.Series) continue;
        out.total++;

        let t = defTime;
        let explicit = false;
        if (honorTimestamps && p.hasTimestamp()) {
          t = p.timestamp();
          explicit = true;
        }
        // The series bytes as exposed: body[ms, me) or a view from the parser.
        let mb: Uint8Array;
        let ms: number;
        let me: number;
        if (po !== null) {
          mb = body;
          ms = po.seriesStartOffset();
          me = po.seriesEndOffset();
        } else {
          mb = p.series();
          ms = 0;
          me = mb.length;
        }
        const ce = pe >= 0 && (px as ExpectSeries).seriesMatchedExpected() ? cache.hit(pe) : cache.get(mb, ms, me);
        let ref: SeriesRef = 0;
        let lset: Labels;
        let staleId: number;
        let dup = '';
        if (ce >= 0) {
          ref = cache.ref(ce);
          lset = cache.lset(ce);
          staleId = cache.staleId(ce);
        } else {
          const ex = this.exposed;
          try {
            p.labels(ex);
          } catch (e) {
            err = parseFailure(e);
            break;
          }
          ex.addEmptyFromRaw(mb, ms, me);
          ex.sort();
          const hash = hashLabelPairs(ex.names, ex.values, ex.n);
          const fin = this.final;
          mutateSampleLabels(ex, this.targetLabels, opts.honorLabels, fin);
          err = checkSeries(fin, mb.subarray(ms, me), opts);
          if (err !== null) break;
          dup = fin.dup;
          if (dup !== '') {
            // Never stored, never cached, never tracked: fails below at the append,
            // unless the sample limit or the time window rejects it first. (Past the
            // sample limit 2.42 does track it; its stale marker later fails the head
            // append, and with it every following scrape: the target stays down until
            // a restart — observed side by side, deliberately not reproduced.)
            lset = Labels.EMPTY;
            staleId = -1;
          } else {
            lset = fin.toLabels();
            // Past the sample limit the scrape is lost anyway. Prometheus still tracks such
            // new series for staleness (so a later scrape would write stale markers for
            // series never stored); we only keep tracking ids that already exist, which
            // bounds memory by the limit when a target suddenly exposes millions of series.
            staleId = sampleLimit > 0 && limited >= sampleLimit ? cache.findStaleId(hash) : cache.staleIdFor(hash, lset);
          }
        }

        // limitAppender, then timeLimitAppender, then the storage appender.
        const v = p.value();
        let ok = false;
        let newRef: SeriesRef = 0;
        if (sampleLimit > 0 && ++limited > sampleLimit) {
          // Keep parsing so scrape_samples_scraped is right; the scrape fails below.
          sampleLimitHit = true;
        } else if (t > maxT) {
          out.outOfBounds++;
        } else if (dup !== '') {
          // The head appender's check (2.42 headAppender.Append), after its own
          // out-of-bounds check, which this storage cannot be asked about without
          // appending: a repeated name with a sample older than the head's window fails
          // the scrape here, where 2.42 would only count it out of bounds.
          err = new ScrapeError(ScrapeErrorCode.InvalidLabels, `label name ${JSON.stringify(dup)} is not unique: invalid sample`);
          break;
        } else {
          try {
            newRef = app.append(ref, lset, t, v);
            ok = true;
          } catch (e) {
            if (e instanceof OutOfOrderSampleError) out.outOfOrder++;
            else if (e instanceof DuplicateSampleError) out.duplicates++;
            else if (e instanceof OutOfBoundsError) out.outOfBounds++;
            else {
              err = storageFailure(e);
              break;
            }
          }
        }

        if (ce >= 0) {
          if (ok) {
            if (!explicit) cache.trackStaleness(staleId);
            cache.setRef(ce, newRef);
          }
        } else {
          // As Prometheus: a new series is tracked for staleness even when its append
          // failed, and cached only when storage gave it a ref.
          if (!explicit && staleId >= 0) cache.trackStaleness(staleId);
          cache.add(mb, ms, me, newRef, lset, staleId);
          if (ok && !sampleLimitHit) out.seriesAdded++;
        }
        out.added++;
      }
    }
    if (sampleLimitHit && err === null) err = new ScrapeError(ScrapeErrorCode.SampleLimit, 'sample limit exceeded');
    if (err === null) {
      this.staleApp = app;
      this.staleT = defTime;
      this.staleRes = out;
      cache.forEachStale(this.onStale);
      this.staleApp = null;
      this.staleRes = null;
      err = out.err;
    }
    out.err = err;
    // Only a non-empty scrape (a successful fetch) may drop cache entries. On failure
    // the generation stays open: series tracked by the failed attempt still count as
    // seen for the empty re-append that follows, so they get no stale marker at this
    // scrape. Prometheus 2.42 does exactly this (checked side by side in
    // test/scrape/prometheus-compat.test.ts: parse_error, sample_limit).
    if (err === null) cache.iterDone(body.length > 0);
  }

  /** Convenience for callers without a body (failed fetch, end of run). */
  appendEmpty(app: Appender, defTime: number, out: AppendResult): void {
    this.append(app, EMPTY, '', defTime, out);
  }

  private appendStale(lset: Labels): boolean {
    try {
      this.staleApp!.appendStale(0, lset, this.staleT);
      this.staleRes!.staleMarkers++;
    } catch (e) {
      // Expected when a target went away and came back with a new loop.
      if (e instanceof OutOfOrderSampleError || e instanceof DuplicateSampleError) return true;
      this.staleRes!.err = storageFailure(e);
      return false;
    }
    return true;
  }
}

function parseFailure(e: unknown): ScrapeError {
  if (e instanceof ParseError) return new ScrapeError(ScrapeErrorCode.Parse, e.message, { cause: e });
  if (e instanceof ScrapeError) return e;
  return new ScrapeError(ScrapeErrorCode.Parse, `parse: ${(e as Error).message ?? String(e)}`, { cause: e });
}

function storageFailure(e: unknown): ScrapeError {
  return new ScrapeError(ScrapeErrorCode.Storage, `append: ${(e as Error).message ?? String(e)}`, { cause: e });
}
