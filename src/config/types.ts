/**
 * The validated service configuration, as the rest of the program sees it. Durations are
 * milliseconds, sizes are bytes; every field is present (defaults filled in). The input
 * form (YAML, environment, CLI) is looser: see schema.ts and docs in defaults.ts.
 *
 * The YAML keys are exactly these property names, so an error path like
 * `scrape.interval` is both the YAML location and the TypeScript property.
 */

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
export type AuthMode = 'static' | 'mattermost';
export type FileStoreDriver = 'local' | 's3';
export type DatabaseDriver = 'postgres' | 'mysql';

/** An extra scrape target group (Prometheus static_config plus a job name). */
export interface StaticTargetConfig {
  /** Value of the `job` label. */
  job: string;
  /** host:port addresses. */
  targets: string[];
  /** Path to scrape, default "/metrics". */
  metricsPath: string;
  /** Use https for these targets (default: targets.tls). */
  tls: boolean;
  /** Extra labels added to every series of these targets. */
  labels: Record<string, string>;
}

export interface Config {
  scrape: {
    /** Scrape interval (plugin ScrapeIntervalSeconds, 60 s, ≥ 1 s). */
    interval: number;
    /** Scrape timeout (plugin ScrapeTimeoutSeconds, 10 s, ≥ 1 s and ≤ interval). */
    timeout: number;
    /** Max uncompressed body bytes per scrape (plugin BodySizeLimitBytes, 1 GiB, ≥ 100). */
    bodySizeLimit: number;
    /** Max samples per scrape, 0 = unlimited (plugin SampleLimit). */
    sampleLimit: number;
    /** Native-histogram bucket limit, 0 = unlimited (plugin BucketLimit). */
    bucketLimit: number;
    /** Keep timestamps exposed by targets (plugin HonorTimestamps, true). */
    honorTimestamps: boolean;
    /** Target labels win over our target labels on conflict (the plugin's effective behaviour: true). */
    honorLabels: boolean;
  };
  targets: {
    /** Scrape Mattermost/Calls targets over https. */
    tls: boolean;
    /** Do not verify target certificates (self-signed internal listeners). */
    tlsInsecureSkipVerify: boolean;
    mattermost: {
      /** Scrape the Mattermost metrics listener(s). */
      enabled: boolean;
      /** MetricsSettings.ListenAddress (":8067"); its port is used on every node. */
      metricsListenAddress: string;
      metricsPath: string;
    };
    self: {
      /** Scrape the service's own /metrics (job "mm-metrics"), as Prometheus scrapes itself. */
      enabled: boolean;
    };
    nodeExporter: {
      /** plugin EnableNodeExporterTargets (true). */
      enabled: boolean;
      /** plugin NodeExporterPort (9100, 1–65535). */
      port: number;
    };
    calls: {
      /** Scrape the Calls plugin through each node's metrics listener. */
      enabled: boolean;
      metricsPath: string;
      /** Calls plugin setting rtcdserviceurl; '' = no RTCD targets. */
      rtcdUrl: string;
    };
    static: StaticTargetConfig[];
  };
  storage: {
    /** Root for local state: tsdb/, jobs/, the admin token file, and (by default) filestore/. */
    dataDir: string;
    /** Local TSDB retention (the plugin's constant: 3 days). */
    localRetention: number;
    /** File-store (remote) retention (plugin RetentionDurationDays, 15 d). */
    remoteRetention: number;
    /** Block upload period (plugin FileStoreSyncPeriodMinutes, 60 min). */
    syncPeriod: number;
    /** Remote retention sweep period (plugin FileStoreCleanupPeriodMinutes, 120 min). */
    cleanupPeriod: number;
    /** plugin AllowOverlappingCompaction (true). */
    allowOverlappingCompaction: boolean;
  };
  supportPacket: {
    /** Days of metrics in a support-packet dump (plugin SupportPacketMetricsDays, 1, ≥ 1). */
    metricsDays: number;
  };
  server: {
    /** HTTP API listen address (127.0.0.1:8075). */
    listenAddress: string;
    /** Static admin token; '' = generated once and kept in <dataDir> (api/token.ts). Secret. */
    adminToken: string;
    auth: {
      mode: AuthMode;
      /** Mattermost SiteURL, required for mode "mattermost". */
      siteUrl: string;
    };
  };
  fileStore: {
    driver: FileStoreDriver;
    /** Local root (default <storage.dataDir>/filestore). */
    directory: string;
    s3: {
      bucket: string;
      pathPrefix: string;
      region: string;
      /** host[:port] without scheme (AmazonS3Endpoint). */
      endpoint: string;
      ssl: boolean;
      /** null = auto (path style for non-AWS endpoints). */
      pathStyle: boolean | null;
      accessKeyId: string;
      /** Secret. */
      secretAccessKey: string;
      sse: boolean;
      trace: boolean;
      /** AmazonS3RequestTimeoutMilliseconds (30 s). */
      requestTimeout: number;
      /** AmazonS3UploadPartSizeBytes (5 MiB, 5 MiB–5 GiB). */
      uploadPartSize: number;
      skipVerify: boolean;
      /** AmazonS3SignV2: accepted for config.json compatibility, not supported (warning). */
      signV2: boolean;
    };
  };
  cluster: {
    /** ClusterSettings.Enable: HA mode (discovery, leader election, shared job store). */
    enable: boolean;
    /** ClusterSettings.ClusterName. */
    clusterName: string;
    /** Stable id of this node for leases and job ownership; '' = app derives it from the hostname. */
    nodeId: string;
    /** How this node names itself (ClusterSettings.OverrideHostname); '' = OS hostname. */
    hostname: string;
    database: {
      driver: DatabaseDriver;
      /** SqlSettings.DataSource. Secret (contains the DB password). */
      dataSource: string;
    };
    /** ClusterDiscovery poll period (60 s). */
    discoveryPollInterval: number;
    /** Worst-case time for a standby to take over scraping (30 s). */
    leaderTakeover: number;
    /** How often the scraper ships its head to the file store in HA mode (5 min). */
    headShipPeriod: number;
  };
  log: {
    level: LogLevel;
  };
}

/** Paths of the settings that are secrets: never echoed in errors, masked by redact(). */
export const SECRET_PATHS: readonly string[] = [
  'server.adminToken',
  'fileStore.s3.accessKeyId',
  'fileStore.s3.secretAccessKey',
  'cluster.database.dataSource',
];
