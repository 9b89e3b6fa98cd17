import { describe, expect, test } from 'vitest';
import { buildScrapeTargets, type TargetSettings } from '../../src/app/targets.js';
import { defaultScrapeConfig } from '../../src/scrape/index.js';
import type { ClusterNode } from '../../src/cluster/index.js';

function settings(over: Partial<TargetSettings> = {}): TargetSettings {
  return {
    base: defaultScrapeConfig(),
    selfUrl: 'http://127.0.0.1:8075/metrics',
    localHost: 'localhost',
    metricsPort: 8067,
    mattermostEnabled: true,
    mattermostPath: '/metrics',
    scheme: 'http',
    nodeExporter: { enabled: true, port: 9100 },
    calls: { enabled: false, path: '/plugins/com.mattermost.calls/metrics', rtcdUrl: '' },
    extra: [],
    ...over,
  };
}

const node = (hostname: string): ClusterNode => ({ id: hostname.replace(/\W/g, '').padEnd(26, 'x'), hostname, clusterName: 'c', gossipPort: 8074, port: 8065, createAt: 0, lastPingAt: 0 });

function summary(ts: Awaited<ReturnType<typeof buildScrapeTargets>>['targets']): string[] {
  return ts.map((t) => `${t.labels.get('job')} ${t.labels.get('instance')} ${t.url}`);
}

describe('buildScrapeTargets', () => {
  test('single node: itself, the local Mattermost node and its node exporter, with the plugin job names', async () => {
    const { targets, problems } = await buildScrapeTargets(settings(), null);
    expect(problems).toEqual([]);
    expect(summary(targets)).toEqual([
      'mm-metrics 127.0.0.1:8075 http://127.0.0.1:8075/metrics',
      'prometheus localhost:8067 http://localhost:8067/metrics',
      'node localhost:9100 http://localhost:9100/metrics',
    ]);
  });

  test('cluster: every discovered node, Calls through each node, and RTCD by resolved IP (plus its node exporter)', async () => {
    const { targets, problems } = await buildScrapeTargets(
      settings({ selfUrl: null, calls: { enabled: true, path: '/plugins/com.mattermost.calls/metrics', rtcdUrl: 'http://localhost:8045' } }),
      [node('10.0.0.5'), node('app-2.internal')],
    );
    expect(problems).toEqual([]);
    expect(summary(targets)).toEqual([
      'prometheus 10.0.0.5:8067 http://10.0.0.5:8067/metrics',
      'node 10.0.0.5:9100 http://10.0.0.5:9100/metrics',
      'calls 10.0.0.5:8067 http://10.0.0.5:8067/plugins/com.mattermost.calls/metrics',
      'prometheus app-2.internal:8067 http://app-2.internal:8067/metrics',
      'node app-2.internal:9100 http://app-2.internal:9100/metrics',
      'calls app-2.internal:8067 http://app-2.internal:8067/plugins/com.mattermost.calls/metrics',
      'calls 127.0.0.1:8045 http://127.0.0.1:8045/metrics',
      'node 127.0.0.1:9100 http://127.0.0.1:9100/metrics',
    ]);
  });

  test('bad entries are reported and skipped, never fatal', async () => {
    const { targets, problems } = await buildScrapeTargets(
      settings({ selfUrl: null, mattermostEnabled: false, nodeExporter: { enabled: false, port: 9100 }, calls: { enabled: true, path: '/x', rtcdUrl: 'http://localhost' }, extra: [{ url: 'ftp://x/metrics', job: 'static' }, { url: 'http://ok:9/m', job: 'static' }] }),
      null,
    );
    expect(summary(targets)).toEqual(['calls localhost:8067 http://localhost:8067/x', 'static ok:9 http://ok:9/m']);
    expect(problems.map((p) => p.what)).toEqual(['rtcd http://localhost', 'static ftp://x/metrics']);
    expect(problems[0]!.error).toMatch(/explicit port/);
  });
});
