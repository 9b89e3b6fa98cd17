import { describe, expect, test } from 'vitest';
import { settingsFromConfig } from '../../src/app/settings.js';
import { loadConfig } from '../../src/config/index.js';

describe('settingsFromConfig', () => {
  test.each([
    { env: {}, scrapeSelf: true, nodeExporter: true },
    { env: { MM_METRICS_TARGETS_SELF_ENABLED: 'false' }, scrapeSelf: false, nodeExporter: true },
    { env: { MM_METRICS_TARGETS_NODE_EXPORTER_ENABLED: 'false' }, scrapeSelf: true, nodeExporter: false },
  ])('targets from $env: self $scrapeSelf, node exporter $nodeExporter', async ({ env, scrapeSelf, nodeExporter }) => {
    const s = settingsFromConfig(await loadConfig({ env }));
    expect(s.targets.scrapeSelf).toBe(scrapeSelf);
    expect(s.targets.nodeExporter.enabled).toBe(nodeExporter);
  });
});
