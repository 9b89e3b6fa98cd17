/**
 * Errors of the cluster layer. Each has a stable `code`; messages say what was wrong and
 * where, and never contain a password: they are built from redacted text only (see
 * redact.ts), and the raw driver error is never attached as `cause` because drivers may
 * echo connection parameters.
 */
export class ClusterError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
    this.name = new.target.name;
  }
}

/**
 * The SqlSettings DriverName/DataSource pair cannot be used. `field` names the part that
 * is wrong (`driverName`, `scheme`, `host`, `port`, `database`, `param:<name>`, …).
 */
export class DataSourceError extends ClusterError {
  readonly field: string;
  constructor(field: string, message: string) {
    super('MM_ERR_DSN_INVALID', `invalid data source (${field}): ${message}`);
    this.field = field;
  }
}

/**
 * A database operation failed. `kind` classifies it for callers that react differently
 * (retry on `connection`, tell the admin on `auth`/`missing_table`); `sqlState` is the
 * SQLSTATE when the server sent one, `driverCode` the driver's own code (e.g. `ECONNREFUSED`,
 * `ER_NO_SUCH_TABLE`).
 */
export class DbError extends ClusterError {
  readonly kind: DbErrorKind;
  readonly sqlState: string;
  readonly driverCode: string;
  constructor(kind: DbErrorKind, message: string, sqlState: string, driverCode: string) {
    super(dbErrorCode(kind), message);
    this.kind = kind;
    this.sqlState = sqlState;
    this.driverCode = driverCode;
  }
}

export type DbErrorKind =
  | 'connection' // refused, reset, DNS, closed, terminated by admin, server shutting down
  | 'timeout' // connect or query timeout (ours or the server's)
  | 'auth' // bad user/password, no such database
  | 'missing_table'
  | 'duplicate' // unique/primary key violation
  | 'query'; // anything else the server rejected

function dbErrorCode(kind: DbErrorKind): string {
  switch (kind) {
    case 'connection':
      return 'MM_ERR_DB_CONNECTION';
    case 'timeout':
      return 'MM_ERR_DB_TIMEOUT';
    case 'auth':
      return 'MM_ERR_DB_AUTH';
    case 'missing_table':
      return 'MM_ERR_DB_MISSING_TABLE';
    case 'duplicate':
      return 'MM_ERR_DB_DUPLICATE';
    case 'query':
      return 'MM_ERR_DB_QUERY';
  }
}

/** Options given to a cluster component are inconsistent (e.g. a takeover bound that the timings cannot meet). */
export class ClusterOptionsError extends ClusterError {
  constructor(message: string) {
    super('MM_ERR_CLUSTER_OPTIONS', message);
  }
}

/** A job id already exists in the store. */
export class JobExistsError extends ClusterError {
  readonly id: string;
  constructor(id: string) {
    super('MM_ERR_JOB_EXISTS', `job ${id} already exists`);
    this.id = id;
  }
}
