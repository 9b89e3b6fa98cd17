/**
 * Cluster mode: the same dump request arriving at several nodes at once (a double submit
 * behind a load balancer, a client retry against another node) makes one job, not one per
 * node. A request identical to a job that is still pending or running returns that job.
 *
 * "Identical" is the canonical request: min_t, max_t and the sorted, de-duplicated
 * instances / matchers / groups. Creation of one such request is serialised across the
 * cluster by a database lock named after its hash (PostgreSQL `pg_advisory_xact_lock`,
 * MySQL/MariaDB `GET_LOCK`), held while the store is searched and the job inserted, so the
 * second node sees the first node's job. Finished jobs are not reused: asking again for a
 * dump that exists makes a fresh one.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { ApiError } from '../api/index.js';
import { DbError, mysqlLockName, pgLockKey, type Db, type Queryable } from '../cluster/index.js';
import type { DumpEstimate } from '../jobs/builder.js';
import type { JobControl } from '../jobs/runner.js';
import { JobStatus, type DumpJob, type DumpRequest, type JobStore } from '../jobs/types.js';

/** Hex SHA-256 of the canonical form of a request. */
export function requestKey(r: DumpRequest): string {
  const set = (a: readonly string[] | undefined): string[] => [...new Set(a ?? [])].sort();
  const canon = JSON.stringify([r.min_t, r.max_t, set(r.instances), set(r.matchers), set(r.groups)]);
  return createHash('sha256').update(canon).digest('hex');
}

const LOCK_WAIT_S = 20;

export class DedupingJobControl implements JobControl {
  constructor(
    private readonly inner: JobControl,
    private readonly store: JobStore,
    private readonly db: Db,
    private readonly log: Logger,
  ) {}

  estimate(req: DumpRequest): Promise<DumpEstimate> {
    return this.inner.estimate(req);
  }

  delete(id: string): Promise<DumpJob | null> {
    return this.inner.delete(id);
  }

  deleteAll(): Promise<number> {
    return this.inner.deleteAll();
  }

  async create(req: DumpRequest): Promise<DumpJob> {
    const key = requestKey(req);
    const name = `job-request:${key}`;
    try {
      return await this.db.transaction(async (tx) => {
        await lock(tx, name);
        try {
          const same = (await this.store.list()).find((j) => (j.status === JobStatus.Pending || j.status === JobStatus.InProgress) && requestKey(j) === key);
          if (same) {
            this.log.info({ job: same.id, status: same.status }, 'dump request identical to a pending or running job: returning that job');
            return same;
          }
          return await this.inner.create(req);
        } finally {
          await unlock(tx, name);
        }
      });
    } catch (e) {
      if (e instanceof DbError) throw new ApiError(503, `dump jobs are unavailable: the database (${this.db.description}) did not answer: ${e.message}`, e.code);
      throw e;
    }
  }
}

async function lock(tx: Queryable, name: string): Promise<void> {
  if (tx.driver === 'postgres') {
    await tx.query('SELECT pg_advisory_xact_lock(?::bigint)', [pgLockKey(name)]);
    return;
  }
  const rows = await tx.query<{ ok: number | null }>('SELECT GET_LOCK(?, ?) AS ok', [mysqlLockName(name), LOCK_WAIT_S]);
  if (Number(rows[0]?.ok) !== 1) throw new ApiError(503, `another node is creating the same dump job; try again (lock not granted within ${LOCK_WAIT_S} s)`);
}

async function unlock(tx: Queryable, name: string): Promise<void> {
  // PostgreSQL's transaction lock ends with the transaction.
  if (tx.driver === 'mysql') await tx.query('SELECT RELEASE_LOCK(?) AS ok', [mysqlLockName(name)]).catch(() => {});
}
