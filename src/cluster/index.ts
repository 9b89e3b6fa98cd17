/**
 * The cluster layer's public surface: Mattermost database access for HA deployments.
 *
 *   openDb(SqlSettings.DriverName, SqlSettings.DataSource)       → Db (pool + dedicated sessions)
 *   new ClusterDiscovery(db, {clusterName})  .onChange(nodes)     → live app nodes
 *   buildTargets(nodes, opts)                                     → scrape target descriptors
 *   new LeaderElector(db, {name})  .onAcquire/.onLose/.isLeader   → one scraper in the cluster
 *   openDbJobStore(db)                                            → JobStore shared by all nodes
 *
 * Wiring order (see /work/notes/cluster.md): openDb → openDbJobStore → discovery.start() →
 * elector.start(); stop in reverse (elector, discovery, job store), then db.close().
 */
export { Db, DbConnection, openDb, defaultDbOptions, toDbError, toPgPlaceholders } from './db.js';
export type { DbOptions, Queryable, Row, Isolation } from './db.js';
export { parseDataSource, parseDriverName, parseGoDuration, describeDataSource } from './dsn.js';
export type { DataSourceConfig, DriverName, TlsMode } from './dsn.js';
export { ClusterError, DataSourceError, DbError, ClusterOptionsError, JobExistsError } from './errors.js';
export type { DbErrorKind } from './errors.js';
export { Redactor, redactingLogger, nopLogger, REDACTED } from './redact.js';
export type { ClusterLogger } from './redact.js';
export { ClusterDiscovery, DiscoveryError, defaultDiscoveryOptions, CDS_TYPE_APP, CDS_OFFLINE_AFTER_MS } from './discovery.js';
export type { DiscoveryOptions } from './discovery.js';
export { buildTargets, checkHostname, defaultTargetOptions, joinHostPort, staticNode } from './targets.js';
export type { ClusterNode, TargetDescriptor, TargetJob, TargetOptions, HostnameCheck } from './targets.js';
export { LeaderElector, defaultLeaderOptions, pgLockKey, mysqlLockName } from './leader.js';
export type { LeaderOptions, AcquireInfo, LoseInfo, LoseReason } from './leader.js';
export { DbJobStore, JobInvalidError, openDbJobStore, defaultDbJobStoreOptions } from './job-store.js';
export type { DbJobStoreOptions } from './job-store.js';
