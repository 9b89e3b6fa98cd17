/**
 * Watches Mattermost's ClusterDiscovery table for live app nodes (../shared/mattermost/FACTS.md §1).
 *
 * Semantics copied from Mattermost: a node is live when its row has Type 'mattermost_app',
 * the configured ClusterName, and LastPingAt newer than now − 30 min (CDSOfflineAfterMillis).
 * Each node rewrites LastPingAt every 60 s, so polling every 60 s (our default) sees a new
 * node within one poll and a cleanly stopped node (its row is deleted) within one poll; a
 * crashed node stays until its ping is 30 min old, as in the plugin.
 *
 * Differences from the plugin, on purpose:
 *   - the first poll runs at start(), not after one interval;
 *   - an error does not end polling for good (FACTS §9.4): the last known list is kept,
 *     the error is reported, and polling retries with exponential backoff (1 s doubling up to
 *     the poll interval), then resumes the normal interval after a success;
 *   - hostnames are validated (targets.ts checkHostname); a garbage row is skipped with one
 *     warning per row, never a crash;
 *   - several rows for one hostname (restart within 30 min) collapse into the freshest.
 *
 * Lifecycle:  new ──start()──► polling ──stop()──► stopped (awaits an in-flight poll)
 * Events:     onChange(nodes, previous) when the set of hostnames changes (first success
 *             always emits, even when empty); onError(err) on every failed poll;
 *             onRecover() on the first success after failures.
 */
import { ClusterError, DbError } from './errors.js';
import type { Db } from './db.js';
import { Listeners } from './listeners.js';
import { redactingLogger, type ClusterLogger } from './redact.js';
import { checkHostname, type ClusterNode } from './targets.js';

/** model.CDSTypeApp */
export const CDS_TYPE_APP = 'mattermost_app';
/** model.CDSOfflineAfterMillis: 30 minutes. */
export const CDS_OFFLINE_AFTER_MS = 30 * 60 * 1000;

export interface DiscoveryOptions {
  /** ClusterSettings.ClusterName. */
  clusterName: string;
  /** How often to read the table; Mattermost pings every 60 s. */
  pollIntervalMs: number;
  /** Rows with an older LastPingAt are offline (Mattermost: 30 min). */
  offlineAfterMs: number;
  /** First retry delay after a failed poll; doubles up to pollIntervalMs. */
  minRetryMs: number;
  /** Row type to read; only 'mattermost_app' exists today. */
  nodeType: string;
  /** Defaults to the Db's (redacting) logger. */
  logger: ClusterLogger | null;
  /** Wall clock in ms (LastPingAt is wall-clock ms written by other machines). */
  now: () => number;
}

export function defaultDiscoveryOptions(): DiscoveryOptions {
  return {
    clusterName: '',
    pollIntervalMs: 60_000,
    offlineAfterMs: CDS_OFFLINE_AFTER_MS,
    minRetryMs: 1_000,
    nodeType: CDS_TYPE_APP,
    logger: null,
    now: Date.now,
  };
}

/** A poll failed. `kind` tells the admin-facing cause; the message names table and database. */
export class DiscoveryError extends ClusterError {
  readonly kind: 'missing_table' | 'connection' | 'timeout' | 'auth' | 'query';
  constructor(kind: DiscoveryError['kind'], message: string) {
    super(kind === 'missing_table' ? 'MM_ERR_DISCOVERY_NO_TABLE' : 'MM_ERR_DISCOVERY', message);
    this.kind = kind;
  }
}

interface DiscoveryRow {
  id: string;
  hostname: string | null;
  clustername: string | null;
  gossipport: number | null;
  port: number | null;
  createat: number | null;
  lastpingat: number | null;
}

// Column aliases in lower case: postgres folds unquoted names, MySQL keeps the alias as written.
const SELECT_NODES =
  'SELECT Id AS id, Hostname AS hostname, ClusterName AS clustername, GossipPort AS gossipport, Port AS port, ' +
  'CreateAt AS createat, LastPingAt AS lastpingat FROM ClusterDiscovery ' +
  'WHERE Type = ? AND ClusterName = ? AND LastPingAt > ? ORDER BY Id';

export class ClusterDiscovery {
  private readonly db: Db;
  private readonly opts: DiscoveryOptions;
  private readonly log: ClusterLogger;
  private current: ClusterNode[];
  private currentKey: string | null;
  private timer: NodeJS.Timeout | null;
  private running: boolean;
  private inflight: Promise<void> | null;
  private failures: number;
  private lastErr: DiscoveryError | null;
  private lastOkAt: number;
  /** Row ids already reported as bad, so a bad row warns once, not every poll. */
  private warnedRows: Set<string>;
  private readonly changeListeners: Listeners<[ClusterNode[], ClusterNode[]]>;
  private readonly errorListeners: Listeners<[DiscoveryError]>;
  private readonly recoverListeners: Listeners<[]>;

  constructor(db: Db, opts: Partial<DiscoveryOptions> = {}) {
    this.db = db;
    this.opts = { ...defaultDiscoveryOptions(), ...opts };
    if (!(this.opts.pollIntervalMs > 0) || !(this.opts.minRetryMs > 0) || !(this.opts.offlineAfterMs > 0)) {
      throw new RangeError('discovery: pollIntervalMs, minRetryMs and offlineAfterMs must be positive');
    }
    this.log = this.opts.logger ? redactingLogger(this.opts.logger, db.redactor) : db.log;
    this.current = [];
    this.currentKey = null;
    this.timer = null;
    this.running = false;
    this.inflight = null;
    this.failures = 0;
    this.lastErr = null;
    this.lastOkAt = 0;
    this.warnedRows = new Set();
    const onThrow = (e: unknown) => this.log.error({ err: e }, 'discovery listener threw');
    this.changeListeners = new Listeners(onThrow);
    this.errorListeners = new Listeners(onThrow);
    this.recoverListeners = new Listeners(onThrow);
  }

  /** Called with (nodes, previous) whenever the set of live hostnames changes. */
  onChange(fn: (nodes: ClusterNode[], previous: ClusterNode[]) => void): () => void {
    return this.changeListeners.add(fn);
  }

  /** Called on every failed poll; the last known list stays in effect. */
  onError(fn: (err: DiscoveryError) => void): () => void {
    return this.errorListeners.add(fn);
  }

  /** Called on the first successful poll after one or more failures. */
  onRecover(fn: () => void): () => void {
    return this.recoverListeners.add(fn);
  }

  /** The last known live nodes, sorted by hostname. */
  nodes(): readonly ClusterNode[] {
    return this.current;
  }

  /** The error of the latest poll, or null if it succeeded. */
  get lastError(): DiscoveryError | null {
    return this.lastErr;
  }

  /** Wall-clock ms of the latest successful poll; 0 before the first. */
  get lastSuccessAt(): number {
    return this.lastOkAt;
  }

  /** Starts polling; the first poll runs now. Idempotent. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  /** Stops polling and waits for an in-flight poll to finish. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.inflight) await this.inflight;
  }

  /**
   * Reads the table once and updates the current list (emitting onChange if it changed).
   * Throws DiscoveryError on failure, after emitting onError; the list is then unchanged.
   */
  async pollOnce(): Promise<readonly ClusterNode[]> {
    let rows: DiscoveryRow[];
    const now = this.opts.now();
    try {
      rows = await this.db.query<DiscoveryRow>(SELECT_NODES, [this.opts.nodeType, this.opts.clusterName, now - this.opts.offlineAfterMs]);
    } catch (e) {
      const err = this.classify(e);
      this.noteFailure(err);
      throw err;
    }
    this.noteSuccess(now);
    this.apply(this.toNodes(rows));
    return this.current;
  }

  // ─── internals ───

  private schedule(delayMs: number): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.inflight = this.pollOnce()
        .then(
          () => this.opts.pollIntervalMs,
          () => this.retryDelay(),
        )
        .then((next) => {
          this.inflight = null;
          this.schedule(next);
        });
    }, delayMs);
    this.timer.unref?.();
  }

  /** 1 s, 2 s, 4 s … capped at the poll interval. */
  private retryDelay(): number {
    const d = this.opts.minRetryMs * 2 ** Math.min(this.failures - 1, 30);
    return Math.min(d, this.opts.pollIntervalMs);
  }

  private classify(e: unknown): DiscoveryError {
    const where = `ClusterDiscovery in ${this.db.description}`;
    if (e instanceof DbError) {
      switch (e.kind) {
        case 'missing_table':
          return new DiscoveryError(
            'missing_table',
            `table ClusterDiscovery not found in database "${this.db.database}": SqlSettings.DataSource must point at the Mattermost database (the table exists once a server with ClusterSettings.Enable has started)`,
          );
        case 'connection':
        case 'timeout':
        case 'auth':
          return new DiscoveryError(e.kind, `read ${where}: ${e.message}`);
        default:
          return new DiscoveryError('query', `read ${where}: ${e.message}`);
      }
    }
    const msg = e instanceof Error ? e.message : String(e);
    return new DiscoveryError('query', this.db.redactor.redact(`read ${where}: ${msg}`));
  }

  private noteFailure(err: DiscoveryError): void {
    this.failures++;
    const repeated = this.lastErr !== null && this.lastErr.message === err.message;
    this.lastErr = err;
    const fields = { err, kind: err.kind, failures: this.failures, keptNodes: this.current.length, retryInMs: this.retryDelay() };
    // Warn on the first failure and when the cause changes; repeats of the same cause at debug.
    if (repeated) this.log.debug(fields, 'cluster discovery still failing; keeping the last known nodes');
    else this.log.warn(fields, 'cluster discovery failed; keeping the last known nodes');
    this.errorListeners.emit(err);
  }

  private noteSuccess(now: number): void {
    const recovered = this.failures > 0;
    this.failures = 0;
    this.lastErr = null;
    this.lastOkAt = now;
    if (recovered) {
      this.log.info({}, 'cluster discovery recovered');
      this.recoverListeners.emit();
    }
  }

  private toNodes(rows: DiscoveryRow[]): ClusterNode[] {
    const byHost = new Map<string, ClusterNode>();
    for (const r of rows) {
      const checked = checkHostname(r.hostname ?? '');
      if (!checked.ok) {
        if (!this.warnedRows.has(r.id)) {
          this.warnedRows.add(r.id);
          if (this.warnedRows.size > 10_000) this.warnedRows.clear();
          this.log.warn(
            { nodeId: r.id, hostname: (r.hostname ?? '').slice(0, 100), reason: checked.reason },
            'ignoring ClusterDiscovery row with an unusable hostname',
          );
        }
        continue;
      }
      const n: ClusterNode = {
        id: String(r.id),
        hostname: checked.host,
        clusterName: r.clustername ?? '',
        gossipPort: Number(r.gossipport ?? 0),
        port: Number(r.port ?? 0),
        createAt: Number(r.createat ?? 0),
        lastPingAt: Number(r.lastpingat ?? 0),
      };
      const prev = byHost.get(n.hostname);
      if (prev === undefined || n.lastPingAt > prev.lastPingAt) byHost.set(n.hostname, n);
    }
    return [...byHost.values()].sort((a, b) => (a.hostname < b.hostname ? -1 : a.hostname > b.hostname ? 1 : 0));
  }

  private apply(nodes: ClusterNode[]): void {
    const key = nodes.map((n) => n.hostname).join('\n');
    const previous = this.current;
    this.current = nodes;
    if (key === this.currentKey) return;
    this.currentKey = key;
    this.log.info({ nodes: nodes.map((n) => n.hostname) }, 'cluster nodes changed');
    this.changeListeners.emit(nodes, previous);
  }
}
