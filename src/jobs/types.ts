/**
 * Dump jobs: the record every node sees, and the store that holds them.
 *
 * Field names and status strings follow the Mattermost Metrics Plugin's `DumpJob`
 * (../shared/mattermost/FACTS.md §5) so existing scripts keep working; the extra
 * fields are ours and additive.
 *
 * Lifecycle:  pending ──claim──► in_progress ──► success
 *                 │                   │      └──► error
 *                 └──cancel (delete)  └── lease expired (node died) ──► pending (retry) or error
 */
export const JobStatus = {
  Pending: 'pending',
  InProgress: 'in_progress',
  Success: 'success',
  Error: 'error',
} as const;
export type JobStatus = (typeof JobStatus)[keyof typeof JobStatus];

/** What the admin asked for. Times are ms since epoch, inclusive both ends. */
export interface DumpRequest {
  min_t: number;
  max_t: number;
  /** Limit to these `instance` label values (empty/absent = all). */
  instances?: string[];
  /** Prometheus series selectors (`match[]`), e.g. `{job="node"}`; empty/absent = all. */
  matchers?: string[];
  /** Named series groups (api, database, websocket, calls, node, go); expanded to selectors. */
  groups?: string[];
}

export interface DumpJob extends DumpRequest {
  /** 26-char lower-case Mattermost-style id ([a-z0-9]{26}). */
  id: string;
  status: JobStatus;
  create_at: number;
  /** File-store key of the archive, `plugin-data/mattermost-plugin-metrics/dump/<id>/tsdb_dump.tar.gz`, or ''. */
  dump_location: string;
  /** 0–100. */
  progress: number;
  /** Set when status is error. */
  error: string;
  /** Actual data range in the dump (ms), 0 until success. */
  data_min_t: number;
  data_max_t: number;
  /** Archive size in bytes and its SHA-256 (hex), set on success. */
  size: number;
  sha256: string;
  /** Node that runs/ran the job, and when its lease ends (ms); '' / 0 when not running. */
  owner: string;
  lease_until: number;
  update_at: number;
  /**
   * How many times a runner has started this job (added by api-web, additive: absent
   * means 0). A job whose runner died is retried until this reaches the runner's limit,
   * then marked error, so no job stays in_progress forever.
   */
  attempts?: number;
}

/**
 * Where jobs live. Single node: a file in the data dir (durable, tmp+fsync+rename).
 * Cluster: the Mattermost database, so every node sees every job.
 * All methods are safe to call concurrently from several processes of the cluster.
 */
export interface JobStore {
  /** Inserts a new pending job. */
  create(job: DumpJob): Promise<void>;
  get(id: string): Promise<DumpJob | null>;
  /** Newest first (create_at desc). */
  list(): Promise<DumpJob[]>;
  /**
   * Atomically takes one runnable job for `owner`: a pending job, or an in_progress job whose
   * lease expired. Sets status in_progress, owner, lease_until = now + leaseMs. Exactly one
   * caller in the cluster gets a given job. Returns null if none.
   */
  claim(owner: string, leaseMs: number, now: number): Promise<DumpJob | null>;
  /**
   * Updates a job the caller owns (progress, lease renewal, final state). Returns false (and
   * changes nothing) if the job is gone or owned by someone else now.
   */
  update(job: DumpJob, expectedOwner: string): Promise<boolean>;
  /** Removes the record; returns the removed job or null. */
  delete(id: string): Promise<DumpJob | null>;
  close(): Promise<void>;
}
