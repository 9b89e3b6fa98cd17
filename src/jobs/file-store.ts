/**
 * Single-node JobStore: every job in one JSON file in the data dir.
 *
 *   <dir>/jobs.json       {"version":1,"jobs":[DumpJob, ...]}   the committed state
 *   <dir>/jobs.json.tmp   written, fsynced, renamed over jobs.json, then the dir is fsynced
 *
 * Why a whole-file rewrite: the job list is small (tens to a few thousand records) and
 * rewriting it is what makes every mutation atomic on disk: after a kill -9 the file is
 * either the old or the new version, never a mix. A leftover `.tmp` is an unfinished
 * write and is discarded at open.
 *
 * Concurrency: one process per data dir (the app holds the data dir; this store does
 * not lock it). Inside the process every mutation runs through one promise chain, works
 * on a copy of the map, and swaps the copy in only after the file is durable, so readers
 * never see a state that is not on disk and a failed write changes nothing.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { isValidId } from './id.js';
import { InvalidJobError, JobExistsError, JobStoreClosedError, JobStoreCorruptError } from './errors.js';
import { JobStatus, type DumpJob, type JobStore } from './types.js';

export interface FileJobStoreOptions {
  /** File name inside the data dir. */
  fileName: string;
}

export function defaultFileJobStoreOptions(): FileJobStoreOptions {
  return { fileName: 'jobs.json' };
}

const FORMAT_VERSION = 1;
const STATUSES = new Set<string>(Object.values(JobStatus));

/** Opens (creating the dir if needed) the store in `dir` and loads the committed jobs. */
export async function openFileJobStore(dir: string, options: Partial<FileJobStoreOptions> = {}): Promise<FileJobStore> {
  const opts = { ...defaultFileJobStoreOptions(), ...options };
  await fsp.mkdir(dir, { recursive: true });
  const file = path.join(dir, opts.fileName);
  await fsp.rm(file + '.tmp', { recursive: true, force: true }); // an unfinished write
  let jobs = new Map<string, DumpJob>();
  let text: string | null = null;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  if (text !== null) jobs = decodeJobsFile(file, text);
  return new FileJobStore(dir, file, jobs);
}

export class FileJobStore implements JobStore {
  readonly dir: string;
  readonly file: string;
  /** Committed state; replaced (never mutated) by each successful mutation. */
  private jobs: Map<string, DumpJob>;
  /** Tail of the mutation chain: mutations run one at a time, in call order. */
  private tail: Promise<unknown>;
  private closed: boolean;

  constructor(dir: string, file: string, jobs: Map<string, DumpJob>) {
    this.dir = dir;
    this.file = file;
    this.jobs = jobs;
    this.tail = Promise.resolve();
    this.closed = false;
  }

  create(job: DumpJob): Promise<void> {
    const rec = normalizeJob(job, 'create');
    return this.mutate((next) => {
      if (next.has(rec.id)) throw new JobExistsError(rec.id);
      next.set(rec.id, rec);
      return undefined;
    });
  }

  async get(id: string): Promise<DumpJob | null> {
    this.checkOpen();
    const j = this.jobs.get(id);
    return j ? copyJob(j) : null;
  }

  async list(): Promise<DumpJob[]> {
    this.checkOpen();
    return sortNewestFirst([...this.jobs.values()].map(copyJob));
  }

  claim(owner: string, leaseMs: number, now: number): Promise<DumpJob | null> {
    return this.mutate((next) => {
      // Oldest runnable job first, so jobs run in the order they were asked for.
      let pick: DumpJob | null = null;
      for (const j of next.values()) {
        const runnable = j.status === JobStatus.Pending || (j.status === JobStatus.InProgress && j.lease_until <= now);
        if (!runnable) continue;
        if (pick === null || j.create_at < pick.create_at || (j.create_at === pick.create_at && j.id < pick.id)) pick = j;
      }
      if (pick === null) return null;
      const claimed: DumpJob = { ...copyJob(pick), status: JobStatus.InProgress, owner, lease_until: now + leaseMs, update_at: now };
      next.set(claimed.id, claimed);
      return copyJob(claimed);
    });
  }

  update(job: DumpJob, expectedOwner: string): Promise<boolean> {
    const rec = normalizeJob(job, 'update');
    return this.mutate((next) => {
      const cur = next.get(rec.id);
      if (!cur || cur.owner !== expectedOwner) return false;
      next.set(rec.id, rec);
      return true;
    }, (r) => r);
  }

  delete(id: string): Promise<DumpJob | null> {
    return this.mutate((next) => {
      const cur = next.get(id);
      if (!cur) return null;
      next.delete(id);
      return copyJob(cur);
    }, (r) => r !== null);
  }

  /** Waits for queued mutations to land, then refuses further use. */
  async close(): Promise<void> {
    await this.tail.catch(() => undefined);
    this.closed = true;
  }

  private checkOpen(): void {
    if (this.closed) throw new JobStoreClosedError();
  }

  /**
   * Runs `fn` on a copy of the committed map; if `changed(result)` (default: always),
   * writes the copy durably and commits it. Serialised with every other mutation.
   */
  private mutate<T>(fn: (next: Map<string, DumpJob>) => T, changed: (r: T) => boolean = () => true): Promise<T> {
    const run = async (): Promise<T> => {
      this.checkOpen();
      const next = new Map(this.jobs);
      const r = fn(next);
      if (!changed(r)) return r;
      await this.write(next);
      this.jobs = next;
      return r;
    };
    const p = this.tail.then(run, run);
    this.tail = p.catch(() => undefined);
    return p;
  }

  /** tmp → write → fsync → rename → fsync dir (STYLE.md §7). */
  private async write(jobs: Map<string, DumpJob>): Promise<void> {
    const body = JSON.stringify({ version: FORMAT_VERSION, jobs: sortNewestFirst([...jobs.values()]) }) + '\n';
    const tmp = this.file + '.tmp';
    const fh = await fsp.open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(body, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await fsp.rename(tmp, this.file);
    } catch (e) {
      await fsp.rm(tmp, { force: true });
      throw e;
    }
    const dh = await fsp.open(this.dir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  }
}

/** Parses a jobs file; throws JobStoreCorruptError naming the file and the bad record. */
export function decodeJobsFile(file: string, text: string): Map<string, DumpJob> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new JobStoreCorruptError(file, `not JSON: ${(e as Error).message}`, { cause: e });
  }
  if (typeof doc !== 'object' || doc === null || !Array.isArray((doc as { jobs?: unknown }).jobs)) {
    throw new JobStoreCorruptError(file, 'expected an object with a "jobs" array');
  }
  const version = (doc as { version?: unknown }).version;
  if (version !== FORMAT_VERSION) throw new JobStoreCorruptError(file, `unsupported version ${JSON.stringify(version)}`);
  const out = new Map<string, DumpJob>();
  const arr = (doc as { jobs: unknown[] }).jobs;
  for (let i = 0; i < arr.length; i++) {
    try {
      const j = normalizeJob(arr[i] as DumpJob, 'load');
      out.set(j.id, j);
    } catch (e) {
      throw new JobStoreCorruptError(file, `jobs[${i}]: ${(e as Error).message}`, { cause: e });
    }
  }
  return out;
}

/**
 * A clean copy with every field present and typed, so stored records have one shape
 * (older or foreign records missing our additive fields get their defaults).
 */
export function normalizeJob(j: DumpJob, op: string): DumpJob {
  if (typeof j !== 'object' || j === null) throw new InvalidJobError(`${op}: job is not an object`);
  if (!isValidId(j.id)) throw new InvalidJobError(`${op}: bad job id ${JSON.stringify(j.id)} (want 26 chars [a-z0-9])`);
  if (!STATUSES.has(j.status)) throw new InvalidJobError(`${op}: job ${j.id}: unknown status ${JSON.stringify(j.status)}`);
  const num = (k: keyof DumpJob, v: unknown): number => {
    if (v === undefined || v === null) return 0;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new InvalidJobError(`${op}: job ${j.id}: ${k} is not a finite number`);
    return v;
  };
  const str = (k: keyof DumpJob, v: unknown): string => {
    if (v === undefined || v === null) return '';
    if (typeof v !== 'string') throw new InvalidJobError(`${op}: job ${j.id}: ${k} is not a string`);
    return v;
  };
  const strs = (k: keyof DumpJob, v: unknown): string[] => {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new InvalidJobError(`${op}: job ${j.id}: ${k} is not a string array`);
    return [...(v as string[])];
  };
  return {
    id: j.id,
    status: j.status,
    create_at: num('create_at', j.create_at),
    min_t: num('min_t', j.min_t),
    max_t: num('max_t', j.max_t),
    instances: strs('instances', j.instances),
    matchers: strs('matchers', j.matchers),
    groups: strs('groups', j.groups),
    dump_location: str('dump_location', j.dump_location),
    progress: num('progress', j.progress),
    error: str('error', j.error),
    data_min_t: num('data_min_t', j.data_min_t),
    data_max_t: num('data_max_t', j.data_max_t),
    size: num('size', j.size),
    sha256: str('sha256', j.sha256),
    owner: str('owner', j.owner),
    lease_until: num('lease_until', j.lease_until),
    update_at: num('update_at', j.update_at),
    attempts: num('attempts', j.attempts),
  };
}

function copyJob(j: DumpJob): DumpJob {
  return {
    ...j,
    instances: j.instances ? [...j.instances] : [],
    matchers: j.matchers ? [...j.matchers] : [],
    groups: j.groups ? [...j.groups] : [],
  };
}

/** create_at desc, then id desc so equal timestamps still have one order. */
export function sortNewestFirst(jobs: DumpJob[]): DumpJob[] {
  return jobs.sort((a, b) => b.create_at - a.create_at || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
}
