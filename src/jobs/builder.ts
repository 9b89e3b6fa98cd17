/**
 * The seam between the job machinery (this folder) and the dump builder (src/dump).
 *
 * The runner owns scheduling, leases, retries and bookkeeping; a `DumpBuilder` only
 * turns one request into one archive in the file store. The real builder lives in
 * src/dump and is injected by src/app.ts; tests inject a small builder that writes a
 * real tar.gz so every path (progress, abort, failure, download) is exercised.
 */
import type { DumpJob, DumpRequest } from './types.js';

/** What a dump of a request would roughly hold, before it is built. */
export interface DumpEstimate {
  /** Estimated archive size in bytes (compressed). */
  bytes: number;
  /** Number of TSDB blocks that would be read. */
  blocks: number;
  /** Number of series that would be written. */
  series: number;
}

/** A finished archive in the file store. */
export interface DumpResult {
  /** File-store key, e.g. `plugin-data/mattermost-plugin-metrics/dump/<id>/tsdb_dump.tar.gz`. */
  location: string;
  /** Archive size in bytes. */
  size: number;
  /** SHA-256 of the archive bytes, lower-case hex. */
  sha256: string;
  /** Actual data range written (ms). */
  data_min_t: number;
  data_max_t: number;
}

export interface DumpBuilder {
  /**
   * Cheap estimate for the UI's "this dump will be about N MB" line. Must not write
   * anything. May throw a typed error for a request it cannot serve.
   */
  estimate(req: DumpRequest): Promise<DumpEstimate>;
  /**
   * Builds the archive for `job` (job.id names the output folder). Calls `onProgress`
   * with 0–100 as it goes (any rate; the runner throttles store writes). Must stop
   * promptly and reject when `signal` aborts, leaving no partial archive at `location`
   * (write to a temporary name, rename last). The job object is a snapshot: do not
   * mutate it.
   */
  build(job: DumpJob, onProgress: (pct: number) => void, signal: AbortSignal): Promise<DumpResult>;
}

/**
 * Removes whatever a job left in the file store (its `dump/<id>/` folder). Must be
 * idempotent: missing files are not an error. Called for deleted jobs, for jobs
 * deleted while running (after the build settles) and never with an empty id.
 */
export type DeleteArtifacts = (job: DumpJob) => Promise<void>;
