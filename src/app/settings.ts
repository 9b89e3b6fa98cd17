/**
 * The validated configuration (src/config) turned into what `startApp` takes: the one
 * place that knows both shapes.
 */
import { hostname } from 'node:os';
import { fileStoreOptions, type Config } from '../config/index.js';
import { openFileStore } from '../filestore/open.js';
import type { AppSettings } from '../app.js';

/** "host:port", ":port", "[v6]:port" → parts; an empty host means all interfaces. */
export function splitListenAddress(addr: string, what: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]*)\]|([^:]*)):(\d{1,5})$/.exec(addr.trim());
  if (!m) throw new Error(`${what}: expected HOST:PORT, got ${JSON.stringify(addr)}`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`${what}: port ${port} is out of range`);
  return { host: m[1] ?? m[2] ?? '', port };
}

export function settingsFromConfig(c: Config): AppSettings {
  const listen = splitListenAddress(c.server.listenAddress, 'server.listenAddress');
  const mm = splitListenAddress(c.targets.mattermost.metricsListenAddress, 'targets.mattermost.metricsListenAddress');
  const scheme = c.targets.tls ? 'https' : 'http';
  const extra = c.targets.static.flatMap((g) =>
    g.targets.map((addr) => ({ url: `${g.tls ? 'https' : 'http'}://${addr}${g.metricsPath.startsWith('/') ? '' : '/'}${g.metricsPath}`, job: g.job, labels: g.labels })),
  );
  return {
    dataDir: c.storage.dataDir,
    listen: { host: listen.host || '0.0.0.0', port: listen.port },
    auth: c.server.auth.mode === 'mattermost' ? { mode: 'mattermost', siteURL: c.server.auth.siteUrl } : { mode: 'static', token: c.server.adminToken || undefined },
    scrape: {
      scrapeInterval: c.scrape.interval,
      scrapeTimeout: c.scrape.timeout,
      honorLabels: c.scrape.honorLabels,
      honorTimestamps: c.scrape.honorTimestamps,
      sampleLimit: c.scrape.sampleLimit,
      bodySizeLimit: c.scrape.bodySizeLimit,
      labelLimit: 0,
      labelNameLengthLimit: 0,
      labelValueLengthLimit: 0,
    },
    targets: {
      scrapeSelf: c.targets.self.enabled,
      localHost: mm.host || 'localhost',
      metricsPort: mm.port,
      mattermostEnabled: c.targets.mattermost.enabled,
      mattermostPath: c.targets.mattermost.metricsPath,
      scheme,
      nodeExporter: { enabled: c.targets.nodeExporter.enabled, port: c.targets.nodeExporter.port },
      calls: { enabled: c.targets.calls.enabled, path: c.targets.calls.metricsPath, rtcdUrl: c.targets.calls.rtcdUrl },
      extra,
    },
    tsdb: { retentionMs: c.storage.localRetention, maxBytes: 0 },
    shipping: { retentionMs: c.storage.remoteRetention, syncPeriodMs: c.storage.syncPeriod, cleanupPeriodMs: c.storage.cleanupPeriod },
    openFileStore: () => openFileStore(fileStoreOptions(c.fileStore)),
    cluster: c.cluster.enable
      ? {
          driverName: c.cluster.database.driver,
          dataSource: c.cluster.database.dataSource,
          clusterName: c.cluster.clusterName,
          nodeId: c.cluster.nodeId || c.cluster.hostname || hostname(),
          discoveryPollMs: c.cluster.discoveryPollInterval,
          takeoverBoundMs: c.cluster.leaderTakeover,
          headShipPeriodMs: c.cluster.headShipPeriod,
        }
      : null,
    packet: { serverVersion: '0.0.0' },
  };
}
