/**
 * Validation: each bad value is rejected with a message that names its key path and says what
 * is allowed; good values in every accepted form parse to the documented output.
 */
import { describe, expect, test } from 'vitest';
import { ConfigError, ConfigErrorCode, defaultConfig, loadConfig, type Config } from '../../src/config/index.js';

/** Builds {a: {b: v}} from "a.b". */
function at(path: string, v: unknown): Record<string, unknown> {
  const segs = path.split('.');
  let o: unknown = v;
  for (const s of segs.reverse()) o = { [s]: o };
  return o as Record<string, unknown>;
}

function merge(...parts: Record<string, unknown>[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const put = (dst: Record<string, unknown>, src: Record<string, unknown>) => {
    for (const [k, v] of Object.entries(src)) {
      if (v !== null && typeof v === 'object' && !Array.isArray(v) && typeof dst[k] === 'object' && dst[k] !== null) put(dst[k] as Record<string, unknown>, v as Record<string, unknown>);
      else dst[k] = v;
    }
  };
  for (const p of parts) put(out, p);
  return out;
}

async function problems(overrides: Record<string, unknown>): Promise<ConfigError> {
  try {
    await loadConfig({ overrides });
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected the configuration to be rejected');
}

describe('bad values are rejected with the key path and the allowed values', () => {
  const cases: Array<{ name: string; input: Record<string, unknown>; path: string; says: string[] }> = [
    { name: 'a scrape interval that is not a duration', input: at('scrape.interval', 'abc'), path: 'scrape.interval', says: ['expected a duration like "60s"', 'got "abc"'] },
    { name: 'a scrape interval below one second', input: at('scrape.interval', '500ms'), path: 'scrape.interval', says: ['must be at least 1s', 'got 500ms'] },
    { name: 'a negative scrape interval', input: at('scrape.interval', -5), path: 'scrape.interval', says: ['expected a duration', 'got -5'] },
    { name: 'units in the wrong order', input: at('scrape.interval', '1m1h'), path: 'scrape.interval', says: ['expected a duration', 'got "1m1h"'] },
    { name: 'a scrape timeout below one second', input: at('scrape.timeout', '0s'), path: 'scrape.timeout', says: ['must be at least 1s'] },
    { name: 'a scrape timeout longer than the interval', input: at('scrape', { interval: '30s', timeout: '45s' }), path: 'scrape.timeout', says: ['must not exceed scrape.interval (30s)', 'got 45s'] },
    { name: 'a body size limit below 100 bytes', input: at('scrape.bodySizeLimit', 99), path: 'scrape.bodySizeLimit', says: ['from 100', 'got 99'] },
    { name: 'a body size limit in decimal megabytes', input: at('scrape.bodySizeLimit', '10MB'), path: 'scrape.bodySizeLimit', says: ['units B, KiB, MiB, GiB, TiB', 'got "10MB"'] },
    { name: 'a negative sample limit', input: at('scrape.sampleLimit', -1), path: 'scrape.sampleLimit', says: ['expected an integer ≥ 0', 'got -1'] },
    { name: 'a fractional sample limit', input: at('scrape.sampleLimit', 1.5), path: 'scrape.sampleLimit', says: ['expected an integer ≥ 0'] },
    { name: 'honor timestamps given as "yes"', input: at('scrape.honorTimestamps', 'yes'), path: 'scrape.honorTimestamps', says: ['expected true or false', 'got "yes"'] },
    { name: 'honor labels given as 1', input: at('scrape.honorLabels', 1), path: 'scrape.honorLabels', says: ['expected true or false', 'got 1'] },
    { name: 'a node exporter port of 0', input: at('targets.nodeExporter.port', 0), path: 'targets.nodeExporter.port', says: ['expected an integer from 1 to 65535', 'got 0'] },
    { name: 'a node exporter port above 65535', input: at('targets.nodeExporter.port', 70000), path: 'targets.nodeExporter.port', says: ['from 1 to 65535', 'got 70000'] },
    { name: 'a node exporter port as a string', input: at('targets.nodeExporter.port', '9100'), path: 'targets.nodeExporter.port', says: ['expected an integer from 1 to 65535', 'got "9100"'] },
    { name: 'a Mattermost metrics address without a port', input: at('targets.mattermost.metricsListenAddress', 'localhost'), path: 'targets.mattermost.metricsListenAddress', says: ['expected host:port', 'got "localhost"'] },
    { name: 'a Calls metrics path without a leading slash', input: at('targets.calls.metricsPath', 'plugins/x'), path: 'targets.calls.metricsPath', says: ['starting with "/"'] },
    { name: 'an RTCD URL with an ftp scheme', input: at('targets.calls.rtcdUrl', 'ftp://rtcd:8045'), path: 'targets.calls.rtcdUrl', says: ['expected an http:// or https:// URL', 'got "ftp://rtcd:8045"'] },
    { name: 'a static target group that is not a list', input: at('targets.static', { job: 'x' }), path: 'targets.static', says: ['expected a list of target groups'] },
    { name: 'a static target without a port', input: at('targets.static', [{ job: 'db', targets: ['db1'] }]), path: 'targets.static[0].targets[0]', says: ['expected host:port', 'got "db1"'] },
    { name: 'a static target group without targets', input: at('targets.static', [{ job: 'db', targets: [] }]), path: 'targets.static[0].targets', says: ['at least one host:port'] },
    { name: 'a static target label with a reserved name', input: at('targets.static', [{ job: 'db', targets: ['db:1'], labels: { __name__: 'x' } }]), path: 'targets.static[0].labels.__name__', says: ['expected a label name', 'not starting with "__"'] },
    { name: 'an unknown key in a static target group', input: at('targets.static', [{ job: 'db', targets: ['db:1'], path: '/m' }]), path: 'targets.static[0].path', says: ['unknown setting', 'allowed here: job, targets, metricsPath, tls, labels'] },
    { name: 'an empty data dir', input: at('storage.dataDir', ''), path: 'storage.dataDir', says: ['non-empty directory path'] },
    { name: 'a remote retention under an hour', input: at('storage.remoteRetention', '30m'), path: 'storage.remoteRetention', says: ['must be at least 1h', 'got 30m'] },
    { name: 'a sync period of zero (which panicked the plugin)', input: at('storage.syncPeriod', 0), path: 'storage.syncPeriod', says: ['must be at least 1s', 'got 0s'] },
    { name: 'a cleanup period of zero', input: at('storage.cleanupPeriod', '0'), path: 'storage.cleanupPeriod', says: ['must be at least 1s'] },
    { name: 'support-packet days of zero', input: at('supportPacket.metricsDays', 0), path: 'supportPacket.metricsDays', says: ['expected an integer from 1 to 3650', 'got 0'] },
    { name: 'a listen address with a bad port', input: at('server.listenAddress', '127.0.0.1:99999'), path: 'server.listenAddress', says: ['expected host:port', 'got "127.0.0.1:99999"'] },
    { name: 'an unknown auth mode', input: at('server.auth.mode', 'ldap'), path: 'server.auth.mode', says: ['expected one of "static", "mattermost"', 'got "ldap"'] },
    { name: 'Mattermost auth without a site URL', input: at('server.auth', { mode: 'mattermost' }), path: 'server.auth.siteUrl', says: ['required when server.auth.mode is "mattermost"'] },
    { name: 'a site URL that is not a URL', input: at('server.auth.siteUrl', 'chat.example.com'), path: 'server.auth.siteUrl', says: ['expected an http:// or https:// URL'] },
    { name: 'an unknown file store driver', input: at('fileStore.driver', 'azureblob'), path: 'fileStore.driver', says: ['expected one of "local", "s3" (alias "amazons3" = "s3")', 'got "azureblob"'] },
    { name: 'S3 without a bucket', input: at('fileStore.driver', 's3'), path: 'fileStore.s3.bucket', says: ['required when fileStore.driver is "s3"'] },
    { name: 'an S3 endpoint with a scheme', input: at('fileStore.s3.endpoint', 'https://minio:9000'), path: 'fileStore.s3.endpoint', says: ['without a scheme', 'fileStore.s3.ssl'] },
    { name: 'an S3 path prefix with ..', input: at('fileStore.s3.pathPrefix', 'a/../b'), path: 'fileStore.s3.pathPrefix', says: ['".."'] },
    { name: 'an S3 part size below 5 MiB', input: at('fileStore.s3.uploadPartSize', '1MiB'), path: 'fileStore.s3.uploadPartSize', says: ['from 5242880', 'got 1048576'] },
    { name: 'an S3 path style that is not auto/true/false', input: at('fileStore.s3.pathStyle', 'virtual'), path: 'fileStore.s3.pathStyle', says: ['expected one of "auto", true, false', 'got "virtual"'] },
    { name: 'an unknown database driver', input: at('cluster.database.driver', 'sqlite'), path: 'cluster.database.driver', says: ['expected one of "postgres", "mysql"', 'got "sqlite"'] },
    { name: 'a cluster without a data source', input: at('cluster.enable', true), path: 'cluster.database.dataSource', says: ['required when cluster.enable is true'] },
    { name: 'a leader takeover bound under 5 s', input: at('cluster.leaderTakeover', '2s'), path: 'cluster.leaderTakeover', says: ['must be at least 5s'] },
    { name: 'an unknown log level', input: at('log.level', 'verbose'), path: 'log.level', says: ['expected one of "trace", "debug", "info", "warn", "error", "fatal"', 'got "verbose"'] },
    { name: 'a section given as a scalar', input: { scrape: 5 }, path: 'scrape', says: ['expected a mapping of settings', 'got 5'] },
    { name: 'a misspelt key', input: at('scrape.intervall', '30s'), path: 'scrape.intervall', says: ['unknown setting (did you mean "interval"?)', 'allowed here: interval, timeout'] },
    { name: 'an unknown top-level section', input: { scraping: {} }, path: 'scraping', says: ['unknown setting (did you mean "scrape"?)'] },
    { name: 'a "__proto__" key', input: JSON.parse('{"scrape": {"__proto__": {"interval": "1s"}}}') as Record<string, unknown>, path: 'scrape.__proto__', says: ['unknown setting'] },
  ];

  test.each(cases)('$name', async ({ input, path, says }) => {
    const e = await problems(input);
    expect(e.code).toBe(ConfigErrorCode.Invalid);
    const issue = e.issues.find((i) => i.path === path);
    expect(issue, `issues: ${e.message}`).toBeDefined();
    for (const s of says) expect(issue!.message).toContain(s);
    expect(issue!.source).toContain('command-line flag');
    expect(e.message).toContain(`${path}: `);
  });

  test('every problem is reported in one error, cross-field rules included', async () => {
    const e = await problems(merge(at('scrape.interval', '20s'), at('scrape.timeout', '30s'), at('log.level', 'loud'), at('targets.nodeExporter.port', -1)));
    expect(e.issues.map((i) => i.path).sort()).toEqual(['log.level', 'scrape.timeout', 'targets.nodeExporter.port']);
    expect(e.message).toMatch(/^invalid configuration \(3 problems\):\n {2}/);
  });

  test('a secret is never echoed back, even when it is the wrong type', async () => {
    const e = await problems(merge(at('server.adminToken', 'tooShort-S3CR3T'), at('fileStore.s3.secretAccessKey', 12345678)));
    expect(e.message).not.toContain('tooShort-S3CR3T');
    expect(e.message).not.toContain('12345678');
    expect(e.issues.find((i) => i.path === 'server.adminToken')?.message).toContain('at least 16 characters');
    expect(e.issues.find((i) => i.path === 'fileStore.s3.secretAccessKey')?.message).toBe('expected a string, got a number');
  });
});

describe('good values in every accepted form', () => {
  const cases: Array<{ name: string; input: Record<string, unknown>; check: (c: Config) => unknown; want: unknown }> = [
    { name: 'a duration string', input: at('scrape.interval', '1m30s'), check: (c) => c.scrape.interval, want: 90_000 },
    { name: 'a duration as a number of seconds', input: at('scrape.interval', 15), check: (c) => c.scrape.interval, want: 15_000 },
    { name: 'a fractional number of seconds', input: at('scrape.timeout', 1.5), check: (c) => c.scrape.timeout, want: 1_500 },
    { name: 'days and weeks', input: at('storage.remoteRetention', '2w3d'), check: (c) => c.storage.remoteRetention, want: 17 * 86_400_000 },
    { name: 'a size with a binary unit', input: at('scrape.bodySizeLimit', '512MiB'), check: (c) => c.scrape.bodySizeLimit, want: 512 * 1024 * 1024 },
    { name: 'a size as bytes', input: at('scrape.bodySizeLimit', 100), check: (c) => c.scrape.bodySizeLimit, want: 100 },
    { name: 'Mattermost\'s "amazons3" driver name', input: at('fileStore', { driver: 'amazons3', s3: { bucket: 'b' } }), check: (c) => c.fileStore.driver, want: 's3' },
    { name: 'path style auto', input: at('fileStore.s3.pathStyle', 'auto'), check: (c) => c.fileStore.s3.pathStyle, want: null },
    { name: 'path style forced', input: at('fileStore.s3.pathStyle', true), check: (c) => c.fileStore.s3.pathStyle, want: true },
    { name: 'an IPv6 listen address', input: at('server.listenAddress', '[::1]:9000'), check: (c) => c.server.listenAddress, want: '[::1]:9000' },
    { name: 'a listen address on all interfaces', input: at('server.listenAddress', ':8075'), check: (c) => c.server.listenAddress, want: ':8075' },
    { name: 'port 0 for an ephemeral listen port', input: at('server.listenAddress', '127.0.0.1:0'), check: (c) => c.server.listenAddress, want: '127.0.0.1:0' },
    { name: 'a long admin token', input: at('server.adminToken', 'a'.repeat(32)), check: (c) => c.server.adminToken.length, want: 32 },
    {
      name: 'a static target group inheriting path, TLS and labels',
      input: merge(at('targets.tls', true), at('targets.static', [{ job: 'pg', targets: ['db:9187'] }])),
      check: (c) => c.targets.static,
      want: [{ job: 'pg', targets: ['db:9187'], metricsPath: '/metrics', tls: true, labels: {} }],
    },
    { name: 'a file store directory derived from the data dir', input: at('storage.dataDir', '/var/lib/x'), check: (c) => c.fileStore.directory, want: '/var/lib/x/filestore' },
    { name: 'an explicit file store directory', input: merge(at('storage.dataDir', '/var/lib/x'), at('fileStore.directory', '/srv/files')), check: (c) => c.fileStore.directory, want: '/srv/files' },
    { name: 'null as "not set"', input: { scrape: null, log: { level: null } }, check: (c) => [c.scrape.interval, c.log.level], want: [60_000, 'info'] },
  ];
  test.each(cases)('$name', async ({ input, check, want }) => {
    expect(check(await loadConfig({ overrides: input }))).toEqual(want);
  });
});

describe('defaults', () => {
  test('match the plugin\'s settings and our documented choices', () => {
    const c = defaultConfig();
    expect(c.scrape).toEqual({ interval: 60_000, timeout: 10_000, bodySizeLimit: 1024 ** 3, sampleLimit: 0, bucketLimit: 0, honorTimestamps: true, honorLabels: true });
    expect(c.storage).toEqual({ dataDir: './data', localRetention: 3 * 86_400_000, remoteRetention: 15 * 86_400_000, syncPeriod: 3_600_000, cleanupPeriod: 7_200_000, allowOverlappingCompaction: true });
    expect(c.targets.nodeExporter).toEqual({ enabled: true, port: 9100 });
    expect(c.targets.mattermost.metricsListenAddress).toBe(':8067');
    expect(c.targets.calls.metricsPath).toBe('/plugins/com.mattermost.calls/metrics');
    expect(c.supportPacket.metricsDays).toBe(1);
    expect(c.server.listenAddress).toBe('127.0.0.1:8075');
    expect(c.fileStore.driver).toBe('local');
    expect(c.fileStore.directory).toBe('data/filestore');
    expect(c.fileStore.s3).toMatchObject({ endpoint: 's3.amazonaws.com', ssl: true, pathStyle: null, requestTimeout: 30_000, uploadPartSize: 5 * 1024 * 1024 });
    expect(c.cluster).toMatchObject({ enable: false, discoveryPollInterval: 60_000, leaderTakeover: 30_000, headShipPeriod: 300_000, database: { driver: 'postgres', dataSource: '' } });
    expect(c.log.level).toBe('info');
  });
});
