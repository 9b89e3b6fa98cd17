/**
 * loadConfig: defaults < Mattermost config.json < YAML file < environment < CLI flags,
 * merged (layers.ts), derived defaults filled in, then validated (schema.ts). Every problem
 * is reported at once in one ConfigError, each naming its key path, the allowed values and
 * the place it was set.
 *
 *   loadConfig({ file: '/etc/mm-metrics.yaml',
 *                mattermostConfig: '/opt/mattermost/config/config.json',
 *                env: process.env,
 *                overrides: { scrape: { interval: '30s' } } })
 */
import { join } from 'node:path';
import { defaultInput, type InputTree } from './defaults.js';
import { envLayer } from './env.js';
import { ConfigError, ConfigErrorCode } from './errors.js';
import { isTree, mergeLayers, toConfigIssues, type ConfigLayer } from './layers.js';
import { fromMattermostConfig } from './mattermost.js';
import { configSchema } from './schema.js';
import type { Config } from './types.js';
import { fromYamlFile } from './yaml.js';

export interface LoadConfigOptions {
  /** YAML configuration file. */
  file?: string;
  /** A Mattermost server's config.json to import shared settings from. */
  mattermostConfig?: string;
  /** Working directory of that Mattermost server (for a relative FileSettings.Directory). */
  mattermostServerDir?: string;
  /**
   * Environment: MM_METRICS_* overrides (env.ts) and, when mattermostConfig is given,
   * Mattermost's own MM_<SECTION>_<SETTING> overrides. Nothing is read from process.env
   * unless it is passed here.
   */
  env?: Readonly<Record<string, string | undefined>>;
  /** CLI flags as a partial input tree (same keys and value forms as the YAML file). */
  overrides?: Record<string, unknown>;
  /** How flags are named in messages (default "command-line flag"). */
  overridesSource?: string;
}

export interface LoadedConfig {
  config: Config;
  /** Non-fatal findings worth a log line at start-up (ignored settings, risky choices). */
  warnings: string[];
  /** The layers in precedence order (for a "where did this come from" dump). */
  layers: ConfigLayer[];
}

const DEFAULTS_LAYER_NAME = 'defaults';

function defaultsLayer(): ConfigLayer {
  return { name: DEFAULTS_LAYER_NAME, values: defaultInput(), describe: () => '' };
}

function overridesLayer(values: Record<string, unknown>, source: string): ConfigLayer {
  if (!isTree(values)) throw new ConfigError(ConfigErrorCode.Invalid, [{ path: '', message: 'overrides must be a mapping of settings', source }]);
  return { name: source, values: values as InputTree, describe: () => source };
}

/** Validates already-merged layers (exported for tests and for callers that build layers themselves). */
export function resolveLayers(layers: ConfigLayer[]): Config {
  const { values, sources } = mergeLayers(layers);
  // Derived default: the local file store lives in the data dir unless placed elsewhere.
  const fs = values.fileStore;
  const storage = values.storage;
  if (isTree(fs) && fs.directory === '' && isTree(storage) && typeof storage.dataDir === 'string' && storage.dataDir !== '') {
    fs.directory = join(storage.dataDir, 'filestore');
  }
  const r = configSchema.safeParse(values);
  if (!r.success) throw new ConfigError(ConfigErrorCode.Invalid, toConfigIssues(configSchema, r.error.issues, sources));
  return r.data;
}

/** Loads, merges and validates the configuration; throws ConfigError listing every problem. */
export async function loadConfigDetailed(opts: LoadConfigOptions = {}): Promise<LoadedConfig> {
  const layers: ConfigLayer[] = [defaultsLayer()];
  const warnings: string[] = [];
  if (opts.mattermostConfig !== undefined) {
    const mm = await fromMattermostConfig(opts.mattermostConfig, {
      ...(opts.env !== undefined ? { env: opts.env } : {}),
      ...(opts.mattermostServerDir !== undefined ? { serverDir: opts.mattermostServerDir } : {}),
    });
    layers.push(mm.layer);
    warnings.push(...mm.warnings);
  }
  if (opts.file !== undefined) layers.push(await fromYamlFile(opts.file));
  if (opts.env !== undefined) {
    const e = envLayer(opts.env);
    layers.push(e.layer);
    warnings.push(...e.warnings);
  }
  if (opts.overrides !== undefined) layers.push(overridesLayer(opts.overrides, opts.overridesSource ?? 'command-line flag'));
  const config = resolveLayers(layers);
  warnings.push(...configWarnings(config));
  return { config, warnings, layers };
}

/** loadConfigDetailed without the extras. */
export async function loadConfig(opts: LoadConfigOptions = {}): Promise<Config> {
  return (await loadConfigDetailed(opts)).config;
}

/** The defaults, validated (what loadConfig returns with no sources at all). */
export function defaultConfig(): Config {
  return resolveLayers([defaultsLayer()]);
}

/** Valid but questionable settings, as sentences for a start-up log. */
export function configWarnings(c: Config): string[] {
  const w: string[] = [];
  if (c.fileStore.driver === 's3' && c.fileStore.s3.signV2) w.push('fileStore.s3.signV2 is true: signature V2 is not supported, requests are signed with V4');
  if (c.fileStore.driver === 's3' && c.fileStore.s3.skipVerify) w.push('fileStore.s3.skipVerify is true: the S3 endpoint certificate is not verified');
  if (c.targets.tlsInsecureSkipVerify) w.push('targets.tlsInsecureSkipVerify is true: scrape target certificates are not verified');
  if (c.cluster.enable && c.cluster.clusterName === '') w.push('cluster.enable is true but cluster.clusterName is empty: discovery will only see nodes whose ClusterName is empty too');
  if (c.scrape.timeout === c.scrape.interval) w.push('scrape.timeout equals scrape.interval: a slow target delays the next scrape');
  const host = c.server.listenAddress.slice(0, c.server.listenAddress.lastIndexOf(':'));
  const loopback = host === '127.0.0.1' || host === 'localhost' || host === '[::1]';
  if (!loopback && c.server.auth.mode === 'static' && c.server.adminToken === '') {
    w.push(`server.listenAddress ${c.server.listenAddress} is reachable from other hosts: the generated admin token in ${c.storage.dataDir} guards it; consider server.auth.mode "mattermost"`);
  }
  return w;
}
