/**
 * JobRunner: takes dump jobs from a JobStore and runs them through a DumpBuilder.
 *
 * One object owns the loop (start()/stop()). It works the same over the single-node
 * file store and the cluster's DB store, because everything it needs is in the
 * JobStore contract: `claim` hands a job to exactly one runner with a lease, `update`
 * only succeeds while the caller still owns the job.
 *
 *   poll ──claim──► run ──build(onProgress, signal)──► success | error
 *                    │  every leaseMs/3: lease_until = now + leaseMs (update)
 *                    │  update returns false (job deleted / taken over) → abort build,
 *                    │      remove its artifacts once the build settled
 *                    └─ stop(): abort, put the job back to pending (not counted as a try)
 *
 * Never stuck: a job whose runner died stays in_progress only until its lease ends;
 * then any runner's claim takes it again (attempts + 1). At start() a runner also
 * re-queues the jobs it owned itself (same nodeId) without waiting for the lease. After
 * `maxAttempts` starts a job is marked error instead of being retried forever.
 *
 * The runner is also the write side the API uses (create/delete/deleteAll/estimate):
 * deletion removes artifacts through the injected `deleteArtifacts`, and cancels
 * pending or running jobs (a running build is aborted; no "undeleted" job reappears).
 */
import type { Logger } from 'pino';
import type { DeleteArtifacts, DumpBuilder, DumpEstimate } from './builder.js';
import { JobDeletedError, RunnerStoppingError } from './errors.js';
import { newId } from './id.js';
import { JobStatus, type DumpJob, type DumpRequest, type JobStore } from './types.js';

export interface JobRunnerOptions {
  /** How often to look for runnable jobs when idle (ms). `kick()` looks at once. */
  pollMs: number;
  /** Lease length (ms); renewed every leaseMs/3 while a job runs. */
  leaseMs: number;
  /** A job is started at most this many times (process deaths count; stop() does not). */
  maxAttempts: number;
  /** Jobs run at the same time by this runner. */
  concurrency: number;
  /** Minimum time between progress writes to the store (ms). */
  progressWriteMs: number;
  /** Upper bound of the poll back-off after store errors (ms). */
  maxBackoffMs: number;
  /** Clock (ms since epoch); injectable for tests. */
  now: () => number;
}

export function defaultJobRunnerOptions(): JobRunnerOptions {
  return {
    pollMs: 1000,
    leaseMs: 60_000,
    maxAttempts: 3,
    concurrency: 1,
    progressWriteMs: 1000,
    maxBackoffMs: 60_000,
    now: Date.now,
  };
}

/** What the API needs from the jobs layer besides reading the store. */
export interface JobControl {
  /** Validated request → new pending job (persisted), and the runner is woken. */
  create(req: DumpRequest): Promise<DumpJob>;
  estimate(req: DumpRequest): Promise<DumpEstimate>;
  /** Cancels/deletes one job and its artifacts; null if there was no such job. */
  delete(id: string): Promise<DumpJob | null>;
  /** Deletes every job; returns how many were deleted. */
  deleteAll(): Promise<number>;
}

export interface JobRunnerDeps {
  store: JobStore;
  builder: DumpBuilder;
  deleteArtifacts: DeleteArtifacts;
  /** Stable id of this node (same across restarts), e.g. the hostname or the cluster node id. */
  nodeId: string;
  logger?: Logger;
  options?: Partial<JobRunnerOptions>;
}

/** Book-keeping for one job this runner is building. */
class Running {
  readonly job: DumpJob;
  readonly ctl: AbortController;
  /** Tail of this job's store writes: writes land in order, one at a time. */
  writes: Promise<void>;
  /** The job was deleted or taken over: stop writing, clean up after the build. */
  lost: boolean;
  lastProgressWrite: number;
  done: Promise<void>;

  constructor(job: DumpJob) {
    this.job = job;
    this.ctl = new AbortController();
    this.writes = Promise.resolve();
    this.lost = false;
    this.lastProgressWrite = 0;
    this.done = Promise.resolve();
  }
}

export class JobRunner implements JobControl {
  readonly nodeId: string;
  private readonly store: JobStore;
  private readonly builder: DumpBuilder;
  private readonly deleteArtifacts: DeleteArtifacts;
  private readonly log: Logger | null;
  private readonly opts: JobRunnerOptions;
  private readonly running: Map<string, Running>;
  private timer: NodeJS.Timeout | null;
  private started: boolean;
  private stopping: boolean;
  private polling: Promise<void> | null;
  private repoll: boolean;
  private backoffMs: number;

  constructor(deps: JobRunnerDeps) {
    this.nodeId = deps.nodeId;
    this.store = deps.store;
    this.builder = deps.builder;
    this.deleteArtifacts = deps.deleteArtifacts;
    this.log = deps.logger ?? null;
    this.opts = { ...defaultJobRunnerOptions(), ...deps.options };
    this.running = new Map();
    this.timer = null;
    this.started = false;
    this.stopping = false;
    this.polling = null;
    this.repoll = false;
    this.backoffMs = 0;
    if (!this.nodeId) throw new Error('JobRunner: nodeId must not be empty');
  }

  /** Recovers jobs this node left in_progress (process died), then starts polling. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.stopping = false;
    await this.recover();
    this.kick();
  }

  /** Stops polling, aborts running builds and puts their jobs back to pending. */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const r of this.running.values()) r.ctl.abort(new RunnerStoppingError());
    await this.polling;
    // A claim that was in flight may have launched a job after the first round.
    for (const r of this.running.values()) if (!r.ctl.signal.aborted) r.ctl.abort(new RunnerStoppingError());
    await Promise.all([...this.running.values()].map((r) => r.done));
    this.started = false;
  }

  /** Looks for work now (e.g. right after a job was created). No-op when not started. */
  kick(): void {
    if (!this.started || this.stopping) return;
    if (this.polling) {
      this.repoll = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.polling = this.poll().finally(() => {
      this.polling = null;
      if (this.repoll) {
        this.repoll = false;
        this.kick();
      } else this.schedule();
    });
  }

  /** Jobs this runner is building right now (ids). */
  runningIds(): string[] {
    return [...this.running.keys()];
  }

  async create(req: DumpRequest): Promise<DumpJob> {
    const now = this.opts.now();
    const job: DumpJob = {
      id: newId(),
      status: JobStatus.Pending,
      create_at: now,
      min_t: req.min_t,
      max_t: req.max_t,
      instances: req.instances ? [...req.instances] : [],
      matchers: req.matchers ? [...req.matchers] : [],
      groups: req.groups ? [...req.groups] : [],
      dump_location: '',
      progress: 0,
      error: '',
      data_min_t: 0,
      data_max_t: 0,
      size: 0,
      sha256: '',
      owner: '',
      lease_until: 0,
      update_at: now,
      attempts: 0,
    };
    await this.store.create(job);
    this.log?.info({ job: job.id, min_t: job.min_t, max_t: job.max_t }, 'dump job created');
    this.kick();
    return job;
  }

  estimate(req: DumpRequest): Promise<DumpEstimate> {
    return this.builder.estimate(req);
  }

  async delete(id: string): Promise<DumpJob | null> {
    const job = await this.store.get(id);
    if (!job) return null;
    const mine = this.running.get(id);
    if (job.status === JobStatus.InProgress || mine) {
      // Remove the record first: the owner's next update fails and it stops (here, or on
      // another node within leaseMs/3). Its files are removed once its build settled.
      const removed = await this.store.delete(id);
      if (mine) {
        mine.lost = true;
        mine.ctl.abort(new JobDeletedError(id));
      } else if (job.lease_until <= this.opts.now() || job.owner === this.nodeId) {
        await this.deleteArtifacts(job); // owner is gone: nobody else will clean up
      }
      this.log?.info({ job: id }, 'running dump job deleted');
      return removed ?? job;
    }
    // Finished or pending: files first, so a failure keeps the record for another try.
    if (job.status !== JobStatus.Pending) await this.deleteArtifacts(job);
    const removed = await this.store.delete(id);
    if (removed && removed.status !== job.status && removed.status === JobStatus.InProgress) {
      // Claimed between get() and delete(): its runner notices the missing record and cleans up.
      this.running.get(id)?.ctl.abort(new JobDeletedError(id));
    }
    this.log?.info({ job: id, status: job.status }, 'dump job deleted');
    return removed;
  }

  async deleteAll(): Promise<number> {
    let n = 0;
    for (const j of await this.store.list()) {
      if (await this.delete(j.id)) n++;
    }
    return n;
  }

  // ---- loop ---------------------------------------------------------------------------

  private schedule(): void {
    if (!this.started || this.stopping) return;
    const delay = this.backoffMs > 0 ? this.backoffMs : this.opts.pollMs;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.kick();
    }, delay);
    this.timer.unref?.();
  }

  private async poll(): Promise<void> {
    try {
      while (!this.stopping && this.running.size < this.opts.concurrency) {
        const job = await this.store.claim(this.nodeId, this.opts.leaseMs, this.opts.now());
        if (!job) break;
        this.launch(job);
      }
      this.backoffMs = 0;
    } catch (e) {
      this.backoffMs = Math.min(this.opts.maxBackoffMs, Math.max(this.opts.pollMs, this.backoffMs * 2 || 1000));
      this.log?.error({ err: e, retry_ms: this.backoffMs }, 'job store poll failed');
    }
  }

  private launch(job: DumpJob): void {
    const r = new Running(job);
    this.running.set(job.id, r);
    r.done = this.run(r)
      .catch((e) => this.log?.error({ err: e, job: job.id }, 'dump job bookkeeping failed'))
      .finally(() => {
        this.running.delete(job.id);
        this.kick();
      });
  }

  private async run(r: Running): Promise<void> {
    const job = r.job;
    job.attempts = (job.attempts ?? 0) + 1;
    job.progress = 0;
    job.error = '';
    if (job.attempts > this.opts.maxAttempts) {
      this.finishError(r, `gave up after ${this.opts.maxAttempts} attempts: the process building this dump stopped each time`);
      await r.writes;
      await this.cleanup(job); // whatever the dead runs left behind
      return;
    }
    await this.write(r);
    if (r.lost) return;
    this.log?.info({ job: job.id, attempt: job.attempts }, 'dump job started');
    if (job.attempts > 1) await this.cleanup(job); // leftovers of the run that died

    const renew = setInterval(() => {
      job.lease_until = this.opts.now() + this.opts.leaseMs;
      void this.write(r);
    }, Math.max(10, Math.floor(this.opts.leaseMs / 3)));
    renew.unref?.();
    const onProgress = (pct: number): void => {
      if (r.lost || r.ctl.signal.aborted || !Number.isFinite(pct)) return;
      const p = Math.max(0, Math.min(99, Math.floor(pct)));
      const now = this.opts.now();
      if (p === job.progress || now - r.lastProgressWrite < this.opts.progressWriteMs) return;
      job.progress = p;
      r.lastProgressWrite = now;
      void this.write(r);
    };

    const snapshot: DumpJob = { ...job };
    try {
      const res = await this.builder.build(snapshot, onProgress, r.ctl.signal);
      clearInterval(renew);
      if (r.ctl.signal.aborted) throw r.ctl.signal.reason; // builder ignored the signal
      job.status = JobStatus.Success;
      job.dump_location = res.location;
      job.size = res.size;
      job.sha256 = res.sha256;
      job.data_min_t = res.data_min_t;
      job.data_max_t = res.data_max_t;
      job.progress = 100;
      job.owner = '';
      job.lease_until = 0;
      await this.writeFinal(r);
      if (r.lost) await this.cleanup(job);
      else this.log?.info({ job: job.id, size: res.size }, 'dump job finished');
    } catch (e) {
      clearInterval(renew);
      const reason = r.ctl.signal.aborted ? r.ctl.signal.reason : e;
      if (reason instanceof RunnerStoppingError && !r.lost) {
        // Clean shutdown: back to pending, and this start does not count as a try.
        job.status = JobStatus.Pending;
        job.attempts = Math.max(0, (job.attempts ?? 1) - 1);
        job.progress = 0;
        job.owner = '';
        job.lease_until = 0;
        await this.writeFinal(r);
        await this.cleanup(job);
        this.log?.info({ job: job.id }, 'dump job re-queued at shutdown');
        return;
      }
      if (r.lost) {
        await this.cleanup(job);
        return;
      }
      await this.cleanup(job); // a failed build may leave partial files in dump/<id>/
      this.finishError(r, errorText(e));
      await r.writes;
      this.log?.warn({ job: job.id, err: e }, 'dump job failed');
    }
  }

  private finishError(r: Running, message: string): void {
    const job = r.job;
    job.status = JobStatus.Error;
    job.error = message;
    job.owner = '';
    job.lease_until = 0;
    job.dump_location = '';
    void this.writeFinal(r);
  }

  /** Queues one store write of the job's current state; sets `lost` if we no longer own it. */
  private write(r: Running): Promise<void> {
    const snapshot: DumpJob = { ...r.job, update_at: this.opts.now() };
    r.writes = r.writes.then(async () => {
      if (r.lost) return;
      try {
        const ok = await this.store.update(snapshot, this.nodeId);
        if (!ok) {
          r.lost = true;
          if (!r.ctl.signal.aborted) r.ctl.abort(new JobDeletedError(r.job.id));
        }
      } catch (e) {
        // Lease renewals retry by themselves; a final state is retried by writeFinal.
        this.log?.warn({ err: e, job: r.job.id }, 'job store update failed');
        throw e;
      }
    }).catch(() => undefined);
    return r.writes;
  }

  /** The last write of a run: retried a few times, since losing it would leave the job to its lease. */
  private async writeFinal(r: Running): Promise<void> {
    const snapshot: DumpJob = { ...r.job, update_at: this.opts.now() };
    const done = r.writes.then(async () => {
      for (let attempt = 0; attempt < 5 && !r.lost; attempt++) {
        try {
          if (!(await this.store.update(snapshot, this.nodeId))) r.lost = true;
          return;
        } catch (e) {
          this.log?.warn({ err: e, job: r.job.id, attempt }, 'final job update failed; retrying');
          await sleep(200 * 2 ** attempt);
        }
      }
    });
    r.writes = done.catch(() => undefined);
    await r.writes;
  }

  private async cleanup(job: DumpJob): Promise<void> {
    try {
      await this.deleteArtifacts(job);
    } catch (e) {
      this.log?.warn({ err: e, job: job.id }, 'removing dump artifacts failed');
    }
  }

  /** At start: jobs this node was running when its process died go back to pending (or error). */
  private async recover(): Promise<void> {
    let jobs: DumpJob[];
    try {
      jobs = await this.store.list();
    } catch (e) {
      this.log?.error({ err: e }, 'job recovery: listing jobs failed');
      return;
    }
    for (const j of jobs) {
      if (j.status !== JobStatus.InProgress || j.owner !== this.nodeId || this.running.has(j.id)) continue;
      const tries = j.attempts ?? 0;
      const next: DumpJob =
        tries >= this.opts.maxAttempts
          ? { ...j, status: JobStatus.Error, error: `gave up after ${tries} attempts: the process building this dump stopped each time`, owner: '', lease_until: 0, dump_location: '' }
          : { ...j, status: JobStatus.Pending, progress: 0, owner: '', lease_until: 0 };
      next.update_at = this.opts.now();
      try {
        if (await this.store.update(next, this.nodeId)) {
          this.log?.warn({ job: j.id, status: next.status, attempts: tries }, 'job recovery: job left in_progress by a previous process');
          await this.cleanup(j);
        }
      } catch (e) {
        this.log?.error({ err: e, job: j.id }, 'job recovery failed; its lease will expire');
      }
    }
  }
}

function errorText(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return typeof code === 'string' && !e.message.includes(code) ? `${e.message} (${code})` : e.message;
  }
  return String(e);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
