/**
 * The scrape manager: owns one `ScrapeLoop` per distinct target (label set + URL,
 * as Prometheus de-duplicates in `scrapePool.sync`) and keeps them in step with the
 * target list it is given.
 *
 *   setTargets(list) ─► new keys: create loop (+ start if running)
 *                    ─► kept keys: loop, cache and status untouched
 *                    ─► gone keys: loop.stop({staleness: true}) — stale markers
 *                       ~2.1 intervals later unless the manager stops first
 *   stop()           ─► every loop stopped without staleness (shutdown), pending
 *                       end-of-run staleness cancelled; awaits all of it
 */
import { hostname } from 'node:os';
import type { Appendable } from '../storage/index.js';
import { newParser as defaultNewParser } from '../textparse/index.js';
import type { ParserFactory } from './exposition.js';
import { DEFAULT_USER_AGENT } from './fetch.js';
import { ScrapeLoop, ScrapeStats, silentLogger, type ScrapeLogger, type TargetStatus } from './loop.js';
import { fnv1a32, type ScrapeConfig, type Target } from './target.js';
import type { ScrapeCache } from './cache.js';

export interface ScrapeManagerOptions {
  /** Parser for a body + Content-Type; textparse's `newParser` by default. */
  newParser: ParserFactory;
  /** Mixed into per-target offsets; default FNV-1a of the hostname (Prometheus: FQDN + external labels). */
  jitterSeed: number;
  userAgent: string;
  logger: ScrapeLogger;
  /** See ScrapeLoopOptions.firstScrapeWithinMs (Infinity: Prometheus's first-scrape phase). */
  firstScrapeWithinMs: number;
}

export function defaultScrapeManagerOptions(): ScrapeManagerOptions {
  return { newParser: defaultNewParser, jitterSeed: fnv1a32(hostname()), userAgent: DEFAULT_USER_AGENT, logger: silentLogger, firstScrapeWithinMs: Infinity };
}

export class ScrapeManager {
  private readonly appendable: Appendable;
  private readonly opts: ScrapeManagerOptions;
  private readonly loops: Map<string, ScrapeLoop>;
  /** Loops of removed targets still waiting to write end-of-run stale markers. */
  private readonly retiring: Set<ScrapeLoop>;
  private readonly counters: ScrapeStats;
  private running: boolean;
  private stopped: boolean;

  constructor(appendable: Appendable, opts: Partial<ScrapeManagerOptions> = {}) {
    this.appendable = appendable;
    this.opts = { ...defaultScrapeManagerOptions(), ...opts };
    this.loops = new Map();
    this.retiring = new Set();
    this.counters = new ScrapeStats();
    this.running = false;
    this.stopped = false;
  }

  /** Starts every loop; targets set later start at once. */
  start(): void {
    if (this.stopped) throw new Error('scrape manager: start after stop');
    this.running = true;
    for (const l of this.loops.values()) l.start();
  }

  /**
   * Replaces the target list. Duplicates (same labels and URL) collapse into one
   * loop. Removed loops stop in the background and write their stale markers ~2.1
   * intervals later (`drained()` waits for that).
   */
  setTargets(targets: readonly Target[]): void {
    if (this.stopped) throw new Error('scrape manager: setTargets after stop');
    const want = new Map<string, Target>();
    for (const t of targets) if (!want.has(t.key)) want.set(t.key, t);
    const stopping: Array<Promise<void>> = [];
    for (const [key, loop] of this.loops) {
      if (want.has(key)) continue;
      this.loops.delete(key);
      this.retiring.add(loop);
      stopping.push(
        loop.stop({ staleness: true }).then(async () => {
          await loop.stalenessDone();
          this.retiring.delete(loop);
        }),
      );
    }
    for (const [key, t] of want) {
      const old = this.loops.get(key);
      let cache: ScrapeCache | null = null;
      if (old !== undefined) {
        if (sameConfig(old.target.config, t.config)) continue;
        // Same target, new settings (a config reload). As Prometheus's scrapePool.reload:
        // when the cached label sets stay valid, the new loop continues with the old
        // cache and the old loop leaves without stale markers; otherwise the old loop
        // retires like a removed target.
        if (cacheReusable(old.target.config, t.config)) {
          cache = old.core.cache;
          void old.stop({ staleness: false });
        } else {
          this.retiring.add(old);
          stopping.push(
            old.stop({ staleness: true }).then(async () => {
              await old.stalenessDone();
              this.retiring.delete(old);
            }),
          );
        }
      }
      const loop = new ScrapeLoop(t, this.appendable, {
        newParser: this.opts.newParser,
        jitterSeed: this.opts.jitterSeed,
        userAgent: this.opts.userAgent,
        logger: this.opts.logger,
        stats: this.counters,
        cache,
        firstScrapeWithinMs: this.opts.firstScrapeWithinMs,
      });
      this.loops.set(key, loop);
      if (this.running) loop.start();
    }
    void Promise.all(stopping);
  }

  /** Status of every active target, ordered by job then scrape URL. */
  targets(): TargetStatus[] {
    const out: TargetStatus[] = [];
    for (const l of this.loops.values()) out.push(l.status());
    out.sort((a, b) => (a.scrapePool < b.scrapePool ? -1 : a.scrapePool > b.scrapePool ? 1 : a.scrapeUrl < b.scrapeUrl ? -1 : a.scrapeUrl > b.scrapeUrl ? 1 : 0));
    return out;
  }

  /** The loop of one target (tests, CLI). */
  loop(target: Target): ScrapeLoop | undefined {
    return this.loops.get(target.key);
  }

  /** A copy of the counters summed over all loops. */
  stats(): ScrapeStats {
    return Object.assign(new ScrapeStats(), this.counters);
  }

  /** Resolves when every removed target has written (or given up) its stale markers. */
  async drained(): Promise<void> {
    await Promise.all([...this.retiring].map((l) => l.stalenessDone()));
  }

  /** Shutdown: stop all loops without staleness, cancel pending staleness; idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.running = false;
    const all = [...this.loops.values(), ...this.retiring];
    this.loops.clear();
    for (const l of all) l.cancelStaleness();
    await Promise.all(all.map((l) => l.stop({ staleness: false })));
    await Promise.all(all.map((l) => l.stalenessDone()));
    this.retiring.clear();
  }
}

function sameConfig(a: ScrapeConfig, b: ScrapeConfig): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The cache holds final label sets built with these settings; anything else may change freely. */
function cacheReusable(a: ScrapeConfig, b: ScrapeConfig): boolean {
  return a.honorLabels === b.honorLabels && a.honorTimestamps === b.honorTimestamps && a.jobName === b.jobName;
}
