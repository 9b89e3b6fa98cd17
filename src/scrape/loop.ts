/**
 * One scrape loop per target (Prometheus scrape.go `scrapeLoop`): timing, one
 * transaction per scrape, the synthetic report series, end-of-run staleness and
 * the target's status.
 *
 * Lifecycle:
 *
 *   start() ─► sleep(offset) ─► ┌► scrapeAndReport(aligned ts) ─► wait for tick ─┐
 *                               └────────────────────────────────────────────────┘
 *   stop({staleness:false})  ─► loop exits after the scrape in flight (shutdown)
 *   stop({staleness:true})   ─► loop exits; then, unless cancelStaleness() comes first:
 *                               tick → staleTime, tick, +interval/10 → stale markers
 *                               for every series of the last scrape and the report
 *                               series at staleTime (target removed)
 *
 * Timing follows `scrapeLoop.run`: a stable per-target offset, a ticker at the
 * interval (a late scrape consumes one buffered tick, further ticks are dropped),
 * and scrape timestamps snapped to the ideal grid first+k·interval when within 2 ms
 * after it (intervals > 200 ms), which makes timestamp deltas compress to zero.
 */
import type { Appendable, Appender, Labels, SeriesRef } from '../storage/index.js';
import { OutOfOrderSampleError, DuplicateSampleError } from '../storage/index.js';
import { AppendResult, ExpositionAppender, type ParserFactory } from './exposition.js';
import { ScrapeCache } from './cache.js';
import { ScrapeError, ScrapeErrorCode } from './errors.js';
import { TargetFetcher, DEFAULT_USER_AGENT } from './fetch.js';
import { reportLabels } from './labels.js';
import type { Target } from './target.js';

/** Prometheus `ScrapeTimestampTolerance`. */
export const SCRAPE_TIMESTAMP_TOLERANCE = 2;

/** Names of the synthetic series, in the order Prometheus appends them. */
export const REPORT_SERIES = ['up', 'scrape_duration_seconds', 'scrape_samples_scraped', 'scrape_samples_post_metric_relabeling', 'scrape_series_added'] as const;

export type TargetHealth = 'up' | 'down' | 'unknown';

/** What the targets API shows for one target (fields as Prometheus's /api/v1/targets). */
export interface TargetStatus {
  discoveredLabels: Record<string, string>;
  labels: Record<string, string>;
  scrapePool: string;
  scrapeUrl: string;
  health: TargetHealth;
  lastError: string;
  /** ISO time the last scrape started, or null before the first. */
  lastScrape: string | null;
  /** Seconds. */
  lastScrapeDuration: number;
  /** `scrape_samples_scraped` of the last scrape. */
  lastSamples: number;
  /** `scrape_series_added` of the last scrape. */
  lastSeriesAdded: number;
  scrapeInterval: string;
  scrapeTimeout: string;
}

/** Minimal structured logger (pino-compatible). */
export interface ScrapeLogger {
  debug(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export const silentLogger: ScrapeLogger = { debug() {}, warn() {} };

export interface ScrapeLoopOptions {
  newParser: ParserFactory;
  /** Per-process seed mixed into target offsets (Prometheus: hostname + external labels). */
  jitterSeed: number;
  userAgent: string;
  logger: ScrapeLogger;
  /** Counters shared across loops (the manager's); null for none. */
  stats: ScrapeStats | null;
  /** A cache to continue with (config reload of the same target); null for a new one. */
  cache: ScrapeCache | null;
  /**
   * Upper bound of the wait before the first scrape (ms). The per-target phase in
   * [0, interval) is scaled into [0, this) so targets stay spread. Infinity (default):
   * Prometheus's behaviour. A standby taking over in a cluster sets it so its first
   * samples come within the takeover bound rather than up to a whole interval later.
   */
  firstScrapeWithinMs: number;
}

/** Totals across loops, read by `ScrapeManager.stats()` and the side-by-side bench. */
export class ScrapeStats {
  scrapes = 0;
  failedScrapes = 0;
  /** Sum of scrape_samples_scraped. */
  samplesScraped = 0;
  /** Samples committed from expositions + report series + stale markers (attempted). */
  samplesAppended = 0;
  outOfOrder = 0;
  duplicates = 0;
  outOfBounds = 0;
  commitErrors = 0;
}

export class ScrapeLoop {
  readonly target: Target;
  private readonly appendable: Appendable;
  private readonly opts: ScrapeLoopOptions;
  private readonly fetcher: TargetFetcher;
  readonly core: ExpositionAppender;
  private readonly result: AppendResult;
  private readonly emptyResult: AppendResult;
  private readonly reportLsets: Labels[];
  private readonly reportRefs: SeriesRef[];
  /** Stops the loop (not an in-flight scrape). */
  private readonly loopAbort: AbortController;
  /** Cancels in-flight scrapes and pending end-of-run staleness (shutdown). */
  private readonly parentAbort: AbortController;
  private running: Promise<void> | null;
  private staleness: Promise<void> | null;
  private wantStaleness: boolean;
  /** Scrape-start time (ms) of the last scrape, 0 before the first. */
  private last: number;
  private nextTick: number;
  // status
  private health: TargetHealth;
  private lastError: string;
  private lastScrapeStart: number;
  private lastDuration: number;
  private lastSamples: number;
  private lastSeriesAdded: number;

  constructor(target: Target, appendable: Appendable, opts: Partial<ScrapeLoopOptions> & Pick<ScrapeLoopOptions, 'newParser'>) {
    this.target = target;
    this.appendable = appendable;
    this.opts = { jitterSeed: 0, userAgent: DEFAULT_USER_AGENT, logger: silentLogger, stats: null, cache: null, firstScrapeWithinMs: Infinity, ...opts };
    const cfg = target.config;
    this.fetcher = new TargetFetcher(target.url, { timeout: target.timeout, bodySizeLimit: cfg.bodySizeLimit, userAgent: this.opts.userAgent });
    this.core = new ExpositionAppender(target.targetLabels, cfg, this.opts.newParser, this.opts.cache ?? new ScrapeCache());
    this.result = new AppendResult();
    this.emptyResult = new AppendResult();
    this.reportLsets = REPORT_SERIES.map((n) => reportLabels(n, target.targetLabels));
    this.reportRefs = REPORT_SERIES.map(() => 0);
    this.loopAbort = new AbortController();
    this.parentAbort = new AbortController();
    this.running = null;
    this.staleness = null;
    this.wantStaleness = false;
    this.last = 0;
    this.nextTick = 0;
    this.health = 'unknown';
    this.lastError = '';
    this.lastScrapeStart = 0;
    this.lastDuration = 0;
    this.lastSamples = 0;
    this.lastSeriesAdded = 0;
  }

  /** Starts the loop in the background. */
  start(): void {
    if (this.running !== null) return;
    this.running = this.run().catch((e: unknown) => {
      this.opts.logger.warn({ err: e, target: this.target.url }, 'scrape loop crashed');
    });
  }

  /**
   * Stops scraping; resolves when the loop has exited (after any scrape in flight).
   * With `staleness` (target removed), end-of-run stale markers are written in the
   * background ~2.1 intervals later; `stalenessDone()` resolves when that finished.
   */
  async stop(opts: { staleness: boolean } = { staleness: false }): Promise<void> {
    this.wantStaleness = opts.staleness;
    if (!opts.staleness) this.parentAbort.abort();
    this.loopAbort.abort();
    if (this.running !== null) await this.running;
    this.fetcher.close();
  }

  /** Cancels pending end-of-run staleness (shutdown while it waits). */
  cancelStaleness(): void {
    this.parentAbort.abort();
  }

  /** Resolves when end-of-run staleness has been written or cancelled. */
  async stalenessDone(): Promise<void> {
    if (this.staleness !== null) await this.staleness;
  }

  private async run(): Promise<void> {
    const interval = this.target.interval;
    const signal = this.loopAbort.signal;
    let offset = this.target.offset(Date.now(), this.opts.jitterSeed);
    const cap = this.opts.firstScrapeWithinMs;
    if (cap < interval) offset = Math.floor((offset * Math.max(0, cap)) / interval);
    if (!(await sleepUntil(Date.now() + offset, signal))) return;
    let aligned = Date.now();
    this.nextTick = aligned + interval;
    while (!signal.aborted) {
      const now = Date.now();
      aligned = alignedGridPoint(now, aligned, interval);
      const scrapeTime = alignScrapeTime(now, aligned, interval);
      try {
        await this.scrapeAndReport(scrapeTime);
      } catch (e) {
        // Only storage can throw here (appender()/rollback() of a closing TSDB); the
        // loop keeps its schedule and tries again at the next tick.
        this.opts.logger.warn({ target: this.target.url, err: String(e) }, 'scrape failed in storage');
        this.health = 'down';
        this.lastError = `storage: ${(e as Error).message ?? String(e)}`;
      }
      if (signal.aborted || this.parentAbort.signal.aborted) break;
      if (!(await this.waitTick(signal))) break;
    }
    if (this.wantStaleness && !this.parentAbort.signal.aborted && this.last !== 0) {
      this.staleness = this.endOfRunStaleness().catch((e: unknown) => {
        this.opts.logger.warn({ err: e, target: this.target.url }, 'end-of-run staleness failed');
      });
    }
  }

  /**
   * Go ticker semantics: if the tick already passed (slow scrape), it was buffered:
   * return at once and drop any further missed ticks; else sleep until it.
   */
  private async waitTick(signal: AbortSignal): Promise<boolean> {
    const interval = this.target.interval;
    const now = Date.now();
    if (this.nextTick <= now) {
      while (this.nextTick <= now) this.nextTick += interval;
      return true;
    }
    // Only a consumed tick advances the ticker: after a stop, the pending tick is the
    // "first missed tick" end-of-run staleness waits for.
    const ok = await sleepUntil(this.nextTick, signal);
    if (ok) this.nextTick += interval;
    return ok;
  }

  private async endOfRunStaleness(): Promise<void> {
    const signal = this.parentAbort.signal;
    // The next scrape would have been at the next tick: that is the stale markers' time.
    if (!(await sleepUntil(this.nextTick, signal))) return;
    const staleTime = Date.now();
    this.nextTick += this.target.interval;
    // If the target was recreated, it has been scraped by the second tick; our
    // markers then come out of order and are ignored.
    if (!(await sleepUntil(this.nextTick, signal))) return;
    if (!(await sleepUntil(Date.now() + this.target.interval / 10, signal))) return;
    const app = this.appendable.appender();
    const res = this.emptyResult;
    this.core.appendEmpty(app, staleTime, res);
    if (res.err !== null) {
      await app.rollback();
      return;
    }
    for (let i = 0; i < this.reportLsets.length; i++) {
      try {
        app.appendStale(this.reportRefs[i]!, this.reportLsets[i]!, staleTime);
      } catch (e) {
        if (e instanceof OutOfOrderSampleError || e instanceof DuplicateSampleError) continue;
        await app.rollback();
        throw e;
      }
    }
    await app.commit();
  }

  /**
   * One scrape: fetch, append into one transaction (rolled back whole on failure,
   * then stale markers for a failed scrape), report series, commit. Never throws.
   * `appendTime` is the sample timestamp (ms) for everything of this scrape.
   */
  async scrapeAndReport(appendTime: number): Promise<void> {
    const startWall = Date.now();
    const start = performance.now();
    const stats = this.opts.stats;
    let app = this.appendable.appender();
    let scrapeErr: ScrapeError | null = null;
    let body: Uint8Array = EMPTY;
    let contentType = '';
    try {
      const r = await this.fetcher.fetch(this.parentAbort.signal);
      body = r.body;
      contentType = r.contentType;
    } catch (e) {
      scrapeErr = e instanceof ScrapeError ? e : new ScrapeError(ScrapeErrorCode.Fetch, String((e as Error).message ?? e), { cause: e });
      this.opts.logger.debug({ target: this.target.url, err: scrapeErr.message }, 'scrape failed');
    }
    if (this.parentAbort.signal.aborted) {
      // Shutdown cancelled this scrape: write nothing (no up=0, no stale markers),
      // so a restart continues where this process stopped.
      await app.rollback();
      return;
    }

    // A failed scrape is an empty scrape: it still writes stale markers.
    const res = this.result;
    this.core.append(app, body, contentType, appendTime, res);
    const appErr = res.err;
    if (appErr !== null) {
      await app.rollback();
      app = this.appendable.appender();
      this.opts.logger.debug({ target: this.target.url, err: appErr.message }, 'append failed');
      this.core.appendEmpty(app, appendTime, this.emptyResult);
      if (this.emptyResult.err !== null) {
        await app.rollback();
        app = this.appendable.appender();
      }
    }
    if (scrapeErr === null) scrapeErr = appErr;

    const duration = (performance.now() - start) / 1000;
    let reportErr: unknown = null;
    try {
      this.report(app, appendTime, duration, res.total, res.added, res.seriesAdded, scrapeErr);
    } catch (e) {
      reportErr = e;
    }
    if (reportErr !== null) {
      this.opts.logger.warn({ target: this.target.url, err: String(reportErr) }, 'appending scrape report failed');
      await app.rollback();
    } else {
      try {
        await app.commit();
      } catch (e) {
        if (stats !== null) stats.commitErrors++;
        this.opts.logger.warn({ target: this.target.url, err: String(e) }, 'scrape commit failed');
      }
    }

    this.last = appendTime;
    this.health = scrapeErr === null ? 'up' : 'down';
    this.lastError = scrapeErr === null ? '' : scrapeErr.message;
    this.lastScrapeStart = startWall;
    this.lastDuration = duration;
    this.lastSamples = res.total;
    this.lastSeriesAdded = res.seriesAdded;
    if (stats !== null) {
      stats.scrapes++;
      if (scrapeErr !== null) stats.failedScrapes++;
      stats.samplesScraped += res.total;
      const staleMarkers = res.err === null ? res.staleMarkers : this.emptyResult.staleMarkers;
      const appended = res.err === null ? res.added - res.outOfOrder - res.duplicates - res.outOfBounds : 0;
      stats.samplesAppended += appended + staleMarkers + REPORT_SERIES.length;
      stats.outOfOrder += res.outOfOrder;
      stats.duplicates += res.duplicates;
      stats.outOfBounds += res.outOfBounds;
    }
  }

  /** Appends the five report series (`scrapeLoop.report`); out-of-order/duplicate are ignored. */
  private report(app: Appender, t: number, duration: number, scraped: number, added: number, seriesAdded: number, err: ScrapeError | null): void {
    this.addReportSample(app, 0, t, err === null ? 1 : 0);
    this.addReportSample(app, 1, t, duration);
    this.addReportSample(app, 2, t, scraped);
    this.addReportSample(app, 3, t, added);
    this.addReportSample(app, 4, t, seriesAdded);
  }

  private addReportSample(app: Appender, i: number, t: number, v: number): void {
    try {
      const ref = app.append(this.reportRefs[i]!, this.reportLsets[i]!, t, v);
      if (ref !== 0) this.reportRefs[i] = ref;
    } catch (e) {
      if (e instanceof OutOfOrderSampleError || e instanceof DuplicateSampleError) return;
      throw e;
    }
  }

  /** Status for the targets API. */
  status(): TargetStatus {
    const t = this.target;
    return {
      discoveredLabels: t.discoveredLabels.toObject(),
      labels: t.targetLabels.toObject(),
      scrapePool: t.config.jobName,
      scrapeUrl: t.url,
      health: this.health,
      lastError: this.lastError,
      lastScrape: this.lastScrapeStart === 0 ? null : new Date(this.lastScrapeStart).toISOString(),
      lastScrapeDuration: this.lastDuration,
      lastSamples: this.lastSamples,
      lastSeriesAdded: this.lastSeriesAdded,
      scrapeInterval: t.labels.get('__scrape_interval__'),
      scrapeTimeout: t.labels.get('__scrape_timeout__'),
    };
  }
}

const EMPTY = new Uint8Array(0);

/**
 * The grid point at or before `now`: `aligned` advanced by whole intervals (a tick
 * may have been skipped). Only used when the interval exceeds 100 × tolerance.
 */
export function alignedGridPoint(now: number, aligned: number, interval: number): number {
  if (interval <= 100 * SCRAPE_TIMESTAMP_TOLERANCE) return aligned;
  while (now - aligned >= interval) aligned += interval;
  return aligned;
}

/**
 * The timestamp of a scrape starting at `now` (Prometheus `scrapeLoop.run`): the grid
 * point when `now` is at most 2 ms after it and the interval is over 200 ms, else `now`.
 */
export function alignScrapeTime(now: number, aligned: number, interval: number): number {
  if (interval > 100 * SCRAPE_TIMESTAMP_TOLERANCE && now - aligned <= SCRAPE_TIMESTAMP_TOLERANCE) return aligned;
  return now;
}

/**
 * Sleeps until wall time `until` (ms); false when `signal` aborted first. Re-arms if
 * the timer fires early relative to Date.now() (timers run on a monotonic clock),
 * so tick-aligned timestamps land on or just after the grid.
 */
export function sleepUntil(until: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve(false);
      return;
    }
    let timer: NodeJS.Timeout;
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const arm = (): void => {
      const d = until - Date.now();
      if (d <= 0) {
        signal.removeEventListener('abort', onAbort);
        resolve(true);
        return;
      }
      timer = setTimeout(arm, d);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    arm();
  });
}
