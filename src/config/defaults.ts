/**
 * Every default, in one place, written the way a user would write it in YAML. Sources:
 * the Mattermost metrics plugin's settings (FACTS §3), Mattermost's FileSettings defaults
 * (FACTS §2), and our own choices where the plugin had none (marked "ours").
 *
 * The listen port 8075 is ours: next to Mattermost's 8065 (API), 8067 (metrics) and 8074
 * (cluster gossip), and free of all three. It binds to loopback by default; expose it
 * through the reverse proxy that fronts Mattermost, or set server.listenAddress.
 */
export const DEFAULT_LISTEN_PORT = 8075;

/** Plain JSON-like input tree (what YAML gives us). */
export type InputTree = { [key: string]: InputValue };
export type InputValue = string | number | boolean | null | InputValue[] | InputTree;

/** Returns a fresh copy of the defaults (callers may mutate it). */
export function defaultInput(): InputTree {
  return {
    scrape: {
      interval: '60s', // ScrapeIntervalSeconds
      timeout: '10s', // ScrapeTimeoutSeconds
      bodySizeLimit: '1GiB', // BodySizeLimitBytes
      sampleLimit: 0, // SampleLimit
      bucketLimit: 0, // BucketLimit
      honorTimestamps: true, // HonorTimestamps
      honorLabels: true, // the plugin's effective honor_labels (its HonorTimestamps bug, FACTS §3)
    },
    targets: {
      tls: false, // the plugin scrapes http only
      tlsInsecureSkipVerify: false,
      mattermost: {
        enabled: true,
        metricsListenAddress: ':8067', // MetricsSettings.ListenAddress
        metricsPath: '/metrics',
      },
      self: {
        enabled: true, // ours: the service's own /metrics, job "mm-metrics"
      },
      nodeExporter: {
        enabled: true, // EnableNodeExporterTargets
        port: 9100, // NodeExporterPort
      },
      calls: {
        enabled: false, // the plugin checks that Calls runs; from config.json: PluginStates["com.mattermost.calls"].Enable
        metricsPath: '/plugins/com.mattermost.calls/metrics',
        rtcdUrl: '', // Calls rtcdserviceurl
      },
      static: [],
    },
    storage: {
      dataDir: './data', // ours
      localRetention: '3d', // the plugin's constant
      remoteRetention: '15d', // RetentionDurationDays
      syncPeriod: '60m', // FileStoreSyncPeriodMinutes
      cleanupPeriod: '120m', // FileStoreCleanupPeriodMinutes
      allowOverlappingCompaction: true, // AllowOverlappingCompaction
    },
    supportPacket: {
      metricsDays: 1, // SupportPacketMetricsDays
    },
    server: {
      listenAddress: `127.0.0.1:${DEFAULT_LISTEN_PORT}`, // ours
      adminToken: '', // ours: '' = generate once into the data dir
      auth: {
        mode: 'static',
        siteUrl: '', // ServiceSettings.SiteURL
      },
    },
    fileStore: {
      driver: 'local', // FileSettings.DriverName
      directory: '', // '' = <storage.dataDir>/filestore (filled in by the loader)
      s3: {
        bucket: '',
        pathPrefix: '',
        region: '',
        endpoint: 's3.amazonaws.com',
        ssl: true,
        pathStyle: 'auto',
        accessKeyId: '',
        secretAccessKey: '',
        sse: false,
        trace: false,
        requestTimeout: '30s', // AmazonS3RequestTimeoutMilliseconds
        uploadPartSize: '5MiB', // AmazonS3UploadPartSizeBytes
        skipVerify: false, // ours: the plugin always skipped verification
        signV2: false,
      },
    },
    cluster: {
      enable: false, // ClusterSettings.Enable
      clusterName: '',
      nodeId: '',
      hostname: '',
      database: {
        driver: 'postgres', // SqlSettings.DriverName
        dataSource: '',
      },
      discoveryPollInterval: '60s', // the plugin's ticker
      leaderTakeover: '30s', // ours
      headShipPeriod: '5m', // ours
    },
    log: {
      level: 'info',
    },
  };
}
