/**
 * Environment overrides for mm-metrics's own settings.
 *
 * Scheme: MM_METRICS_ + the key path, each camelCase segment written in UPPER_SNAKE_CASE,
 * segments joined by "_":   scrape.interval            → MM_METRICS_SCRAPE_INTERVAL
 *                           fileStore.s3.secretAccessKey → MM_METRICS_FILE_STORE_S3_SECRET_ACCESS_KEY
 * The table below is the whole mapping (a test checks it covers every setting and follows the
 * rule); nothing is guessed at run time.
 *
 * Values are strings and are converted by kind:
 *   bool       true/false (also 1/0, case-insensitive)
 *   int        decimal integer
 *   duration   "30s", "5m", "15d" or a number of seconds (validated by the schema)
 *   bytes      "1GiB" or a number of bytes (validated by the schema)
 *   json       JSON text (targets.static: a list of target groups)
 *   pathStyle  auto/true/false
 *   string     as is
 * A value that cannot be converted is passed on unchanged, so the schema reports it with the
 * usual "expected …, got …" message and the variable name as its source.
 *
 * RESERVED_ENV names variables that other parts of the program read themselves (the CLI's
 * MM_METRICS_CONFIG / MM_METRICS_MATTERMOST_CONFIG file paths, its shutdown bound); other
 * unknown MM_METRICS_* variables produce a warning with the nearest known name.
 *
 * Mattermost's own MM_<SECTION>_<SETTING> overrides (MM_SQLSETTINGS_DATASOURCE, …) are a
 * different scheme, applied to config.json by mattermost.ts.
 */
import type { InputTree, InputValue } from './defaults.js';
import type { ConfigLayer } from './layers.js';
import { isTree, suggest } from './layers.js';

export type EnvKind = 'bool' | 'int' | 'duration' | 'bytes' | 'json' | 'pathStyle' | 'string';

export const ENV_PREFIX = 'MM_METRICS_';
export const RESERVED_ENV = ['MM_METRICS_CONFIG', 'MM_METRICS_MATTERMOST_CONFIG', 'MM_METRICS_SHUTDOWN_TIMEOUT_MS'] as const;

/** [variable, key path, kind] — every setting, in the order of defaults.ts. */
export const ENV_TABLE: ReadonlyArray<readonly [string, string, EnvKind]> = [
  ['MM_METRICS_SCRAPE_INTERVAL', 'scrape.interval', 'duration'],
  ['MM_METRICS_SCRAPE_TIMEOUT', 'scrape.timeout', 'duration'],
  ['MM_METRICS_SCRAPE_BODY_SIZE_LIMIT', 'scrape.bodySizeLimit', 'bytes'],
  ['MM_METRICS_SCRAPE_SAMPLE_LIMIT', 'scrape.sampleLimit', 'int'],
  ['MM_METRICS_SCRAPE_BUCKET_LIMIT', 'scrape.bucketLimit', 'int'],
  ['MM_METRICS_SCRAPE_HONOR_TIMESTAMPS', 'scrape.honorTimestamps', 'bool'],
  ['MM_METRICS_SCRAPE_HONOR_LABELS', 'scrape.honorLabels', 'bool'],
  ['MM_METRICS_TARGETS_TLS', 'targets.tls', 'bool'],
  ['MM_METRICS_TARGETS_TLS_INSECURE_SKIP_VERIFY', 'targets.tlsInsecureSkipVerify', 'bool'],
  ['MM_METRICS_TARGETS_MATTERMOST_ENABLED', 'targets.mattermost.enabled', 'bool'],
  ['MM_METRICS_TARGETS_MATTERMOST_METRICS_LISTEN_ADDRESS', 'targets.mattermost.metricsListenAddress', 'string'],
  ['MM_METRICS_TARGETS_MATTERMOST_METRICS_PATH', 'targets.mattermost.metricsPath', 'string'],
  ['MM_METRICS_TARGETS_SELF_ENABLED', 'targets.self.enabled', 'bool'],
  ['MM_METRICS_TARGETS_NODE_EXPORTER_ENABLED', 'targets.nodeExporter.enabled', 'bool'],
  ['MM_METRICS_TARGETS_NODE_EXPORTER_PORT', 'targets.nodeExporter.port', 'int'],
  ['MM_METRICS_TARGETS_CALLS_ENABLED', 'targets.calls.enabled', 'bool'],
  ['MM_METRICS_TARGETS_CALLS_METRICS_PATH', 'targets.calls.metricsPath', 'string'],
  ['MM_METRICS_TARGETS_CALLS_RTCD_URL', 'targets.calls.rtcdUrl', 'string'],
  ['MM_METRICS_TARGETS_STATIC', 'targets.static', 'json'],
  ['MM_METRICS_STORAGE_DATA_DIR', 'storage.dataDir', 'string'],
  ['MM_METRICS_STORAGE_LOCAL_RETENTION', 'storage.localRetention', 'duration'],
  ['MM_METRICS_STORAGE_REMOTE_RETENTION', 'storage.remoteRetention', 'duration'],
  ['MM_METRICS_STORAGE_SYNC_PERIOD', 'storage.syncPeriod', 'duration'],
  ['MM_METRICS_STORAGE_CLEANUP_PERIOD', 'storage.cleanupPeriod', 'duration'],
  ['MM_METRICS_STORAGE_ALLOW_OVERLAPPING_COMPACTION', 'storage.allowOverlappingCompaction', 'bool'],
  ['MM_METRICS_SUPPORT_PACKET_METRICS_DAYS', 'supportPacket.metricsDays', 'int'],
  ['MM_METRICS_SERVER_LISTEN_ADDRESS', 'server.listenAddress', 'string'],
  ['MM_METRICS_SERVER_ADMIN_TOKEN', 'server.adminToken', 'string'],
  ['MM_METRICS_SERVER_AUTH_MODE', 'server.auth.mode', 'string'],
  ['MM_METRICS_SERVER_AUTH_SITE_URL', 'server.auth.siteUrl', 'string'],
  ['MM_METRICS_FILE_STORE_DRIVER', 'fileStore.driver', 'string'],
  ['MM_METRICS_FILE_STORE_DIRECTORY', 'fileStore.directory', 'string'],
  ['MM_METRICS_FILE_STORE_S3_BUCKET', 'fileStore.s3.bucket', 'string'],
  ['MM_METRICS_FILE_STORE_S3_PATH_PREFIX', 'fileStore.s3.pathPrefix', 'string'],
  ['MM_METRICS_FILE_STORE_S3_REGION', 'fileStore.s3.region', 'string'],
  ['MM_METRICS_FILE_STORE_S3_ENDPOINT', 'fileStore.s3.endpoint', 'string'],
  ['MM_METRICS_FILE_STORE_S3_SSL', 'fileStore.s3.ssl', 'bool'],
  ['MM_METRICS_FILE_STORE_S3_PATH_STYLE', 'fileStore.s3.pathStyle', 'pathStyle'],
  ['MM_METRICS_FILE_STORE_S3_ACCESS_KEY_ID', 'fileStore.s3.accessKeyId', 'string'],
  ['MM_METRICS_FILE_STORE_S3_SECRET_ACCESS_KEY', 'fileStore.s3.secretAccessKey', 'string'],
  ['MM_METRICS_FILE_STORE_S3_SSE', 'fileStore.s3.sse', 'bool'],
  ['MM_METRICS_FILE_STORE_S3_TRACE', 'fileStore.s3.trace', 'bool'],
  ['MM_METRICS_FILE_STORE_S3_REQUEST_TIMEOUT', 'fileStore.s3.requestTimeout', 'duration'],
  ['MM_METRICS_FILE_STORE_S3_UPLOAD_PART_SIZE', 'fileStore.s3.uploadPartSize', 'bytes'],
  ['MM_METRICS_FILE_STORE_S3_SKIP_VERIFY', 'fileStore.s3.skipVerify', 'bool'],
  ['MM_METRICS_FILE_STORE_S3_SIGN_V2', 'fileStore.s3.signV2', 'bool'],
  ['MM_METRICS_CLUSTER_ENABLE', 'cluster.enable', 'bool'],
  ['MM_METRICS_CLUSTER_CLUSTER_NAME', 'cluster.clusterName', 'string'],
  ['MM_METRICS_CLUSTER_NODE_ID', 'cluster.nodeId', 'string'],
  ['MM_METRICS_CLUSTER_HOSTNAME', 'cluster.hostname', 'string'],
  ['MM_METRICS_CLUSTER_DATABASE_DRIVER', 'cluster.database.driver', 'string'],
  ['MM_METRICS_CLUSTER_DATABASE_DATA_SOURCE', 'cluster.database.dataSource', 'string'],
  ['MM_METRICS_CLUSTER_DISCOVERY_POLL_INTERVAL', 'cluster.discoveryPollInterval', 'duration'],
  ['MM_METRICS_CLUSTER_LEADER_TAKEOVER', 'cluster.leaderTakeover', 'duration'],
  ['MM_METRICS_CLUSTER_HEAD_SHIP_PERIOD', 'cluster.headShipPeriod', 'duration'],
  ['MM_METRICS_LOG_LEVEL', 'log.level', 'string'],
];

/** The variable name the scheme gives a key path (used by the table test and for docs). */
export function envNameFor(path: string): string {
  return ENV_PREFIX + path.split('.').map((s) => s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_');
}

/** Converts one variable's text by kind; returns the raw text when it does not convert. */
export function convertEnv(kind: EnvKind, raw: string): InputValue {
  const t = raw.trim();
  switch (kind) {
    case 'bool': {
      const l = t.toLowerCase();
      if (l === 'true' || l === '1') return true;
      if (l === 'false' || l === '0') return false;
      return raw;
    }
    case 'int':
      return /^-?\d+$/.test(t) ? Number(t) : raw;
    case 'pathStyle': {
      const l = t.toLowerCase();
      return l === 'auto' ? 'auto' : l === 'true' ? true : l === 'false' ? false : raw;
    }
    case 'json':
      try {
        return JSON.parse(t) as InputValue;
      } catch {
        return raw;
      }
    case 'duration':
    case 'bytes':
      // A bare number stays a string: the schema reads "60" as 60 seconds / 60 bytes either way.
      return t;
    case 'string':
      return raw;
  }
}

function setPath(tree: InputTree, path: string[], v: InputValue): void {
  let o = tree;
  for (const seg of path.slice(0, -1)) {
    const next = o[seg];
    if (!isTree(next)) o[seg] = {};
    o = o[seg] as InputTree;
  }
  o[path[path.length - 1]!] = v;
}

/** Builds the environment layer and warnings for unknown MM_METRICS_* variables. */
export function envLayer(env: Readonly<Record<string, string | undefined>>): { layer: ConfigLayer; warnings: string[] } {
  const values: InputTree = {};
  const where = new Map<string, string>();
  const known = new Set(ENV_TABLE.map(([name]) => name));
  for (const [name, path, kind] of ENV_TABLE) {
    const raw = env[name];
    if (raw === undefined) continue;
    setPath(values, path.split('.'), convertEnv(kind, raw));
    where.set(path, `env ${name}`);
  }
  const warnings: string[] = [];
  for (const name of Object.keys(env)) {
    if (!name.startsWith(ENV_PREFIX) || known.has(name) || (RESERVED_ENV as readonly string[]).includes(name)) continue;
    const hint = suggest(name, [...known]);
    warnings.push(`environment variable ${name} is not a mm-metrics setting and is ignored${hint !== '' ? ` (did you mean ${hint}?)` : ''}`);
  }
  return {
    layer: {
      name: 'environment',
      values,
      describe: (p) => {
        // Any path at or below a variable's key reports that variable (targets.static[0].job → MM_METRICS_TARGETS_STATIC).
        const keys = p.filter((x): x is string => typeof x === 'string');
        for (let n = keys.length; n > 0; n--) {
          const w = where.get(keys.slice(0, n).join('.'));
          if (w !== undefined) return w;
        }
        return 'environment';
      },
    },
    warnings,
  };
}
