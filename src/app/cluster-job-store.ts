/**
 * The cluster's job store as the app uses it: the database store (src/cluster/job-store.ts)
 * opened lazily, so a node whose database is unreachable at start still starts and serves
 * what it can (UI, stats, downloads of existing archives are in the file store); jobs come
 * back by themselves once the database answers.
 *
 * Every database failure reaches the API as a 503 with a clear, password-free message
 * (the cluster layer's messages are built from redacted text only) instead of a bare 500.
 */
import { ApiError } from '../api/index.js';
import { ClusterError, DbError, openDbJobStore, type Db, type DbJobStore } from '../cluster/index.js';
import type { DumpJob, JobStore } from '../jobs/types.js';

export class LazyDbJobStore implements JobStore {
  private readonly db: Db;
  private store: DbJobStore | null;
  private opening: Promise<DbJobStore> | null;
  private closed: boolean;

  constructor(db: Db) {
    this.db = db;
    this.store = null;
    this.opening = null;
    this.closed = false;
  }

  /** Opens (creates the table if missing) now; a failure is thrown and retried on the next call. */
  async ready(): Promise<void> {
    await this.get_();
  }

  create(job: DumpJob): Promise<void> {
    return this.call((s) => s.create(job));
  }

  get(id: string): Promise<DumpJob | null> {
    return this.call((s) => s.get(id));
  }

  list(): Promise<DumpJob[]> {
    return this.call((s) => s.list());
  }

  claim(owner: string, leaseMs: number, now: number): Promise<DumpJob | null> {
    return this.call((s) => s.claim(owner, leaseMs, now));
  }

  update(job: DumpJob, expectedOwner: string): Promise<boolean> {
    return this.call((s) => s.update(job, expectedOwner));
  }

  delete(id: string): Promise<DumpJob | null> {
    return this.call((s) => s.delete(id));
  }

  async close(): Promise<void> {
    this.closed = true;
    const s = this.store ?? (await this.opening?.catch(() => null)) ?? null;
    this.store = null;
    if (s) await s.close();
  }

  private get_(): Promise<DbJobStore> {
    if (this.closed) return Promise.reject(new ClusterError('MM_ERR_JOB_STORE_CLOSED', 'job store is closed'));
    if (this.store) return Promise.resolve(this.store);
    this.opening ??= openDbJobStore(this.db).then(
      (s) => {
        this.store = s;
        this.opening = null;
        return s;
      },
      (e: unknown) => {
        this.opening = null;
        throw e;
      },
    );
    return this.opening;
  }

  private async call<T>(fn: (s: DbJobStore) => Promise<T>): Promise<T> {
    try {
      return await fn(await this.get_());
    } catch (e) {
      if (e instanceof DbError && e.kind !== 'duplicate') {
        throw new ApiError(503, `dump jobs are unavailable: the database (${this.db.description}) did not answer: ${e.message}`, e.code);
      }
      throw e;
    }
  }
}
