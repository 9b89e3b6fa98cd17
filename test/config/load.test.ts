/**
 * Loading: layer precedence, the YAML file (syntax errors, locations), environment overrides
 * (the mapping table, conversions, sources), CLI overrides, and the example file.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  ConfigError,
  ConfigErrorCode,
  ENV_TABLE,
  defaultConfig,
  defaultInput,
  envNameFor,
  loadConfig,
  loadConfigDetailed,
  type InputTree,
} from '../../src/config/index.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const MM_LOCAL = join(FIXTURES, 'opt-mattermost/config/config.json');
const EXAMPLE = fileURLToPath(new URL('../../src/config/mm-metrics.example.yaml', import.meta.url));

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'mm-config-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function yamlFile(name: string, text: string): Promise<string> {
  const f = join(tmp, name);
  await writeFile(f, text);
  return f;
}

async function rejection(p: Promise<unknown>): Promise<ConfigError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('precedence: defaults < Mattermost config.json < YAML < environment < flags', () => {
  test.each([
    { name: 'defaults alone', layers: [], want: 60_000 },
    { name: 'Mattermost config.json over defaults', layers: ['mm'], want: 30_000 },
    { name: 'YAML over Mattermost config.json', layers: ['mm', 'yaml'], want: 45_000 },
    { name: 'environment over YAML', layers: ['mm', 'yaml', 'env'], want: 50_000 },
    { name: 'flags over environment', layers: ['mm', 'yaml', 'env', 'flags'], want: 55_000 },
    { name: 'flags over Mattermost config.json with nothing between', layers: ['mm', 'flags'], want: 55_000 },
  ])('$name', async ({ layers, want }) => {
    const file = await yamlFile('prec.yaml', 'scrape:\n  interval: 45s\n');
    const c = await loadConfig({
      ...(layers.includes('mm') ? { mattermostConfig: MM_LOCAL } : {}),
      ...(layers.includes('yaml') ? { file } : {}),
      ...(layers.includes('env') ? { env: { MM_METRICS_SCRAPE_INTERVAL: '50s' } } : {}),
      ...(layers.includes('flags') ? { overrides: { scrape: { interval: '55s' } } } : {}),
    });
    expect(c.scrape.interval).toBe(want);
  });

  test('layers merge key by key: each supplies what it sets, lower layers the rest', async () => {
    const file = await yamlFile('merge.yaml', 'scrape:\n  timeout: 20s\nlog:\n  level: debug\n');
    const c = await loadConfig({
      mattermostConfig: MM_LOCAL,
      file,
      env: { MM_METRICS_LOG_LEVEL: 'warn', MM_METRICS_TARGETS_NODE_EXPORTER_PORT: '9200' },
      overrides: { storage: { dataDir: '/flags/data' } },
    });
    expect(c.scrape.interval).toBe(30_000); // config.json plugin setting
    expect(c.scrape.timeout).toBe(20_000); // YAML over config.json's 15
    expect(c.log.level).toBe('warn'); // env over YAML
    expect(c.targets.nodeExporter.port).toBe(9200); // env over config.json's 9101
    expect(c.storage.dataDir).toBe('/flags/data');
    expect(c.storage.remoteRetention).toBe(20 * 86_400_000); // config.json only
    expect(c.log).toEqual({ level: 'warn' });
  });

  test('a list from a higher layer replaces the whole list below', async () => {
    const file = await yamlFile('list.yaml', 'targets:\n  static:\n    - job: a\n      targets: ["a:1"]\n    - job: b\n      targets: ["b:1"]\n');
    const c = await loadConfig({ file, overrides: { targets: { static: [{ job: 'c', targets: ['c:1'] }] } } });
    expect(c.targets.static.map((t) => t.job)).toEqual(['c']);
  });

  test('an error names the layer that set the bad value, even when a lower layer set it too', async () => {
    const file = await yamlFile('src.yaml', 'scrape:\n  interval: 5s\n  timeout: 30s\n');
    const e = await rejection(loadConfig({ mattermostConfig: MM_LOCAL, file }));
    expect(e.issues).toEqual([{ path: 'scrape.timeout', message: 'must not exceed scrape.interval (5s), got 30s', source: `${file}:3:12` }]);
  });
});

describe('the YAML file', () => {
  test('the example file loads to exactly the built-in defaults', async () => {
    expect(await loadConfig({ file: EXAMPLE })).toEqual(defaultConfig());
  });

  test('the example file lists every setting (nothing undocumented)', async () => {
    const { layers } = await loadConfigDetailed({ file: EXAMPLE });
    const leaves = (t: InputTree, p = ''): string[] =>
      Object.entries(t).flatMap(([k, v]) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? leaves(v, `${p}${k}.`) : [`${p}${k}`]));
    expect(leaves(layers[1]!.values).sort()).toEqual(leaves(defaultInput()).sort());
  });

  test('validation errors point at file:line:column of the value', async () => {
    const file = await yamlFile('bad.yaml', '# comment\nscrape:\n  interval: soon\ntargets:\n  static:\n    - job: x\n      targets: ["ok:1", "bad"]\n');
    const e = await rejection(loadConfig({ file }));
    expect(e.issues).toContainEqual({ path: 'scrape.interval', message: expect.stringContaining('got "soon"'), source: `${file}:3:13` });
    expect(e.issues).toContainEqual({ path: 'targets.static[0].targets[1]', message: expect.stringContaining('got "bad"'), source: `${file}:7:25` });
  });

  test.each([
    { name: 'an unclosed flow sequence', text: 'scrape:\n  interval: [60s\n', where: ':3:1', says: 'end with a ]' },
    { name: 'a duplicate key', text: 'scrape:\n  interval: 1s\n  interval: 2s\n', where: ':3:3', says: 'unique' },
    { name: 'a tab used for indentation', text: 'scrape:\n\tinterval: 1s\n', where: ':2:1', says: 'Tabs' },
    { name: 'a list at the top level', text: '- a\n- b\n', where: ':1:1', says: 'expected a mapping of settings at the top level' },
  ])('$name is a parse error with file:line:column', async ({ text, where, says }) => {
    const file = await yamlFile('syntax.yaml', text);
    const e = await rejection(loadConfig({ file }));
    expect(e.code).toBe(ConfigErrorCode.Parse);
    expect(e.message).toMatch(/^cannot parse YAML file:\n {2}/);
    expect(e.message).toContain(file + where + ': ');
    expect(e.message).toContain(says);
  });

  test('an empty file changes nothing', async () => {
    const file = await yamlFile('empty.yaml', '# nothing here\n');
    expect(await loadConfig({ file })).toEqual(defaultConfig());
  });

  test('a missing file is a read error naming the path', async () => {
    const e = await rejection(loadConfig({ file: join(tmp, 'nope.yaml') }));
    expect(e.code).toBe(ConfigErrorCode.Read);
    expect(e.message).toContain(join(tmp, 'nope.yaml'));
    expect(e.message).toContain('ENOENT');
  });

  test('YAML 1.1 booleans like "yes" are reported, not guessed', async () => {
    const file = await yamlFile('yes.yaml', 'cluster:\n  enable: yes\n');
    const e = await rejection(loadConfig({ file }));
    expect(e.issues[0]).toMatchObject({ path: 'cluster.enable', message: 'expected true or false, got "yes"' });
  });

  test('the deployment fixture loads with its overrides', async () => {
    const c = await loadConfig({ file: join(FIXTURES, 'mm-metrics.yaml'), mattermostConfig: MM_LOCAL });
    expect(c.scrape).toMatchObject({ interval: 45_000, timeout: 20_000 });
    expect(c.targets.static).toEqual([{ job: 'rtcd-node', targets: ['10.0.0.21:9100', '10.0.0.22:9100'], metricsPath: '/metrics', tls: false, labels: { role: 'rtcd' } }]);
    expect(c.server.auth).toEqual({ mode: 'mattermost', siteUrl: 'https://chat.example.com' });
    expect(c.storage.dataDir).toBe('/var/lib/mm-metrics');
    // config.json's local FileSettings win over the derived <dataDir>/filestore: the plugin's store is shared.
    expect(c.fileStore.directory).toBe(join(FIXTURES, 'opt-mattermost/data'));
  });
});

describe('environment overrides', () => {
  test('the table covers every setting exactly once, named by the documented rule', () => {
    const leaves = (t: InputTree, p = ''): string[] =>
      Object.entries(t).flatMap(([k, v]) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? leaves(v, `${p}${k}.`) : [`${p}${k}`]));
    expect(ENV_TABLE.map(([, path]) => path).sort()).toEqual(leaves(defaultInput()).sort());
    for (const [name, path] of ENV_TABLE) expect(name).toBe(envNameFor(path));
    expect(new Set(ENV_TABLE.map(([n]) => n)).size).toBe(ENV_TABLE.length);
  });

  test.each([
    { env: { MM_METRICS_SCRAPE_INTERVAL: '30s' }, get: (c: Awaited<ReturnType<typeof loadConfig>>) => c.scrape.interval, want: 30_000 },
    { env: { MM_METRICS_SCRAPE_INTERVAL: '90' }, get: (c: Awaited<ReturnType<typeof loadConfig>>) => c.scrape.interval, want: 90_000 },
    { env: { MM_METRICS_SCRAPE_BODY_SIZE_LIMIT: '256MiB' }, get: (c: Awaited<ReturnType<typeof loadConfig>>) => c.scrape.bodySizeLimit, want: 256 * 1024 * 1024 },
    { env: { MM_METRICS_SCRAPE_SAMPLE_LIMIT: '50000' }, get: (c: Awaited<ReturnType<typeof loadConfig>>) => c.scrape.sampleLimit, want: 50_000 },
    { env: { MM_METRICS_SCRAPE_HONOR_LABELS: 'FALSE' }, get: (c: Awaited<ReturnType<typeof loadConfig>>) => c.scrape.honorLabels, want: false },
    { env: { MM_METRICS_TARGETS_SELF_ENABLED: 'false' }, get: (c: Awaited<ReturnType<typeof loadConfig>>) => c.targets.self.enabled, want: false },
    { env: { MM_METRICS_CLUSTER_ENABLE: '1', MM_METRICS_CLUSTER_DATABASE_DATA_SOURCE: 'postgres://u:p@h/db' }, get: (c: Awaited<ReturnType<typeof loadConfig>>) => c.cluster.enable, want: true },
    { env: { MM_METRICS_FILE_STORE_S3_PATH_STYLE: 'true' }, get: (c: Awaited<ReturnType<typeof loadConfig>>) => c.fileStore.s3.pathStyle, want: true },
    { env: { MM_METRICS_FILE_STORE_DRIVER: 'amazons3', MM_METRICS_FILE_STORE_S3_BUCKET: 'b' }, get: (c: Awaited<ReturnType<typeof loadConfig>>) => c.fileStore.driver, want: 's3' },
    { env: { MM_METRICS_TARGETS_STATIC: '[{"job":"x","targets":["h:1"]}]' }, get: (c: Awaited<ReturnType<typeof loadConfig>>) => c.targets.static[0]?.targets, want: ['h:1'] },
    { env: { MM_METRICS_SERVER_AUTH_SITE_URL: 'https://chat.example.com', MM_METRICS_SERVER_AUTH_MODE: 'mattermost' }, get: (c: Awaited<ReturnType<typeof loadConfig>>) => c.server.auth.mode, want: 'mattermost' },
  ])('$env is applied', async ({ env, get, want }) => {
    expect(get(await loadConfig({ env }))).toEqual(want);
  });

  test.each([
    { env: { MM_METRICS_SCRAPE_HONOR_TIMESTAMPS: 'maybe' }, path: 'scrape.honorTimestamps', says: 'expected true or false, got "maybe"' },
    { env: { MM_METRICS_TARGETS_NODE_EXPORTER_PORT: 'ninety' }, path: 'targets.nodeExporter.port', says: 'got "ninety"' },
    { env: { MM_METRICS_SCRAPE_TIMEOUT: 'abc' }, path: 'scrape.timeout', says: 'expected a duration like "60s"' },
    { env: { MM_METRICS_TARGETS_STATIC: '[{"job":' }, path: 'targets.static', says: 'expected a list of target groups' },
    { env: { MM_METRICS_TARGETS_STATIC: '[{"job":"x","targets":["nope"]}]' }, path: 'targets.static[0].targets[0]', says: 'expected host:port' },
  ])('a bad value in $env is reported with the variable name', async ({ env, path, says }) => {
    const e = await rejection(loadConfig({ env }));
    const issue = e.issues.find((i) => i.path === path);
    expect(issue, e.message).toBeDefined();
    expect(issue!.message).toContain(says);
    expect(issue!.source).toBe(`env ${Object.keys(env)[0]}`);
  });

  test('unknown MM_METRICS_ variables are warned about with the nearest name; reserved ones are not', async () => {
    const { warnings } = await loadConfigDetailed({ env: { MM_METRICS_SCRAPE_INTERVL: '5s', MM_METRICS_CONFIG: '/etc/x.yaml', MM_METRICS_SHUTDOWN_TIMEOUT_MS: '5000', PATH: '/bin' } });
    expect(warnings).toEqual(['environment variable MM_METRICS_SCRAPE_INTERVL is not a mm-metrics setting and is ignored (did you mean MM_METRICS_SCRAPE_INTERVAL?)']);
  });

  test('nothing is read from process.env unless passed in', async () => {
    process.env.MM_METRICS_LOG_LEVEL = 'error';
    try {
      expect((await loadConfig()).log.level).toBe('info');
      expect((await loadConfig({ env: process.env })).log.level).toBe('error');
    } finally {
      delete process.env.MM_METRICS_LOG_LEVEL;
    }
  });
});

describe('CLI overrides', () => {
  test('are validated like any layer and named as flags', async () => {
    const e = await rejection(loadConfig({ overrides: { scrape: { interval: 'often' } }, overridesSource: 'flag --scrape-interval' }));
    expect(e.issues[0]).toMatchObject({ path: 'scrape.interval', source: 'flag --scrape-interval' });
  });

  test('an override that is not a mapping is rejected', async () => {
    const e = await rejection(loadConfig({ overrides: [] as unknown as Record<string, unknown> }));
    expect(e.message).toContain('overrides must be a mapping');
  });
});

describe('warnings', () => {
  test.each([
    { name: 'signature V2', overrides: { fileStore: { driver: 's3', s3: { bucket: 'b', signV2: true } } }, says: 'signV2' },
    { name: 'skipping S3 TLS verification', overrides: { fileStore: { driver: 's3', s3: { bucket: 'b', skipVerify: true } } }, says: 'not verified' },
    { name: 'a cluster without a name', overrides: { cluster: { enable: true, database: { dataSource: 'postgres://h/db' } } }, says: 'clusterName is empty' },
    { name: 'a listener open to other hosts with a generated token', overrides: { server: { listenAddress: '0.0.0.0:8075' } }, says: 'reachable from other hosts' },
  ])('$name gives a warning', async ({ overrides, says }) => {
    const { warnings } = await loadConfigDetailed({ overrides });
    expect(warnings.join('\n')).toContain(says);
  });

  test('the defaults give no warning', async () => {
    expect((await loadConfigDetailed()).warnings).toEqual([]);
  });
});
