/**
 * The cluster-wide JobStore (src/jobs/types.ts) in the Mattermost database, so every node sees
 * every dump job and exactly one node runs each.
 *
 * Table `mmmetrics_jobs` (our own; Mattermost's tables are never written), one row per job,
 * one column per DumpJob field except the optional request filters (instances, matchers,
 * groups), which live as JSON in `request`. `attempts` (absent = 0) is always read back as a
 * number, as the file store does. Created if missing, with two indexes that keep
 * claims cheap and their locks narrow:
 *   (status, create_at, id)  pending jobs, oldest first
 *   (status, lease_until)    running jobs whose lease ran out
 *
 * Claim (exactly once). A job is runnable when pending, or in_progress with lease_until < now
 * (its runner died or stalled). Pending jobs go first, oldest first; then the expired lease
 * that ran out earliest.
 *   PostgreSQL: one statement per kind,
 *     UPDATE … WHERE id = (SELECT id … FOR UPDATE SKIP LOCKED LIMIT 1) AND <still runnable> RETURNING …
 *     Concurrent claimers skip each other's locked row; a row claimed and committed after our
 *     snapshot is re-checked by the outer WHERE (READ COMMITTED re-evaluation), so it is
 *     never claimed twice.
 *   MySQL/MariaDB (no UPDATE … RETURNING): a READ COMMITTED transaction,
 *     SELECT id … FOR UPDATE SKIP LOCKED LIMIT 1 → UPDATE … WHERE id = ? → SELECT the row → COMMIT.
 *     READ COMMITTED plus the indexes keep InnoDB from locking rows it did not return, so
 *     other claimers are not starved.
 *
 * Update is a compare-and-set on the owner: `UPDATE … WHERE id = ? AND owner = ?`. A runner whose
 * lease expired and whose job was reclaimed gets false and must stop.
 */
import { ClusterError, DbError, JobExistsError } from './errors.js';
import type { Db, Queryable } from './db.js';
import { JobStatus, type DumpJob, type JobStore } from '../jobs/types.js';

export interface DbJobStoreOptions {
  /** Table name (letters, digits, underscore). */
  table: string;
  /** Close the Db in close(); false when the Db is shared with discovery and leader election. */
  closeDb: boolean;
}

export function defaultDbJobStoreOptions(): DbJobStoreOptions {
  return { table: 'mmmetrics_jobs', closeDb: false };
}

/** A job record that cannot be stored as given. */
export class JobInvalidError extends ClusterError {
  constructor(message: string) {
    super('MM_ERR_JOB_INVALID', message);
  }
}

interface JobRow {
  id: string;
  status: string;
  create_at: number;
  update_at: number;
  min_t: number;
  max_t: number;
  request: string;
  dump_location: string;
  progress: number;
  error: string;
  data_min_t: number;
  data_max_t: number;
  size: number;
  sha256: string;
  owner: string;
  lease_until: number;
  attempts: number;
}

const COLUMNS = 'id, status, create_at, update_at, min_t, max_t, request, dump_location, progress, error, data_min_t, data_max_t, size, sha256, owner, lease_until, attempts';
const STATUSES = new Set<string>(Object.values(JobStatus));

/** Opens the store, creating its table and indexes when missing. */
export async function openDbJobStore(db: Db, opts: Partial<DbJobStoreOptions> = {}): Promise<DbJobStore> {
  const o = defaultDbJobStoreOptions();
  if (opts.table !== undefined) o.table = opts.table;
  if (opts.closeDb !== undefined) o.closeDb = opts.closeDb;
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(o.table)) throw new JobInvalidError(`job table name must match [a-z_][a-z0-9_]*, got ${JSON.stringify(o.table)}`);
  const store = new DbJobStore(db, o);
  await store.ensureSchema();
  return store;
}

export class DbJobStore implements JobStore {
  private readonly db: Db;
  private readonly t: string;
  private readonly closeDb: boolean;
  private closed: boolean;
  // Statements are built once per table name.
  private readonly sqlInsert: string;
  private readonly sqlGet: string;
  private readonly sqlList: string;
  private readonly sqlUpdate: string;

  /** Use openDbJobStore(), which also creates the table. */
  constructor(db: Db, opts: DbJobStoreOptions) {
    this.db = db;
    this.t = opts.table;
    this.closeDb = opts.closeDb;
    this.closed = false;
    const t = this.t;
    this.sqlInsert = `INSERT INTO ${t} (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;
    this.sqlGet = `SELECT ${COLUMNS} FROM ${t} WHERE id = ?`;
    this.sqlList = `SELECT ${COLUMNS} FROM ${t} ORDER BY create_at DESC, id DESC`;
    this.sqlUpdate =
      `UPDATE ${t} SET status = ?, update_at = ?, min_t = ?, max_t = ?, request = ?, dump_location = ?, progress = ?, error = ?, ` +
      `data_min_t = ?, data_max_t = ?, size = ?, sha256 = ?, owner = ?, lease_until = ?, attempts = ? WHERE id = ? AND owner = ?`;
  }

  /** Creates the table and indexes if missing; safe to run concurrently from several nodes. */
  async ensureSchema(): Promise<void> {
    const t = this.t;
    const cols =
      'id VARCHAR(26) NOT NULL PRIMARY KEY, status VARCHAR(32) NOT NULL, create_at BIGINT NOT NULL, update_at BIGINT NOT NULL, ' +
      'min_t BIGINT NOT NULL, max_t BIGINT NOT NULL, request TEXT NOT NULL, dump_location VARCHAR(1024) NOT NULL, ' +
      'progress INTEGER NOT NULL, error TEXT NOT NULL, data_min_t BIGINT NOT NULL, data_max_t BIGINT NOT NULL, ' +
      'size BIGINT NOT NULL, sha256 VARCHAR(64) NOT NULL, owner VARCHAR(255) NOT NULL, lease_until BIGINT NOT NULL, ' +
      'attempts INTEGER NOT NULL DEFAULT 0';
    if (this.db.driver === 'postgres') {
      await ignoreCreateRace(this.db.exec(`CREATE TABLE IF NOT EXISTS ${t} (${cols})`));
      await ignoreCreateRace(this.db.exec(`CREATE INDEX IF NOT EXISTS ${t}_status_create ON ${t} (status, create_at, id)`));
      await ignoreCreateRace(this.db.exec(`CREATE INDEX IF NOT EXISTS ${t}_status_lease ON ${t} (status, lease_until)`));
    } else {
      await this.db.exec(
        `CREATE TABLE IF NOT EXISTS ${t} (${cols}, INDEX ${t}_status_create (status, create_at, id), INDEX ${t}_status_lease (status, lease_until)) ` +
          'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4',
      );
    }
    await this.addMissingColumns();
  }

  /**
   * Columns added after the first release of the table (`attempts`), for tables an older
   * version created. Checked through information_schema so it also works on Oracle MySQL,
   * which has no ADD COLUMN IF NOT EXISTS; a concurrent adder's "duplicate column" is fine.
   */
  private async addMissingColumns(): Promise<void> {
    const schemaExpr = this.db.driver === 'postgres' ? 'current_schema()' : 'DATABASE()';
    const rows = await this.db.query<{ name: string }>(
      `SELECT column_name AS name FROM information_schema.columns WHERE table_schema = ${schemaExpr} AND table_name = ?`,
      [this.t],
    );
    const have = new Set(rows.map((r) => String(r.name).toLowerCase()));
    if (have.has('attempts')) return;
    try {
      await this.db.exec(`ALTER TABLE ${this.t} ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0`);
    } catch (e) {
      if (e instanceof DbError && (e.sqlState === '42701' || e.driverCode === 'ER_DUP_FIELDNAME')) return;
      throw e;
    }
  }

  async create(job: DumpJob): Promise<void> {
    this.assertOpen();
    validate(job);
    try {
      await this.db.exec(this.sqlInsert, [
        job.id,
        job.status,
        job.create_at,
        job.update_at,
        job.min_t,
        job.max_t,
        encodeRequest(job),
        job.dump_location,
        job.progress,
        job.error,
        job.data_min_t,
        job.data_max_t,
        job.size,
        job.sha256,
        job.owner,
        job.lease_until,
        job.attempts ?? 0,
      ]);
    } catch (e) {
      if (e instanceof DbError && e.kind === 'duplicate') throw new JobExistsError(job.id);
      throw e;
    }
  }

  async get(id: string): Promise<DumpJob | null> {
    this.assertOpen();
    const rows = await this.db.query<JobRow>(this.sqlGet, [id]);
    return rows.length > 0 ? fromRow(rows[0]!) : null;
  }

  async list(): Promise<DumpJob[]> {
    this.assertOpen();
    return (await this.db.query<JobRow>(this.sqlList)).map(fromRow);
  }

  async claim(owner: string, leaseMs: number, now: number): Promise<DumpJob | null> {
    this.assertOpen();
    if (owner === '') throw new JobInvalidError('claim: owner must not be empty');
    if (!(leaseMs > 0) || !Number.isFinite(now)) throw new JobInvalidError('claim: leaseMs must be positive and now finite');
    const leaseUntil = now + leaseMs;
    if (this.db.driver === 'postgres') {
      return (await this.pgClaim(owner, leaseUntil, now, 'pending')) ?? (await this.pgClaim(owner, leaseUntil, now, 'expired'));
    }
    return this.db.transaction((tx) => this.myClaim(tx, owner, leaseUntil, now), { isolation: 'read committed' });
  }

  async update(job: DumpJob, expectedOwner: string): Promise<boolean> {
    this.assertOpen();
    validate(job);
    const n = await this.db.exec(this.sqlUpdate, [
      job.status,
      job.update_at,
      job.min_t,
      job.max_t,
      encodeRequest(job),
      job.dump_location,
      job.progress,
      job.error,
      job.data_min_t,
      job.data_max_t,
      job.size,
      job.sha256,
      job.owner,
      job.lease_until,
      job.attempts ?? 0,
      job.id,
      expectedOwner,
    ]);
    return n === 1;
  }

  async delete(id: string): Promise<DumpJob | null> {
    this.assertOpen();
    if (this.db.driver === 'postgres') {
      const rows = await this.db.query<JobRow>(`DELETE FROM ${this.t} WHERE id = ? RETURNING ${COLUMNS}`, [id]);
      return rows.length > 0 ? fromRow(rows[0]!) : null;
    }
    // Oracle MySQL has no DELETE … RETURNING; lock, read, delete in one transaction.
    return this.db.transaction(async (tx) => {
      const rows = await tx.query<JobRow>(`${this.sqlGet} FOR UPDATE`, [id]);
      if (rows.length === 0) return null;
      await tx.exec(`DELETE FROM ${this.t} WHERE id = ?`, [id]);
      return fromRow(rows[0]!);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.closeDb) await this.db.close();
  }

  // ─── claims ───

  private async pgClaim(owner: string, leaseUntil: number, now: number, kind: 'pending' | 'expired'): Promise<DumpJob | null> {
    const t = this.t;
    const runnable = kind === 'pending' ? "status = 'pending'" : "status = 'in_progress' AND lease_until < ?";
    const order = kind === 'pending' ? 'create_at, id' : 'lease_until, id';
    const sql =
      `UPDATE ${t} SET status = 'in_progress', owner = ?, lease_until = ?, update_at = ? ` +
      `WHERE id = (SELECT id FROM ${t} WHERE ${runnable} ORDER BY ${order} LIMIT 1 FOR UPDATE SKIP LOCKED) ` +
      `AND ${runnable} RETURNING ${COLUMNS}`;
    const params = kind === 'pending' ? [owner, leaseUntil, now] : [owner, leaseUntil, now, now, now];
    const rows = await this.db.query<JobRow>(sql, params);
    return rows.length > 0 ? fromRow(rows[0]!) : null;
  }

  private async myClaim(tx: Queryable, owner: string, leaseUntil: number, now: number): Promise<DumpJob | null> {
    const t = this.t;
    let rows = await tx.query<{ id: string }>(`SELECT id FROM ${t} WHERE status = 'pending' ORDER BY create_at, id LIMIT 1 FOR UPDATE SKIP LOCKED`);
    if (rows.length === 0) {
      rows = await tx.query<{ id: string }>(
        `SELECT id FROM ${t} WHERE status = 'in_progress' AND lease_until < ? ORDER BY lease_until, id LIMIT 1 FOR UPDATE SKIP LOCKED`,
        [now],
      );
    }
    if (rows.length === 0) return null;
    const id = rows[0]!.id;
    await tx.exec(`UPDATE ${t} SET status = 'in_progress', owner = ?, lease_until = ?, update_at = ? WHERE id = ?`, [owner, leaseUntil, now, id]);
    const got = await tx.query<JobRow>(this.sqlGet, [id]);
    return got.length > 0 ? fromRow(got[0]!) : null;
  }

  private assertOpen(): void {
    if (this.closed) throw new ClusterError('MM_ERR_JOB_STORE_CLOSED', 'job store is closed');
  }
}

// ─── mapping ───

function encodeRequest(job: DumpJob): string {
  const r: { instances?: string[]; matchers?: string[]; groups?: string[] } = {};
  if (job.instances !== undefined) r.instances = job.instances;
  if (job.matchers !== undefined) r.matchers = job.matchers;
  if (job.groups !== undefined) r.groups = job.groups;
  return JSON.stringify(r);
}

function fromRow(r: JobRow): DumpJob {
  const job: DumpJob = {
    id: String(r.id),
    status: r.status as JobStatus,
    create_at: Number(r.create_at),
    min_t: Number(r.min_t),
    max_t: Number(r.max_t),
    dump_location: r.dump_location,
    progress: Number(r.progress),
    error: r.error,
    data_min_t: Number(r.data_min_t),
    data_max_t: Number(r.data_max_t),
    size: Number(r.size),
    sha256: r.sha256,
    owner: r.owner,
    lease_until: Number(r.lease_until),
    update_at: Number(r.update_at),
    attempts: Number(r.attempts ?? 0),
  };
  let req: { instances?: unknown; matchers?: unknown; groups?: unknown } = {};
  try {
    req = JSON.parse(r.request) as typeof req;
  } catch {
    // A hand-edited row: treat as no filters rather than failing the whole list.
  }
  if (Array.isArray(req.instances)) job.instances = req.instances.map(String);
  if (Array.isArray(req.matchers)) job.matchers = req.matchers.map(String);
  if (Array.isArray(req.groups)) job.groups = req.groups.map(String);
  return job;
}

function validate(job: DumpJob): void {
  if (!/^[a-z0-9]{26}$/.test(job.id)) throw new JobInvalidError('job id must be 26 characters [a-z0-9]');
  if (!STATUSES.has(job.status)) throw new JobInvalidError(`job ${job.id}: unknown status ${JSON.stringify(String(job.status).slice(0, 32))}`);
  for (const k of ['create_at', 'update_at', 'min_t', 'max_t', 'progress', 'data_min_t', 'data_max_t', 'size', 'lease_until'] as const) {
    if (!Number.isSafeInteger(job[k])) throw new JobInvalidError(`job ${job.id}: ${k} must be an integer`);
  }
  if (job.attempts !== undefined && !(Number.isSafeInteger(job.attempts) && job.attempts >= 0 && job.attempts <= 2 ** 31 - 1)) {
    throw new JobInvalidError(`job ${job.id}: attempts must be a non-negative integer`);
  }
  if (job.owner.length > 255) throw new JobInvalidError(`job ${job.id}: owner longer than 255 characters`);
  if (job.dump_location.length > 1024) throw new JobInvalidError(`job ${job.id}: dump_location longer than 1024 characters`);
}

/** Concurrent CREATE … IF NOT EXISTS on postgres can fail with a catalog unique violation; the object exists then. */
async function ignoreCreateRace(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (e) {
    // Concurrent CREATE … IF NOT EXISTS on PostgreSQL can still collide in the catalog:
    // 42P07 duplicate_table, 42710 duplicate_object (`type "…" already exists`), 23505 on pg_type.
    if (e instanceof DbError && (e.kind === 'duplicate' || e.sqlState === '42P07' || e.sqlState === '42710')) return;
    throw e;
  }
}
