/**
 * What the HTTP API needs from the rest of the program, as small interfaces.
 *
 * The API never reaches into the TSDB, the scrape manager or the file store directly:
 * src/app.ts adapts each of them to one of these shapes, which keeps the API testable
 * with real but small components and lets the scraper/listener roles plug in different
 * implementations (a listener node reads stats from the file store, a scraper from its
 * local TSDB).
 */
import type { TsdbAdmin } from './admin-tsdb.js';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { JobControl } from '../jobs/runner.js';
import type { JobStore } from '../jobs/types.js';

/** Head block numbers for the stats panel (all optional: a listener node has no head). */
export interface HeadStats {
  min_t: number;
  max_t: number;
  num_series: number;
  num_samples?: number;
  num_chunks?: number;
}

/**
 * `GET /tsdb/stats`: the plugin's shape (min_t, max_t, num_samples, num_series over the
 * persisted blocks; all 0 when there are none) plus optional head stats and block count.
 */
export interface TsdbStats {
  min_t: number;
  max_t: number;
  num_samples: number;
  num_series: number;
  num_blocks?: number;
  head?: HeadStats;
}

export interface StatsProvider {
  stats(): Promise<TsdbStats>;
}

/** One scrape target as shown on the targets page (Prometheus's /api/v1/targets, trimmed). */
export interface TargetStatus {
  /** `http://host:port/metrics`. */
  scrape_url: string;
  job: string;
  instance: string;
  /** Target labels after relabelling (job/instance included). */
  labels: Record<string, string>;
  health: 'up' | 'down' | 'unknown';
  /** Start of the last scrape (ms since epoch), 0 if never scraped. */
  last_scrape: number;
  /** Duration of the last scrape in seconds. */
  last_scrape_duration: number;
  /** Samples appended by the last scrape (after limits). */
  last_samples: number;
  /** Last scrape error, '' when healthy. */
  last_error: string;
  /** Scrape interval and timeout in seconds (optional, for display). */
  interval?: number;
  timeout?: number;
}

export interface TargetsProvider {
  targets(): TargetStatus[];
}

/** An inclusive byte range (`Range: bytes=start-end`). */
export interface ArtifactRange {
  start: number;
  end: number;
}

/**
 * Read side of the file store for downloads. `FileStore` (src/filestore) fits with
 * `{ stat: (k) => fs.stat(k), open: (k, r) => fs.get(k, r) }`; jobs/local-artifacts.ts
 * implements it for a local directory.
 */
export interface ArtifactReader {
  /** Size of the object, or null when it does not exist. */
  stat(location: string): Promise<{ size: number } | null>;
  /** A stream of the object or of one inclusive range. Rejects (before any byte) if it does not exist. */
  open(location: string, range?: ArtifactRange): Promise<Readable>;
}

/** `/metrics` in Prometheus text format 0.0.4. */
export interface MetricsRenderer {
  render(): string | Promise<string>;
}

/** Static mode: one admin token, sent as `Authorization: Bearer <token>`. */
export interface StaticAuthConfig {
  mode: 'static';
  token: string;
}

/** Mattermost mode: a Mattermost session or personal access token of a system admin. */
export interface MattermostAuthConfig {
  mode: 'mattermost';
  /** Mattermost SiteURL, e.g. `https://chat.example.com` (no trailing slash needed). */
  siteURL: string;
  /** How long a validated token is trusted before asking Mattermost again (ms, default 30 000). */
  cacheTtlMs?: number;
  /** Timeout of the call to /api/v4/users/me (ms, default 5 000). */
  requestTimeoutMs?: number;
  /**
   * Mirror of ServiceSettings.ExperimentalStrictCSRFEnforcement: when true, cookie-auth
   * writes need X-CSRF-Token; X-Requested-With: XMLHttpRequest alone is not enough.
   */
  strictCsrf?: boolean;
}

export type AuthConfig = StaticAuthConfig | MattermostAuthConfig;

/** Everything buildServer needs. Optional members switch features off cleanly. */
export interface ApiDeps {
  jobStore: JobStore;
  /** Create/delete/estimate (the JobRunner; it need not be started on this node). */
  jobs: JobControl;
  stats: StatsProvider;
  targets: TargetsProvider;
  artifacts: ArtifactReader;
  metrics: MetricsRenderer;
  /** `/readyz`: true once the node serves its roles (defaults to always ready). */
  ready?: () => boolean | Promise<boolean>;
  auth: AuthConfig;
  logger: Logger;
  /** Folder of the web UI (index.html, app.js, style.css); default: `<repo>/web`. */
  webDir?: string;
  /** Largest accepted request body in bytes (default 64 KiB). */
  bodyLimit?: number;
  /** Clock for download tickets and caches (ms); injectable for tests. */
  now?: () => number;
  /**
   * The local TSDB for `POST …/api/v1/admin/tsdb/{delete_series,clean_tombstones}`
   * (admin-tsdb.ts); absent or null: those routes answer 503.
   */
  tsdbAdmin?: TsdbAdmin | null;
}
