/**
 * Import from Mattermost's config.json (fixtures are trimmed copies of real server configs)
 * and Mattermost's own MM_<SECTION>_<SETTING> environment overrides.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ConfigError, ConfigErrorCode, applyMattermostEnv, fromMattermostConfig, loadConfig, loadConfigDetailed } from '../../src/config/index.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const MM_LOCAL = join(FIXTURES, 'opt-mattermost/config/config.json');
const MM_S3_HA = join(FIXTURES, 'mattermost-s3-ha.json');
const MM_MINIMAL = join(FIXTURES, 'mattermost-minimal.json');
const MM_BAD = join(FIXTURES, 'mattermost-bad-plugin.json');

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'mm-mmcfg-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function rejection(p: Promise<unknown>): Promise<ConfigError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('a single server with a local file store (opt-mattermost/config/config.json)', () => {
  test('takes the shared settings and the metrics plugin\'s settings', async () => {
    const c = await loadConfig({ mattermostConfig: MM_LOCAL });
    expect(c.server.auth.siteUrl).toBe('https://chat.example.com');
    expect(c.server.auth.mode).toBe('static'); // importing a SiteURL does not switch auth on by itself
    expect(c.targets.mattermost.metricsListenAddress).toBe(':8067');
    expect(c.cluster).toMatchObject({ enable: false, clusterName: '', database: { driver: 'postgres', dataSource: expect.stringContaining('postgres://mmuser:') } });
    expect(c.fileStore.driver).toBe('local');
    // "./data/" is relative to the server's working directory, the parent of config/.
    expect(c.fileStore.directory).toBe(join(FIXTURES, 'opt-mattermost/data'));
    // Plugin settings: numbers, numeric strings and "false" strings are all understood.
    expect(c.scrape.interval).toBe(30_000);
    expect(c.scrape.timeout).toBe(15_000);
    expect(c.scrape.bodySizeLimit).toBe(512 * 1024 * 1024);
    expect(c.scrape.honorTimestamps).toBe(true);
    expect(c.storage.remoteRetention).toBe(20 * 86_400_000);
    expect(c.storage.syncPeriod).toBe(30 * 60_000);
    expect(c.storage.cleanupPeriod).toBe(120 * 60_000); // not in config.json: our default
    expect(c.targets.nodeExporter).toEqual({ enabled: false, port: 9101 });
    expect(c.supportPacket.metricsDays).toBe(2);
    // Calls: enabled in PluginStates, RTCD URL from the Calls plugin's settings.
    expect(c.targets.calls.enabled).toBe(true);
    expect(c.targets.calls.rtcdUrl).toBe('http://rtcd.internal:8045');
  });

  test('does not import the plugin\'s own TSDB path or unrelated secrets', async () => {
    const { config, layers } = await loadConfigDetailed({ mattermostConfig: MM_LOCAL });
    expect(config.storage.dataDir).toBe('./data');
    const imported = JSON.stringify(layers[1]!.values);
    expect(imported).not.toContain('mattermost-plugin-metrics/data');
    expect(imported).not.toContain('smtp-password-not-ours');
    expect(imported).not.toContain('x7p4kq1s9zq3m8d2v6b0n5c4r1t7y9u3'); // AtRestEncryptKey
  });

  test('an explicit server directory overrides the guess from the file location', async () => {
    const c = await loadConfig({ mattermostConfig: MM_LOCAL, mattermostServerDir: '/opt/mattermost' });
    expect(c.fileStore.directory).toBe('/opt/mattermost/data');
  });
});

describe('an HA cluster on MySQL with S3 (mattermost-s3-ha.json)', () => {
  test('maps ClusterSettings, SqlSettings and every AmazonS3 setting', async () => {
    const c = await loadConfig({ mattermostConfig: MM_S3_HA });
    expect(c.cluster).toMatchObject({
      enable: true,
      clusterName: 'prod-eu',
      hostname: 'app-1.corp.example.org',
      database: { driver: 'mysql', dataSource: 'mmuser:my$ql-P@ss:word@tcp(mysql.corp.example.org:3306)/mattermost?charset=utf8mb4,utf8&writeTimeout=30s' },
    });
    expect(c.fileStore.driver).toBe('s3');
    expect(c.fileStore.s3).toEqual({
      bucket: 'mattermost-files',
      pathPrefix: 'prod',
      region: 'eu-central-1',
      endpoint: 'minio.corp.example.org:9000',
      ssl: false,
      pathStyle: null,
      accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
      secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      sse: true,
      trace: false,
      requestTimeout: 45_000,
      uploadPartSize: 16 * 1024 * 1024,
      skipVerify: false,
      signV2: false,
    });
    expect(c.targets.mattermost.metricsListenAddress).toBe('0.0.0.0:9067');
    expect(c.targets.calls.enabled).toBe(false);
  });
});

describe('a minimal config.json (Mattermost fills the rest with its defaults)', () => {
  test('imports the key=value DataSource and warns that metrics are off on the server', async () => {
    const { config, warnings } = await loadConfigDetailed({ mattermostConfig: MM_MINIMAL });
    expect(config.cluster.database.dataSource).toBe("host=localhost port=5432 user=mmuser password='p w\\'x' dbname=mattermost sslmode=disable");
    expect(config.server.auth.siteUrl).toBe(''); // an empty SiteURL is not imported
    expect(config.fileStore.directory).toBe('data/filestore'); // no FileSettings: our default
    expect(warnings.join('\n')).toContain('MetricsSettings.Enable is false');
  });
});

describe('Mattermost environment overrides', () => {
  test('MM_SQLSETTINGS_DATASOURCE and friends override config.json, matched case-insensitively', async () => {
    const env = {
      MM_SQLSETTINGS_DATASOURCE: 'postgres://envuser:envpass@db2.internal/mattermost?sslmode=require',
      MM_CLUSTERSETTINGS_ENABLE: 'true',
      MM_ClusterSettings_ClusterName: 'from-env',
      mm_filesettings_drivername: 'amazons3',
      MM_FILESETTINGS_AMAZONS3BUCKET: 'env-bucket',
      MM_FILESETTINGS_AMAZONS3SSL: 'f',
      MM_FILESETTINGS_AMAZONS3REQUESTTIMEOUTMILLISECONDS: '5000',
      MM_METRICSSETTINGS_LISTENADDRESS: ':9999',
      MM_PLUGINSETTINGS_PLUGINS: JSON.stringify({ 'com.mattermost.mattermost-plugin-metrics': { scrapeintervalseconds: 20 } }),
    };
    const c = await loadConfig({ mattermostConfig: MM_LOCAL, env });
    expect(c.cluster.database.dataSource).toBe(env.MM_SQLSETTINGS_DATASOURCE);
    expect(c.cluster.enable).toBe(true);
    expect(c.cluster.clusterName).toBe('from-env');
    expect(c.fileStore.driver).toBe('s3');
    expect(c.fileStore.s3.bucket).toBe('env-bucket');
    expect(c.fileStore.s3.ssl).toBe(false);
    expect(c.fileStore.s3.requestTimeout).toBe(5_000);
    expect(c.targets.mattermost.metricsListenAddress).toBe(':9999');
    // The whole Plugins map was replaced, as Mattermost does for map-typed settings.
    expect(c.scrape.interval).toBe(20_000);
    expect(c.targets.calls.rtcdUrl).toBe('');
  });

  test('the overrides apply only together with a config.json', async () => {
    const c = await loadConfig({ env: { MM_SQLSETTINGS_DATASOURCE: 'postgres://x@y/z' } });
    expect(c.cluster.database.dataSource).toBe('');
  });

  test('unparseable values are ignored with a warning, as the server ignores them', () => {
    const cfg: Record<string, unknown> = { ClusterSettings: { Enable: false } };
    const warnings: string[] = [];
    const applied = applyMattermostEnv(cfg, { MM_CLUSTERSETTINGS_ENABLE: 'perhaps', MM_SQLSETTINGS_DATASOURCEREPLICAS: 'a b  c', MM_NOSUCH_THING: 'x', MM_METRICS_SCRAPE_INTERVAL: '1s' }, warnings);
    expect(cfg).toEqual({ ClusterSettings: { Enable: false }, SqlSettings: { DataSourceReplicas: ['a', 'b', 'c'] } });
    expect([...applied.keys()]).toEqual(['SqlSettings.DataSourceReplicas']);
    expect(warnings).toEqual(['Mattermost environment variable MM_CLUSTERSETTINGS_ENABLE: cannot parse as a bool; ignored, as the Mattermost server ignores it']);
  });

  test('errors in overridden settings name the Mattermost variable', async () => {
    const e = await rejection(loadConfig({ mattermostConfig: MM_LOCAL, env: { MM_METRICSSETTINGS_LISTENADDRESS: 'nowhere' } }));
    expect(e.issues).toEqual([{ path: 'targets.mattermost.metricsListenAddress', message: expect.stringContaining('got "nowhere"'), source: 'Mattermost env MM_METRICSSETTINGS_LISTENADDRESS' }]);
  });
});

describe('invalid Mattermost settings (mattermost-bad-plugin.json)', () => {
  test('every problem names our key, the allowed values and the Mattermost setting it came from', async () => {
    const e = await rejection(loadConfig({ mattermostConfig: MM_BAD }));
    const plugin = `${MM_BAD}: PluginSettings.Plugins["com.mattermost.mattermost-plugin-metrics"]`;
    const byPath = Object.fromEntries(e.issues.map((i) => [i.path, i]));
    expect(byPath['fileStore.driver']).toEqual({ path: 'fileStore.driver', message: 'expected one of "local", "s3" (alias "amazons3" = "s3"), got "azureblob"', source: `${MM_BAD}: FileSettings.DriverName` });
    expect(byPath['scrape.interval']).toEqual({ path: 'scrape.interval', message: 'must be at least 1s, got 0s', source: `${plugin}.scrapeintervalseconds` });
    expect(byPath['targets.nodeExporter.port']?.source).toBe(`${plugin}.nodeexporterport`);
    expect(byPath['targets.nodeExporter.port']?.message).toBe('expected an integer from 1 to 65535, got 70000');
    expect(byPath['scrape.bodySizeLimit']?.message).toContain('got 50');
    expect(byPath['supportPacket.metricsDays']?.message).toContain('got 0');
    expect(byPath['storage.remoteRetention']?.message).toContain('got "two weeks"');
    expect(e.issues.length).toBe(6);
  });

  test('unknown plugin keys are warned about, not fatal', async () => {
    const { warnings } = await fromMattermostConfig(MM_BAD);
    expect(warnings).toEqual([`Mattermost ${MM_BAD}: PluginSettings.Plugins["com.mattermost.mattermost-plugin-metrics"].scrapeintervall is not a known metrics-plugin setting; ignored`]);
  });
});

describe('reading config.json', () => {
  test.each([
    { name: 'a JSON syntax error', text: '{\n  "ServiceSettings": {\n    "SiteURL": "x",,\n  }\n}', code: ConfigErrorCode.Parse, says: ':3:' },
    { name: 'a JSON array', text: '[]', code: ConfigErrorCode.Parse, says: 'expected a JSON object' },
  ])('$name is a parse error with its location', async ({ text, code, says }) => {
    const f = join(tmp, 'bad.json');
    await writeFile(f, text);
    const e = await rejection(fromMattermostConfig(f));
    expect(e.code).toBe(code);
    expect(e.message).toContain(says);
  });

  test('a missing file is a read error naming the path', async () => {
    const e = await rejection(fromMattermostConfig(join(tmp, 'none.json')));
    expect(e.code).toBe(ConfigErrorCode.Read);
    expect(e.message).toContain(join(tmp, 'none.json'));
  });

  test('a database-backed configuration is refused with advice, and the DSN is not echoed', async () => {
    const e = await rejection(fromMattermostConfig('postgres://mmuser:hunter2@db/mattermost'));
    expect(e.message).toContain('export the active configuration to a config.json');
    expect(e.message).not.toContain('hunter2');
  });
});
