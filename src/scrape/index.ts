/**
 * Public surface of the scrape layer. Other layers import from here only.
 *
 *   const cfg = scrapeConfigWith('mattermost', { scrapeInterval: 15_000 });
 *   const mgr = new ScrapeManager(appendable);           // textparse's newParser by default
 *   mgr.setTargets([targetFromURL(cfg, 'http://mm:8067/metrics')]);
 *   mgr.start();  …  mgr.targets();  …  await mgr.stop();
 */
export { ScrapeManager, defaultScrapeManagerOptions, type ScrapeManagerOptions } from './manager.js';
export {
  ScrapeLoop,
  ScrapeStats,
  REPORT_SERIES,
  SCRAPE_TIMESTAMP_TOLERANCE,
  silentLogger,
  type ScrapeLoopOptions,
  type ScrapeLogger,
  type TargetHealth,
  type TargetStatus,
} from './loop.js';
export { Target, defaultScrapeConfig, newTarget, scrapeConfigWith, targetFromURL, type ScrapeConfig } from './target.js';
export { ExpositionAppender, AppendResult, MAX_AHEAD_TIME, type AppendOptions, type ParserFactory } from './exposition.js';
export { ScrapeCache } from './cache.js';
export { TargetFetcher, SCRAPE_ACCEPT_HEADER, DEFAULT_USER_AGENT, defaultFetchOptions, type FetchOptions, type FetchResult } from './fetch.js';
export { ScrapeError, ScrapeErrorCode, TargetConfigError, DurationError } from './errors.js';
export { parseDuration, formatDuration } from './duration.js';
