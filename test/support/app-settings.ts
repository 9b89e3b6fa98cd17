/** AppSettings for tests: one node, loopback on a free port, 1 s scrapes of the given targets. */
import { join } from 'node:path';
import type { AppSettings } from '../../src/app.js';
import { openFileStore } from '../../src/filestore/index.js';

export function testAppSettings(dataDir: string, targetUrls: string[], token: string): AppSettings {
  return {
    dataDir,
    listen: { host: '127.0.0.1', port: 0 },
    auth: { mode: 'static', token },
    scrape: {
      scrapeInterval: 1000,
      scrapeTimeout: 1000,
      honorLabels: true,
      honorTimestamps: true,
      sampleLimit: 0,
      bodySizeLimit: 1 << 30,
      labelLimit: 0,
      labelNameLengthLimit: 0,
      labelValueLengthLimit: 0,
    },
    targets: {
      scrapeSelf: true,
      localHost: 'localhost',
      metricsPort: 8067,
      mattermostEnabled: false,
      mattermostPath: '/metrics',
      scheme: 'http',
      nodeExporter: { enabled: false, port: 9100 },
      calls: { enabled: false, path: '/plugins/com.mattermost.calls/metrics', rtcdUrl: '' },
      extra: targetUrls.map((url) => ({ url, job: 'prometheus' })),
    },
    tsdb: { retentionMs: 3 * 86_400_000, maxBytes: 0 },
    shipping: { retentionMs: 15 * 86_400_000, syncPeriodMs: 3_600_000, cleanupPeriodMs: 7_200_000 },
    openFileStore: () => openFileStore({ driver: 'local', root: join(dataDir, 'filestore') }),
    cluster: null,
    packet: { serverVersion: '10.5.0' },
  };
}
