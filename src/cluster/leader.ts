/**
 * Leader election through the Mattermost database: one scraper in the cluster at a time.
 *
 * The lock is a session lock held on a dedicated connection — PostgreSQL
 * `pg_try_advisory_lock(key)` (session level), MySQL/MariaDB `GET_LOCK(name, 0)` — so the
 * database itself releases it when the holder's session ends: process killed (the kernel
 * closes the socket), `pg_terminate_backend`/`KILL`, database restart, or the server-side idle
 * timeout we set on the holder's session (which covers a frozen or partitioned holder).
 *
 *   stopped ─start()─► standby ──lock granted──► acquiring ──grace passed,──► leader
 *                        ▲  ▲    (term+1)          │          check ok         │
 *                        │  └── session lost ──────┘                          │ session lost,
 *                        └──────────────── onLose(reason) ◄───────────────────┘ check failed/slow,
 *                                                                               lease expired, stop()
 *
 * Split brain. A standby can only get the lock after the holder's session is gone, but the
 * old holder may not know yet. Two rules close that window:
 *   1. The holder's leadership is a lease: it is valid until `send time of the last
 *      successful health check + leaseMs`, where leaseMs = healthInterval + 2·healthTimeout.
 *      `isLeader()` checks the lease on the monotonic clock at every call, so even a holder
 *      whose event loop was frozen (GC, SIGSTOP, VM pause) answers false once it lapsed, before
 *      any timer or socket event had a chance to run; onLose fires when the loss is noticed
 *      (socket 'end'/'error' at once, a failed or slow check, or the lease timer).
 *   2. A new holder whose predecessor did not release cleanly (row in mmmetrics_leader not
 *      marked released) waits graceMs = leaseMs + margin before onAcquire. The old session
 *      died before our lock was granted, so the old holder's last successful check was sent
 *      before that, and its lease has run out by the time our grace has.
 *   Bound (documented in defaultLeaderOptions): with defaults (check 2 s, timeout 1.5 s,
 *   retry 5 s) leaseMs = 5 s, graceMs = 5.25 s; takeover after a holder crash ≤ retry +
 *   connect/attempt + grace ≈ 12 s; after a silent holder death (no FIN) the server's idle
 *   timeout (7 s) comes first: ≈ 19 s; both below the 30 s takeover bound checked at
 *   construction. This assumes monotonic clocks run at the same rate on all nodes (no
 *   clock *synchronisation* is needed).
 *
 * Fencing. Each grant bumps a term in table `mmmetrics_leader` (one row per lock name) in the
 * same session, before onAcquire. `term` is strictly increasing across the cluster, so a
 * writer can compare its term with the stored one (`checkTerm()`) and refuse to act if a newer
 * leader exists.
 */
import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import { ClusterOptionsError, DbError } from './errors.js';
import type { Db, DbConnection } from './db.js';
import { Listeners } from './listeners.js';
import { redactingLogger, type ClusterLogger } from './redact.js';

export interface LeaderOptions {
  /** Lock name; all electors of one cluster use the same name (e.g. 'scraper:' + ClusterName). */
  name: string;
  /** Shown in mmmetrics_leader.holder and logs; default `<hostname>:<pid>`. */
  nodeId: string;
  /** Standby: how often to try the lock. */
  retryIntervalMs: number;
  /** Holder: how often to check the session with `SELECT 1`. */
  healthIntervalMs: number;
  /** Holder: a check slower than this drops the session and the role. */
  healthTimeoutMs: number;
  /** The worst-case takeover the timings must fit in; construction fails otherwise. */
  takeoverBoundMs: number;
  /** Defaults to the Db's (redacting) logger. */
  logger: ClusterLogger | null;
}

/**
 * Defaults: retry 5 s, check every 2 s with a 1.5 s timeout, takeover bound 30 s.
 * Derived: lease 5 s, grace 5.25 s, server idle timeout 7 s (see the file comment).
 */
export function defaultLeaderOptions(): LeaderOptions {
  return {
    name: 'mm-metrics-scraper',
    nodeId: `${hostname()}:${process.pid}`,
    retryIntervalMs: 5_000,
    healthIntervalMs: 2_000,
    healthTimeoutMs: 1_500,
    takeoverBoundMs: 30_000,
    logger: null,
  };
}

/** Passed to onAcquire. */
export interface AcquireInfo {
  term: number;
  /** Wall-clock ms when leadership began. */
  at: number;
  /** How long we held the lock before becoming leader (the grace wait; 0 after a clean handover). */
  waitedMs: number;
}

export type LoseReason = 'connection lost' | 'health check failed' | 'lease expired' | 'stopped';

/** Passed to onLose. */
export interface LoseInfo {
  term: number;
  reason: LoseReason;
  /** Details (a redacted error message), '' for a clean stop. */
  detail: string;
  /** Wall-clock ms when the loss was noticed (onLose runs now). */
  at: number;
  /**
   * Wall-clock ms when leadership stopped being valid: `at`, or earlier when the lease ran
   * out before the loss was noticed (frozen process). isLeader() was false from here on.
   */
  validUntil: number;
}

const LEASE_MARGIN_MS = 250;
const TABLE = 'mmmetrics_leader';

export class LeaderElector {
  readonly options: LeaderOptions;
  /** Validity of one successful health check: healthInterval + 2·healthTimeout. */
  readonly leaseMs: number;
  /** Wait after a grant whose predecessor did not release cleanly: lease + margin. */
  readonly graceMs: number;
  /** Server-side idle timeout on the holder's session. */
  readonly serverIdleTimeoutMs: number;
  private readonly db: Db;
  private readonly log: ClusterLogger;
  /** Unique per elector instance, so a re-grant to ourselves needs no grace. */
  private readonly instanceId: string;
  private readonly pgKey: string;
  private readonly myName: string;
  private running: boolean;
  private loop: Promise<void> | null;
  private conn: DbConnection | null;
  private leader: boolean;
  private currentTerm: number;
  /** performance.now() until which leadership is valid. */
  private leaseUntil: number;
  private leaseTimer: NodeJS.Timeout | null;
  private wakeUp: (() => void) | null;
  private tableReady: boolean;
  private lastWarn: string;
  private readonly acquireListeners: Listeners<[AcquireInfo]>;
  private readonly loseListeners: Listeners<[LoseInfo]>;

  constructor(db: Db, opts: Partial<LeaderOptions> & { onAcquire?: (i: AcquireInfo) => void; onLose?: (i: LoseInfo) => void } = {}) {
    const { onAcquire, onLose, ...rest } = opts;
    this.options = { ...defaultLeaderOptions(), ...rest };
    const o = this.options;
    for (const k of ['retryIntervalMs', 'healthIntervalMs', 'healthTimeoutMs', 'takeoverBoundMs'] as const) {
      if (!(o[k] > 0)) throw new ClusterOptionsError(`leader election: ${k} must be positive`);
    }
    if (o.name.length === 0) throw new ClusterOptionsError('leader election: name must not be empty');
    this.leaseMs = o.healthIntervalMs + 2 * o.healthTimeoutMs;
    this.graceMs = this.leaseMs + LEASE_MARGIN_MS;
    this.serverIdleTimeoutMs = Math.ceil((this.leaseMs + o.healthIntervalMs) / 1000) * 1000;
    const worst = this.worstCaseTakeoverMs();
    if (worst > o.takeoverBoundMs) {
      throw new ClusterOptionsError(
        `leader election: worst-case takeover ${worst} ms (server idle timeout ${this.serverIdleTimeoutMs} + retry ${o.retryIntervalMs} + attempt ${o.healthTimeoutMs} + grace ${this.graceMs}) exceeds takeoverBoundMs ${o.takeoverBoundMs}`,
      );
    }
    this.db = db;
    this.log = o.logger ? redactingLogger(o.logger, db.redactor) : db.log;
    this.instanceId = `${o.nodeId}#${randomBytes(4).toString('hex')}`;
    this.pgKey = pgLockKey(o.name);
    this.myName = mysqlLockName(o.name);
    this.running = false;
    this.loop = null;
    this.conn = null;
    this.leader = false;
    this.currentTerm = 0;
    this.leaseUntil = 0;
    this.leaseTimer = null;
    this.wakeUp = null;
    this.tableReady = false;
    this.lastWarn = '';
    const onThrow = (e: unknown) => this.log.error({ err: e }, 'leader election listener threw');
    this.acquireListeners = new Listeners(onThrow);
    this.loseListeners = new Listeners(onThrow);
    if (onAcquire) this.acquireListeners.add(onAcquire);
    if (onLose) this.loseListeners.add(onLose);
  }

  /**
   * Worst case from "holder's host vanished without closing its socket" to a standby's
   * onAcquire: server idle timeout + one retry period + one attempt + grace.
   */
  worstCaseTakeoverMs(): number {
    return this.serverIdleTimeoutMs + this.options.retryIntervalMs + this.options.healthTimeoutMs + this.graceMs;
  }

  /** Fires after the lock is held, the term bumped and (if needed) the grace passed. */
  onAcquire(fn: (info: AcquireInfo) => void): () => void {
    return this.acquireListeners.add(fn);
  }

  /** Fires synchronously when the role is lost (before any other callback of ours runs). */
  onLose(fn: (info: LoseInfo) => void): () => void {
    return this.loseListeners.add(fn);
  }

  /** True while leader and the lease is unexpired (checked on the monotonic clock). */
  isLeader(): boolean {
    return this.leader && performance.now() < this.leaseUntil;
  }

  /** The term of the current leadership, or null when not leader: a fencing token. */
  get fencingToken(): number | null {
    return this.isLeader() ? this.currentTerm : null;
  }

  /** Server-side id of the elector's current session (pg backend pid / MySQL connection id), 0 when none. */
  get sessionId(): number {
    return this.conn !== null && !this.conn.closed ? this.conn.backendId : 0;
  }

  /** The term of the latest grant this elector received (0 if none yet). */
  get term(): number {
    return this.currentTerm;
  }

  /**
   * Reads the stored term through the pool: true iff we are leader and no newer grant
   * exists. For writers that must not act on a stale role (one round trip).
   */
  async checkTerm(): Promise<boolean> {
    if (!this.isLeader()) return false;
    const term = this.currentTerm;
    const rows = await this.db.query<{ term: number }>(`SELECT term AS term FROM ${TABLE} WHERE name = ?`, [this.options.name]);
    return rows.length === 1 && Number(rows[0]!.term) === term && this.isLeader();
  }

  /** Starts campaigning in the background. Idempotent. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run().catch((e) => this.log.error({ err: e }, 'leader election loop crashed'));
  }

  /**
   * Stops campaigning. A leader fires onLose('stopped'), marks the lock released (so the next
   * holder needs no grace), unlocks and closes its session.
   */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.wake();
    if (this.loop) await this.loop;
    this.loop = null;
  }

  // ─── the campaign loop ───

  private async run(): Promise<void> {
    let backoff = Math.min(1_000, this.options.retryIntervalMs);
    while (this.running) {
      try {
        if (this.conn === null || this.conn.closed) this.conn = await this.openSession();
        const conn = this.conn;
        if (await this.tryLock(conn)) {
          await this.hold(conn);
        } else {
          await this.sleep(this.options.retryIntervalMs);
        }
        backoff = Math.min(1_000, this.options.retryIntervalMs);
        this.lastWarn = '';
      } catch (e) {
        // Warn when the cause changes; repeats of the same cause at debug (a DB outage would
        // otherwise log every retry period).
        const msg = e instanceof Error ? e.message : String(e);
        if (msg !== this.lastWarn) this.log.warn({ err: e, retryInMs: backoff }, 'leader election: database unavailable');
        else this.log.debug({ err: e, retryInMs: backoff }, 'leader election: database still unavailable');
        this.lastWarn = msg;
        this.dropSession();
        await this.sleep(backoff);
        backoff = Math.min(backoff * 2, this.options.retryIntervalMs);
      }
    }
    await this.closeSession();
  }

  private async openSession(): Promise<DbConnection> {
    const conn = await this.db.connect();
    conn.onClose((err) => {
      if (this.conn === conn) this.onSessionClosed(err);
    });
    return conn;
  }

  private async tryLock(conn: DbConnection): Promise<boolean> {
    const t = this.options.healthTimeoutMs;
    if (this.db.driver === 'postgres') {
      const rows = await conn.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(?::bigint) AS ok', [this.pgKey], t);
      return rows[0]?.ok === true;
    }
    const rows = await conn.query<{ ok: number | null }>('SELECT GET_LOCK(?, 0) AS ok', [this.myName], t);
    return Number(rows[0]?.ok) === 1;
  }

  /** Holds the lock until the session, the checks or the lease fail, or stop(). */
  private async hold(conn: DbConnection): Promise<void> {
    const granted = performance.now();
    let needGrace: boolean;
    try {
      needGrace = await this.bumpTerm(conn);
      await this.limitIdle(conn);
    } catch (e) {
      // Without a term we cannot fence: give the lock back and try again later.
      this.log.warn({ err: e }, 'leader election: could not record the term; releasing the lock');
      this.dropSession();
      await this.sleep(this.options.retryIntervalMs);
      return;
    }
    if (needGrace) {
      this.log.info({ term: this.currentTerm, graceMs: this.graceMs }, 'lock granted; waiting out the previous holder’s lease');
      const until = granted + this.graceMs;
      while (this.running && !conn.closed && performance.now() < until) {
        await this.sleep(Math.min(this.options.healthIntervalMs, until - performance.now()));
        if (!this.running || conn.closed) break;
        if (!(await this.check(conn))) return;
      }
    }
    if (!this.running && !conn.closed) {
      await this.release(conn); // stopped during the grace wait: hand over cleanly
      return;
    }
    if (conn.closed) return;
    // A fresh check right before taking the role starts the first lease.
    const sent = performance.now();
    if (!(await this.check(conn))) return;
    if (!this.running || conn.closed) {
      if (!conn.closed) await this.release(conn);
      return;
    }
    this.leader = true;
    this.extendLease(sent);
    const info: AcquireInfo = { term: this.currentTerm, at: Date.now(), waitedMs: Math.round(performance.now() - granted) };
    this.log.info({ term: info.term, waitedMs: info.waitedMs, nodeId: this.options.nodeId }, 'became leader');
    this.acquireListeners.emit(info);

    while (this.running && this.leader && !conn.closed) {
      await this.sleep(this.options.healthIntervalMs);
      if (!this.running || !this.leader || conn.closed) break;
      const s = performance.now();
      if (!(await this.check(conn))) break;
      if (this.leader) this.extendLease(s);
    }
    if (!this.running && this.leader) {
      this.lose('stopped', '');
      await this.release(conn);
    }
  }

  /** One `SELECT 1` within healthTimeoutMs. On failure the role (if any) is lost and the session dropped. */
  private async check(conn: DbConnection): Promise<boolean> {
    const wasLeader = this.leader;
    try {
      await conn.query('SELECT 1 AS one', [], this.options.healthTimeoutMs);
      return true;
    } catch (e) {
      const detail = e instanceof Error ? e.message : String(e);
      // A timed-out check destroys the session, whose close handler may already have fired onLose.
      if (this.leader) this.lose(e instanceof DbError && e.kind === 'connection' ? 'connection lost' : 'health check failed', detail);
      else if (!wasLeader) this.log.info({ detail }, 'leader election: session failed while acquiring');
      this.dropSession();
      return false;
    }
  }

  private extendLease(sentAt: number): void {
    this.leaseUntil = sentAt + this.leaseMs;
    if (this.leaseTimer) clearTimeout(this.leaseTimer);
    const delay = Math.max(0, this.leaseUntil - performance.now());
    this.leaseTimer = setTimeout(() => {
      this.leaseTimer = null;
      if (this.leader && performance.now() >= this.leaseUntil) {
        this.lose('lease expired', `no successful health check for ${this.leaseMs} ms`);
        this.dropSession();
        this.wake();
      }
    }, delay + 1);
  }

  /** The session ended under us (socket end/error, server kill, our own timeout). */
  private onSessionClosed(err: DbError | null): void {
    if (this.leader) this.lose('connection lost', err ? err.message : 'session closed');
    this.wake();
  }

  /** Drops the role synchronously and tells listeners. */
  private lose(reason: LoseReason, detail: string): void {
    if (!this.leader) return;
    const nowMono = performance.now();
    const now = Date.now();
    const validUntil = nowMono > this.leaseUntil ? Math.round(now - (nowMono - this.leaseUntil)) : now;
    this.leader = false;
    this.leaseUntil = 0;
    if (this.leaseTimer) clearTimeout(this.leaseTimer);
    this.leaseTimer = null;
    const info: LoseInfo = { term: this.currentTerm, reason, detail, at: now, validUntil };
    if (reason === 'stopped') this.log.info({ term: info.term }, 'leadership released');
    else this.log.warn({ term: info.term, reason, detail }, 'leadership lost');
    this.loseListeners.emit(info);
  }

  // ─── term table ───

  private async ensureTable(conn: DbConnection): Promise<void> {
    if (this.tableReady) return;
    const ddl =
      this.db.driver === 'postgres'
        ? `CREATE TABLE IF NOT EXISTS ${TABLE} (name VARCHAR(190) PRIMARY KEY, term BIGINT NOT NULL, holder VARCHAR(255) NOT NULL, acquired_at BIGINT NOT NULL, released SMALLINT NOT NULL)`
        : `CREATE TABLE IF NOT EXISTS ${TABLE} (name VARCHAR(190) NOT NULL PRIMARY KEY, term BIGINT NOT NULL, holder VARCHAR(255) NOT NULL, acquired_at BIGINT NOT NULL, released SMALLINT NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`;
    try {
      await conn.exec(ddl, [], this.options.healthTimeoutMs * 4);
    } catch (e) {
      // Two electors with different lock names may race to create it (postgres reports a
      // unique violation on pg_type); the table exists either way.
      if (!(e instanceof DbError && (e.kind === 'duplicate' || e.sqlState === '42P07'))) throw e;
    }
    this.tableReady = true;
  }

  /** Increments the term for our lock name; returns whether a grace wait is needed. */
  private async bumpTerm(conn: DbConnection): Promise<boolean> {
    await this.ensureTable(conn);
    const t = this.options.healthTimeoutMs * 4;
    const name = this.options.name;
    await conn.exec(this.db.driver === 'postgres' ? 'BEGIN' : 'START TRANSACTION', [], t);
    try {
      const rows = await conn.query<{ term: number; holder: string; released: number }>(
        `SELECT term AS term, holder AS holder, released AS released FROM ${TABLE} WHERE name = ? FOR UPDATE`,
        [name],
        t,
      );
      const prev = rows[0];
      const term = prev ? Number(prev.term) + 1 : 1;
      if (prev) {
        await conn.exec(`UPDATE ${TABLE} SET term = ?, holder = ?, acquired_at = ?, released = 0 WHERE name = ?`, [term, this.instanceId, Date.now(), name], t);
      } else {
        await conn.exec(`INSERT INTO ${TABLE} (name, term, holder, acquired_at, released) VALUES (?, ?, ?, ?, 0)`, [name, term, this.instanceId, Date.now()], t);
      }
      await conn.exec('COMMIT', [], t);
      this.currentTerm = term;
      // No grace when there was no holder, it released cleanly, or it was this very elector
      // (which already fired its own onLose before campaigning again).
      return prev !== undefined && Number(prev.released) === 0 && prev.holder !== this.instanceId;
    } catch (e) {
      if (!conn.closed) await conn.exec('ROLLBACK', [], t).catch(() => {});
      throw e;
    }
  }

  /** Lets the server end the holder's session if it goes quiet (frozen or cut-off holder). */
  private async limitIdle(conn: DbConnection): Promise<void> {
    const t = this.options.healthTimeoutMs;
    try {
      if (this.db.driver === 'postgres') await conn.exec(`SET idle_session_timeout = ${this.serverIdleTimeoutMs}`, [], t);
      else await conn.exec(`SET SESSION wait_timeout = ${Math.ceil(this.serverIdleTimeoutMs / 1000)}`, [], t);
    } catch (e) {
      // PostgreSQL < 14 has no idle_session_timeout; a silent holder death then waits for TCP keepalive.
      if (conn.closed) throw e;
      this.log.info({ err: e }, 'leader election: server-side idle timeout not available');
    }
  }

  /** Clean handover: mark released, unlock, close. Errors only logged (the session closes anyway). */
  private async release(conn: DbConnection): Promise<void> {
    const t = this.options.healthTimeoutMs;
    try {
      await conn.exec(`UPDATE ${TABLE} SET released = 1 WHERE name = ? AND term = ? AND holder = ?`, [this.options.name, this.currentTerm, this.instanceId], t);
      if (this.db.driver === 'postgres') await conn.query('SELECT pg_advisory_unlock(?::bigint) AS ok', [this.pgKey], t);
      else await conn.query('SELECT RELEASE_LOCK(?) AS ok', [this.myName], t);
    } catch (e) {
      this.log.info({ err: e }, 'leader election: clean release failed; the session close releases the lock');
    }
  }

  // ─── helpers ───

  private dropSession(): void {
    const c = this.conn;
    this.conn = null;
    if (c && !c.closed) c.destroy();
  }

  private async closeSession(): Promise<void> {
    const c = this.conn;
    this.conn = null;
    if (c) await c.close();
  }

  /** Sleeps up to `ms`; wake() (stop, session closed, lease expired) ends it early. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        if (this.wakeUp === done) this.wakeUp = null;
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.wakeUp = done;
    });
  }

  private wake(): void {
    const w = this.wakeUp;
    this.wakeUp = null;
    if (w) w();
  }
}

/** PostgreSQL advisory lock key: the first 8 bytes of SHA-256(name) as a signed int64, in decimal. */
export function pgLockKey(name: string): string {
  const h = createHash('sha256').update(`mm-metrics:${name}`).digest();
  return h.readBigInt64BE(0).toString();
}

/** MySQL lock names are limited to 64 characters; long names are hashed. */
export function mysqlLockName(name: string): string {
  const n = `mmmetrics:${name}`;
  if (n.length <= 64) return n;
  return `mmmetrics:${createHash('sha256').update(name).digest('hex').slice(0, 54)}`;
}
