/**
 * A small database handle over `pg` and `mysql2/promise`, built from Mattermost's
 * SqlSettings (DriverName + DataSource). Just enough for the cluster layer:
 *
 *   Db                 a pool for short queries (`query`, `exec`, `transaction`)
 *   Db.connect()       a dedicated connection outside the pool, for session state that must
 *                      live exactly as long as one server session (advisory locks, GET_LOCK)
 *
 * SQL is written once with `?` placeholders; for postgres they become `$1…$n`. Column names
 * should be aliased in lower case (`SELECT Hostname AS hostname`) because postgres folds
 * unquoted identifiers and MySQL does not. BIGINT comes back as a JS number on both drivers
 * (all our BIGINTs are ms timestamps or counters, far below 2^53).
 *
 * Every error leaving this module is a DbError whose message went through the Db's
 * redactor; raw driver errors are never rethrown, because drivers may echo connection
 * parameters.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type pg from 'pg';
import type mysql from 'mysql2/promise';
import { DbError, type DbErrorKind } from './errors.js';
import { describeDataSource, parseDataSource, type DataSourceConfig, type DriverName } from './dsn.js';
import { nopLogger, redactingLogger, Redactor, type ClusterLogger } from './redact.js';

/**
 * The drivers are loaded on first use (synchronously, both are CommonJS): a node
 * without a cluster database configured never pays their ~8 MB of RSS.
 */
const requireDriver = createRequire(import.meta.url);
let pgModule: typeof pg | null = null;
let mysqlModule: typeof mysql | null = null;
function pgLib(): typeof pg {
  return (pgModule ??= requireDriver('pg') as typeof pg);
}
function mysqlLib(): typeof mysql {
  return (mysqlModule ??= requireDriver('mysql2/promise') as typeof mysql);
}

export type Row = Record<string, unknown>;

/** Anything that runs SQL: the pool, a transaction, a dedicated connection. */
export interface Queryable {
  readonly driver: DriverName;
  /** Runs a statement and returns its rows ([] for statements without rows). */
  query<T = Row>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** Runs a statement and returns the number of rows it matched (MySQL: found rows, not changed rows). */
  exec(sql: string, params?: readonly unknown[]): Promise<number>;
}

export interface DbOptions {
  /** Pool size. The cluster layer needs few connections: discovery, job store, term checks. */
  poolSize: number;
  /** Per-statement timeout (SqlSettings.QueryTimeout); a MySQL readTimeout in the DSN wins when smaller. */
  queryTimeoutMs: number;
  /** Connect timeout when the DataSource has none (connect_timeout / timeout). */
  connectTimeoutMs: number;
  /** Shown in pg_stat_activity (postgres). */
  applicationName: string;
  logger: ClusterLogger;
}

export function defaultDbOptions(): DbOptions {
  return {
    poolSize: 4,
    queryTimeoutMs: 30_000,
    connectTimeoutMs: 10_000,
    applicationName: 'mm-metrics',
    logger: nopLogger,
  };
}

/** Parses SqlSettings and returns a Db (no connection is made until the first query). */
export function openDb(driverName: string, dataSource: string, opts: Partial<DbOptions> = {}): Db {
  return new Db(parseDataSource(driverName, dataSource), opts);
}

/** Transaction isolation levels we use; `read committed` narrows MySQL's locking reads. */
export type Isolation = 'read committed' | 'repeatable read' | 'serializable';

/** A pooled handle. Safe for concurrent use; `close()` once at shutdown. */
export class Db implements Queryable {
  readonly driver: DriverName;
  readonly config: DataSourceConfig;
  readonly options: DbOptions;
  /** Masks this data source's password; components add it to their own logging. */
  readonly redactor: Redactor;
  /** The caller's logger behind the redactor. */
  readonly log: ClusterLogger;
  /** `postgres://user:***@host:port/db`: safe to log. */
  readonly description: string;
  private pgPool: pg.Pool | null;
  private myPool: mysql.Pool | null;
  private closed: boolean;

  constructor(config: DataSourceConfig, opts: Partial<DbOptions> = {}) {
    this.driver = config.driver;
    this.config = config;
    this.options = { ...defaultDbOptions(), ...opts };
    this.redactor = new Redactor([config.password]);
    this.log = redactingLogger(this.options.logger, this.redactor);
    this.description = describeDataSource(config);
    this.pgPool = null;
    this.myPool = null;
    this.closed = false;
    if (config.ignoredParams.length > 0) {
      this.log.debug({ params: config.ignoredParams, db: this.description }, 'data source parameters without effect here');
    }
  }

  get database(): string {
    return this.config.database;
  }

  /** Effective per-query timeout. */
  get queryTimeoutMs(): number {
    const r = this.config.readTimeoutMs;
    return r > 0 && r < this.options.queryTimeoutMs ? r : this.options.queryTimeoutMs;
  }

  async query<T = Row>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return (await this.run(sql, params)).rows as T[];
  }

  async exec(sql: string, params: readonly unknown[] = []): Promise<number> {
    return (await this.run(sql, params)).affected;
  }

  /** Checks the database answers. */
  async ping(): Promise<void> {
    await this.query('SELECT 1 AS one');
  }

  /**
   * Runs `fn` inside a transaction on one pooled connection; commits when it resolves,
   * rolls back when it throws (and rethrows). A connection that failed is discarded.
   */
  async transaction<T>(fn: (tx: Queryable) => Promise<T>, opts: { isolation?: Isolation } = {}): Promise<T> {
    this.assertOpen();
    if (this.driver === 'postgres') {
      const client = await this.pgConnectPooled();
      const tx = new PgTx(client, this);
      let broken = false;
      try {
        await tx.exec(opts.isolation ? `BEGIN ISOLATION LEVEL ${opts.isolation.toUpperCase()}` : 'BEGIN');
        const out = await fn(tx);
        await tx.exec('COMMIT');
        return out;
      } catch (e) {
        broken = isConnectionError(e);
        if (!broken) await tx.exec('ROLLBACK').catch(() => (broken = true));
        throw e;
      } finally {
        client.release(broken);
      }
    }
    const conn = await this.myConnectPooled();
    const tx = new MyTx(conn, this);
    let broken = false;
    try {
      if (opts.isolation) await tx.exec(`SET TRANSACTION ISOLATION LEVEL ${opts.isolation.toUpperCase()}`);
      await tx.exec('START TRANSACTION');
      const out = await fn(tx);
      await tx.exec('COMMIT');
      return out;
    } catch (e) {
      broken = isConnectionError(e);
      if (!broken) await tx.exec('ROLLBACK').catch(() => (broken = true));
      throw e;
    } finally {
      if (broken) conn.destroy();
      else conn.release();
    }
  }

  /**
   * Opens a dedicated connection (not from the pool). Its server session lives until
   * `close()`/`destroy()` or until the server or network ends it; `onClose` tells.
   */
  async connect(): Promise<DbConnection> {
    this.assertOpen();
    if (this.driver === 'postgres') {
      const client = new (pgLib().Client)(this.pgConfig());
      // Attached before connect: an unhandled 'error' on a pg Client crashes the process.
      const conn = new DbConnection(this, client, null);
      try {
        await client.connect();
      } catch (e) {
        conn.destroy();
        throw this.wrap(e, `connect ${this.description}`);
      }
      return initOrDestroy(conn);
    }
    let my: mysql.Connection;
    try {
      my = await mysqlLib().createConnection(this.myConfig());
    } catch (e) {
      throw this.wrap(e, `connect ${this.description}`);
    }
    return initOrDestroy(new DbConnection(this, null, my));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const p = this.pgPool;
    const m = this.myPool;
    this.pgPool = null;
    this.myPool = null;
    if (p) await p.end().catch(() => {});
    if (m) await m.end().catch(() => {});
  }

  /** Converts a driver error into a DbError with a redacted message prefixed by `context`. */
  wrap(e: unknown, context: string): DbError {
    return toDbError(e, context, this.redactor);
  }

  // ─── internals ───

  private async run(sql: string, params: readonly unknown[]): Promise<Result> {
    this.assertOpen();
    if (this.driver === 'postgres') {
      const pool = this.pgPoolGet();
      try {
        const r = await pool.query(toPgPlaceholders(sql), params as unknown[]);
        return { rows: r.rows as Row[], affected: r.rowCount ?? 0 };
      } catch (e) {
        throw this.wrap(e, contextOf(sql));
      }
    }
    const pool = this.myPoolGet();
    try {
      const [res] = await pool.query({ sql, values: params as unknown[], timeout: this.queryTimeoutMs });
      return myResult(res);
    } catch (e) {
      throw this.wrap(e, contextOf(sql));
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new DbError('connection', `database handle for ${this.description} is closed`, '', 'CLOSED');
  }

  private pgPoolGet(): pg.Pool {
    if (this.pgPool === null) {
      const pool = new (pgLib().Pool)({ ...this.pgConfig(), max: this.options.poolSize, idleTimeoutMillis: 30_000 });
      // Idle clients that die (server restart, pg_terminate_backend) emit here; without a
      // listener the process would crash. The pool drops them by itself.
      pool.on('error', (e) => this.log.warn({ err: this.wrap(e, 'idle pooled connection') }, 'database connection lost'));
      this.pgPool = pool;
    }
    return this.pgPool;
  }

  private async pgConnectPooled(): Promise<pg.PoolClient> {
    try {
      return await this.pgPoolGet().connect();
    } catch (e) {
      throw this.wrap(e, `connect ${this.description}`);
    }
  }

  private myPoolGet(): mysql.Pool {
    if (this.myPool === null) {
      const pool = mysqlLib().createPool({ ...this.myConfig(), connectionLimit: this.options.poolSize, maxIdle: this.options.poolSize, idleTimeout: 30_000 });
      pool.on('connection', (c) => {
        // Same reason as pg: keep an idle connection's death from becoming an uncaught 'error'.
        (c as unknown as { on(ev: string, fn: (e: unknown) => void): void }).on('error', (e) =>
          this.log.debug({ err: this.wrap(e, 'idle pooled connection') }, 'database connection lost'),
        );
      });
      this.myPool = pool;
    }
    return this.myPool;
  }

  private async myConnectPooled(): Promise<mysql.PoolConnection> {
    try {
      return await this.myPoolGet().getConnection();
    } catch (e) {
      throw this.wrap(e, `connect ${this.description}`);
    }
  }

  /** pg client config; shared by the pool and dedicated connections. */
  pgConfig(): pg.ClientConfig {
    const c = this.config;
    const cfg: pg.ClientConfig = {
      user: c.user,
      password: c.password,
      database: c.database,
      host: c.socketPath !== '' ? c.socketPath : c.host,
      port: c.port,
      ssl: pgSsl(c),
      connectionTimeoutMillis: c.connectTimeoutMs > 0 ? c.connectTimeoutMs : this.options.connectTimeoutMs,
      statement_timeout: this.queryTimeoutMs,
      // Client-side backstop for a dead socket, a little after the server-side limit.
      query_timeout: this.queryTimeoutMs + 5_000,
      application_name: c.runtimeParams.application_name ?? this.options.applicationName,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      types: pgTypes,
    };
    if (c.runtimeParams.search_path !== undefined) cfg.options = `-c search_path=${c.runtimeParams.search_path.replace(/[\s\\]/g, '\\$&')}`;
    return cfg;
  }

  /** mysql2 connection config; shared by the pool and dedicated connections. */
  myConfig(): mysql.ConnectionOptions {
    const c = this.config;
    const cfg: mysql.ConnectionOptions = {
      user: c.user,
      password: c.password,
      database: c.database,
      connectTimeout: c.connectTimeoutMs > 0 ? c.connectTimeoutMs : this.options.connectTimeoutMs,
      enableKeepAlive: true,
      keepAliveInitialDelay: 10_000,
      supportBigNumbers: false,
      dateStrings: true,
    };
    if (c.socketPath !== '') cfg.socketPath = c.socketPath;
    else {
      cfg.host = c.host;
      cfg.port = c.port;
    }
    if (c.charset !== '') cfg.charset = c.charset;
    if (c.tls !== 'disable') cfg.ssl = { rejectUnauthorized: c.tls !== 'require' };
    return cfg;
  }
}

async function initOrDestroy(conn: DbConnection): Promise<DbConnection> {
  try {
    await conn.init();
    return conn;
  } catch (e) {
    conn.destroy();
    throw e;
  }
}

interface Result {
  rows: Row[];
  affected: number;
}

function myResult(res: unknown): Result {
  if (Array.isArray(res)) {
    // Multi-statement results come as an array of arrays; we never send those.
    return { rows: res as Row[], affected: res.length };
  }
  const h = res as { affectedRows?: number };
  return { rows: [], affected: h.affectedRows ?? 0 };
}

/** int8 (oid 20) as a JS number instead of pg's default string; everything else unchanged. */
const pgTypes = {
  getTypeParser(oid: number, format?: string) {
    if (oid === 20) return (v: string) => Number(v);
    return pgLib().types.getTypeParser(oid, format as 'text');
  },
} as unknown as pg.CustomTypesConfig;

function pgSsl(c: DataSourceConfig): pg.ClientConfig['ssl'] {
  if (c.tls === 'disable') return false;
  const ssl: { rejectUnauthorized: boolean; ca?: Buffer; cert?: Buffer; key?: Buffer; checkServerIdentity?: () => undefined } = {
    rejectUnauthorized: c.tls !== 'require',
  };
  // Certificate files are named by the DataSource itself, as libpq reads them at connect time.
  if (c.sslRootCert !== '') ssl.ca = readFileSync(c.sslRootCert);
  if (c.sslCert !== '') ssl.cert = readFileSync(c.sslCert);
  if (c.sslKey !== '') ssl.key = readFileSync(c.sslKey);
  if (c.tls === 'verify-ca') ssl.checkServerIdentity = () => undefined;
  return ssl;
}

// ─── transactions ────────────────────────────────────────────────────────────

class PgTx implements Queryable {
  readonly driver: DriverName = 'postgres';
  constructor(
    private readonly client: pg.PoolClient,
    private readonly db: Db,
  ) {}
  async query<T = Row>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    try {
      return (await this.client.query(toPgPlaceholders(sql), params as unknown[])).rows as T[];
    } catch (e) {
      throw this.db.wrap(e, contextOf(sql));
    }
  }
  async exec(sql: string, params: readonly unknown[] = []): Promise<number> {
    try {
      return (await this.client.query(toPgPlaceholders(sql), params as unknown[])).rowCount ?? 0;
    } catch (e) {
      throw this.db.wrap(e, contextOf(sql));
    }
  }
}

class MyTx implements Queryable {
  readonly driver: DriverName = 'mysql';
  constructor(
    private readonly conn: mysql.PoolConnection,
    private readonly db: Db,
  ) {}
  async query<T = Row>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return (await this.run(sql, params)).rows as T[];
  }
  async exec(sql: string, params: readonly unknown[] = []): Promise<number> {
    return (await this.run(sql, params)).affected;
  }
  private async run(sql: string, params: readonly unknown[]): Promise<Result> {
    try {
      const [res] = await this.conn.query({ sql, values: params as unknown[], timeout: this.db.queryTimeoutMs });
      return myResult(res);
    } catch (e) {
      throw this.db.wrap(e, contextOf(sql));
    }
  }
}

// ─── dedicated connection ────────────────────────────────────────────────────

/**
 * One server session, outside the pool. Used for session-scoped locks, so its lifetime is
 * the lock's lifetime:
 *
 *   connect() ──► open ──query/exec──► open
 *                  │
 *                  ├── close()/destroy() ─────────────┐
 *                  ├── server ends session (kill, ────┤──► closed: onClose(err) fires once,
 *                  │   restart, idle timeout)         │    queries fail with DbError(connection)
 *                  └── our query timeout ──► destroy ─┘
 *
 * A timed-out query destroys the connection instead of leaving it in an unknown state:
 * the caller (the leader elector) must then assume the session, and its locks, are gone.
 */
export class DbConnection implements Queryable {
  readonly driver: DriverName;
  /** Server-side id: pg_backend_pid() or CONNECTION_ID(); 0 until init. */
  backendId: number;
  private readonly db: Db;
  private readonly pgClient: pg.Client | null;
  private readonly my: mysql.Connection | null;
  private isClosed: boolean;
  private closeError: DbError | null;
  private readonly closeListeners: Array<(err: DbError | null) => void>;

  constructor(db: Db, pgClient: pg.Client | null, my: mysql.Connection | null) {
    this.driver = db.driver;
    this.backendId = 0;
    this.db = db;
    this.pgClient = pgClient;
    this.my = my;
    this.isClosed = false;
    this.closeError = null;
    this.closeListeners = [];
    if (pgClient) {
      pgClient.on('error', (e) => this.markClosed(db.wrap(e, 'dedicated connection')));
      pgClient.on('end', () => this.markClosed(null));
    }
    if (my) {
      const inner = (my as unknown as { connection: NodeJS.EventEmitter & { stream?: NodeJS.EventEmitter } }).connection;
      inner.on('error', (e: unknown) => this.markClosed(db.wrap(e, 'dedicated connection')));
      inner.on('end', () => this.markClosed(null));
      inner.stream?.on('close', () => this.markClosed(null));
    }
  }

  /** Reads the backend id. Called by Db.connect. */
  async init(): Promise<void> {
    const sql = this.driver === 'postgres' ? 'SELECT pg_backend_pid() AS id' : 'SELECT CONNECTION_ID() AS id';
    const rows = await this.query<{ id: number }>(sql);
    this.backendId = Number(rows[0]?.id ?? 0);
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Why it closed: null for a local close() or a clean server-side end. */
  get error(): DbError | null {
    return this.closeError;
  }

  /** `fn` runs once when the session ends for any reason (immediately if it already has). */
  onClose(fn: (err: DbError | null) => void): void {
    if (this.isClosed) queueMicrotask(() => fn(this.closeError));
    else this.closeListeners.push(fn);
  }

  async query<T = Row>(sql: string, params: readonly unknown[] = [], timeoutMs = 0): Promise<T[]> {
    return (await this.run(sql, params, timeoutMs)).rows as T[];
  }

  async exec(sql: string, params: readonly unknown[] = [], timeoutMs = 0): Promise<number> {
    return (await this.run(sql, params, timeoutMs)).affected;
  }

  /** Ends the session politely (the server releases session locks). Never throws. */
  async close(): Promise<void> {
    if (this.isClosed) return;
    const done = new Promise<void>((resolve) => this.onClose(() => resolve()));
    try {
      if (this.pgClient) void this.pgClient.end().catch(() => {});
      if (this.my) void this.my.end().catch(() => {});
    } catch {
      // already broken: destroy below
    }
    // A half-open socket never answers the goodbye; do not wait for it forever.
    const timer = setTimeout(() => this.destroy(), 2_000);
    await done;
    clearTimeout(timer);
  }

  /** Drops the socket now. Never throws. */
  destroy(): void {
    try {
      if (this.pgClient) {
        const stream = (this.pgClient as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream;
        stream?.destroy();
      }
      if (this.my) this.my.destroy();
    } catch {
      // nothing left to do
    }
    this.markClosed(this.closeError);
  }

  private async run(sql: string, params: readonly unknown[], timeoutMs: number): Promise<Result> {
    if (this.isClosed) {
      throw this.closeError ?? new DbError('connection', `dedicated connection ${this.backendId} is closed`, '', 'CLOSED');
    }
    const p = this.rawRun(sql, params);
    if (timeoutMs <= 0) return p;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = new DbError('timeout', `${contextOf(sql)}: no answer within ${timeoutMs} ms; connection dropped`, '', 'TIMEOUT');
        this.closeError = err;
        this.destroy();
        reject(err);
      }, timeoutMs);
    });
    p.catch(() => {}); // the race below may settle first; keep the loser from being unhandled
    try {
      return await Promise.race([p, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async rawRun(sql: string, params: readonly unknown[]): Promise<Result> {
    try {
      if (this.pgClient) {
        const r = await this.pgClient.query(toPgPlaceholders(sql), params as unknown[]);
        return { rows: r.rows as Row[], affected: r.rowCount ?? 0 };
      }
      const [res] = await this.my!.query({ sql, values: params as unknown[] });
      return myResult(res);
    } catch (e) {
      throw this.db.wrap(e, contextOf(sql));
    }
  }

  private markClosed(err: DbError | null): void {
    if (err !== null && this.closeError === null) this.closeError = err;
    if (this.isClosed) return;
    this.isClosed = true;
    const ls = this.closeListeners.splice(0);
    for (const fn of ls) {
      try {
        fn(this.closeError);
      } catch (e) {
        this.db.log.error({ err: e }, 'connection close listener threw');
      }
    }
  }
}

// ─── helpers ─────────────────────────────────────────────────────────────────

const placeholderCache = new Map<string, string>();

/**
 * Rewrites `?` placeholders to `$1…$n`, skipping quoted strings, quoted identifiers and
 * comments. Cached: our statements are constants.
 */
export function toPgPlaceholders(sql: string): string {
  const hit = placeholderCache.get(sql);
  if (hit !== undefined) return hit;
  let out = '';
  let n = 0;
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === "'" || c === '"') {
      const end = sql.indexOf(c, i + 1);
      const stop = end < 0 ? sql.length : end + 1;
      out += sql.slice(i, stop);
      i = stop;
    } else if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      const stop = end < 0 ? sql.length : end;
      out += sql.slice(i, stop);
      i = stop;
    } else if (c === '?') {
      out += `$${++n}`;
      i++;
    } else {
      out += c;
      i++;
    }
  }
  if (placeholderCache.size < 1000) placeholderCache.set(sql, out);
  return out;
}

/** A short name for a statement in error messages: its verb and first table. */
function contextOf(sql: string): string {
  const m = /^\s*(\w+)(?:[\s\S]*?\b(?:FROM|INTO|UPDATE|TABLE(?:\s+IF\s+NOT\s+EXISTS)?)\s+([\w.]+))?/i.exec(sql);
  if (m === null) return 'query';
  const verb = m[1]!.toLowerCase();
  return m[2] !== undefined ? `${verb} ${m[2]}` : verb;
}

function isConnectionError(e: unknown): boolean {
  return e instanceof DbError && (e.kind === 'connection' || e.kind === 'timeout');
}

const PG_CONNECTION_MSG = /connection terminated|not queryable|connection (?:is )?closed|terminating connection|server closed the connection|ECONNRESET|EPIPE/i;

/** Classifies a pg/mysql2/Node error; the message is redacted and prefixed with `context`. */
export function toDbError(e: unknown, context: string, redactor: Redactor): DbError {
  if (e instanceof DbError) return e;
  const err = e as { message?: unknown; code?: unknown; errno?: unknown; sqlState?: unknown; fatal?: unknown };
  const rawMsg = typeof err?.message === 'string' ? err.message : String(e);
  const code = typeof err?.code === 'string' ? err.code : '';
  let sqlState = typeof err?.sqlState === 'string' ? err.sqlState : '';
  if (sqlState === '' && /^[0-9A-Z]{5}$/.test(code)) sqlState = code; // pg puts SQLSTATE in .code
  let kind: DbErrorKind = 'query';
  if (/^(ECONNREFUSED|ECONNRESET|EPIPE|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ENOENT|PROTOCOL_CONNECTION_LOST|ER_CONNECTION_KILLED|ER_SERVER_SHUTDOWN|ER_CON_COUNT_ERROR|PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR|PROTOCOL_ENQUEUE_AFTER_QUIT)$/.test(code)) kind = 'connection';
  else if (/^(ETIMEDOUT|PROTOCOL_SEQUENCE_TIMEOUT|ER_LOCK_WAIT_TIMEOUT|ER_QUERY_TIMEOUT|ER_STATEMENT_TIMEOUT)$/.test(code)) kind = 'timeout';
  else if (/^(ER_ACCESS_DENIED_ERROR|ER_DBACCESS_DENIED_ERROR|ER_BAD_DB_ERROR|ER_NOT_SUPPORTED_AUTH_MODE|HANDSHAKE_NO_SSL_SUPPORT)$/.test(code)) kind = 'auth';
  else if (code === 'ER_NO_SUCH_TABLE') kind = 'missing_table';
  else if (code === 'ER_DUP_ENTRY') kind = 'duplicate';
  else if (sqlState !== '' && code === sqlState) {
    // postgres SQLSTATE classes
    if (sqlState.startsWith('08') || sqlState === '57P01' || sqlState === '57P02' || sqlState === '57P03') kind = 'connection';
    else if (sqlState === '57014') kind = 'timeout';
    else if (sqlState.startsWith('28') || sqlState === '3D000') kind = 'auth';
    else if (sqlState === '42P01') kind = 'missing_table';
    else if (sqlState === '23505') kind = 'duplicate';
  } else if (/timeout/i.test(rawMsg)) kind = 'timeout';
  else if (err?.fatal === true || PG_CONNECTION_MSG.test(rawMsg)) kind = 'connection';
  const msg = redactor.redact(`${context}: ${rawMsg}`);
  return new DbError(kind, msg, sqlState, code);
}
