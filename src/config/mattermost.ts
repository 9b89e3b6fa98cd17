/**
 * Import from a Mattermost server's config.json (FACTS §2, §3): the settings this service
 * shares with the server it monitors, so a deployment next to Mattermost needs no copy.
 *
 *   Mattermost                                              mm-metrics
 *   ServiceSettings.SiteURL                                 server.auth.siteUrl
 *   MetricsSettings.ListenAddress                           targets.mattermost.metricsListenAddress
 *   MetricsSettings.Enable = false                          (warning: the server exposes no metrics)
 *   ClusterSettings.Enable / ClusterName / OverrideHostname cluster.enable / clusterName / hostname
 *   SqlSettings.DriverName / DataSource                     cluster.database.driver / dataSource
 *   FileSettings.DriverName (local|amazons3)                fileStore.driver (local|s3)
 *   FileSettings.Directory                                  fileStore.directory (resolved against the server dir)
 *   FileSettings.AmazonS3{Bucket,PathPrefix,Region,Endpoint,SSL,AccessKeyId,SecretAccessKey,SSE,
 *                         Trace,SignV2}                      fileStore.s3.{bucket,pathPrefix,…}
 *   FileSettings.AmazonS3RequestTimeoutMilliseconds         fileStore.s3.requestTimeout
 *   FileSettings.AmazonS3UploadPartSizeBytes                fileStore.s3.uploadPartSize
 *   PluginSettings.Plugins["com.mattermost.mattermost-plugin-metrics"] (keys lower-case):
 *     scrapeintervalseconds, scrapetimeoutseconds           scrape.interval, scrape.timeout
 *     bodysizelimitbytes, samplelimit, bucketlimit          scrape.bodySizeLimit, sampleLimit, bucketLimit
 *     honortimestamps                                       scrape.honorTimestamps (what the name says; the
 *                                                           plugin wired it to honor_labels by mistake)
 *     retentiondurationdays                                 storage.remoteRetention
 *     filestoresyncperiodminutes, filestorecleanupperiodminutes  storage.syncPeriod, cleanupPeriod
 *     allowoverlappingcompaction                            storage.allowOverlappingCompaction
 *     supportpacketmetricsdays                              supportPacket.metricsDays
 *     enablenodeexportertargets, nodeexporterport           targets.nodeExporter.enabled, port
 *     dbpath, enablememorysnapshotonshutdown,               not imported: the plugin's own TSDB is not ours
 *     enablemetadatastorage, stats, dumps                   to open, and the others are unused or UI-only
 *   PluginSettings.Plugins["com.mattermost.calls"].rtcdserviceurl   targets.calls.rtcdUrl
 *   PluginSettings.PluginStates["com.mattermost.calls"].Enable      targets.calls.enabled
 *
 * Mattermost's environment overrides are applied first, as the server does (FACTS §2):
 * any variable whose upper-cased name starts with MM_, split on "_" into Section and Setting
 * matched case-insensitively (MM_SQLSETTINGS_DATASOURCE, MM_FILESETTINGS_AMAZONS3BUCKET …);
 * bools as Go's ParseBool, ints as ParseInt, lists split on spaces, maps as JSON.
 *
 * Only a config.json file is read. A database-backed configuration (MM_CONFIG=postgres://…)
 * is refused with a message: export the active configuration to a file first.
 */
import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import type { InputTree, InputValue } from './defaults.js';
import { parseError, readError } from './errors.js';
import { isTree, type ConfigLayer } from './layers.js';

export const METRICS_PLUGIN_ID = 'com.mattermost.mattermost-plugin-metrics';
export const CALLS_PLUGIN_ID = 'com.mattermost.calls';

type MmKind = 'string' | 'bool' | 'int' | 'strings' | 'map';

/** The Mattermost settings we read (Go field names) and their Go types, for the env overrides. */
const MM_FIELDS: Record<string, Record<string, MmKind>> = {
  ServiceSettings: { SiteURL: 'string', ListenAddress: 'string' },
  MetricsSettings: { Enable: 'bool', ListenAddress: 'string' },
  ClusterSettings: { Enable: 'bool', ClusterName: 'string', OverrideHostname: 'string', UseIPAddress: 'bool', GossipPort: 'int' },
  FileSettings: {
    DriverName: 'string',
    Directory: 'string',
    AmazonS3AccessKeyId: 'string',
    AmazonS3SecretAccessKey: 'string',
    AmazonS3Bucket: 'string',
    AmazonS3PathPrefix: 'string',
    AmazonS3Region: 'string',
    AmazonS3Endpoint: 'string',
    AmazonS3SSL: 'bool',
    AmazonS3SignV2: 'bool',
    AmazonS3SSE: 'bool',
    AmazonS3Trace: 'bool',
    AmazonS3RequestTimeoutMilliseconds: 'int',
    AmazonS3UploadPartSizeBytes: 'int',
  },
  SqlSettings: { DriverName: 'string', DataSource: 'string', DataSourceReplicas: 'strings' },
  PluginSettings: { Plugins: 'map', PluginStates: 'map' },
};

export interface MattermostImportOptions {
  /** Environment for Mattermost's MM_<SECTION>_<SETTING> overrides (usually process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * The Mattermost server's working directory, against which a relative FileSettings.Directory
   * is resolved. Default: the parent of the config file's directory when that is named
   * "config" (/opt/mattermost/config/config.json → /opt/mattermost), else the file's directory.
   */
  serverDir?: string;
}

export interface MattermostImport {
  layer: ConfigLayer;
  warnings: string[];
}

/** Go strconv.ParseBool. */
function goBool(s: string): boolean | null {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  return null;
}

/**
 * Applies Mattermost's environment overrides to a parsed config.json in place. Returns which
 * settings were overridden ("SqlSettings.DataSource" → "MM_SQLSETTINGS_DATASOURCE").
 */
export function applyMattermostEnv(cfg: Record<string, unknown>, env: Readonly<Record<string, string | undefined>>, warnings: string[] = []): Map<string, string> {
  const applied = new Map<string, string>();
  for (const [name, raw] of Object.entries(env)) {
    if (raw === undefined || !name.toUpperCase().startsWith('MM_')) continue;
    const parts = name.toUpperCase().slice(3).split('_');
    if (parts.length !== 2) continue;
    const section = Object.keys(MM_FIELDS).find((s) => s.toUpperCase() === parts[0]);
    if (section === undefined) continue;
    const field = Object.keys(MM_FIELDS[section]!).find((f) => f.toUpperCase() === parts[1]);
    if (field === undefined) continue;
    const kind = MM_FIELDS[section]![field]!;
    let v: unknown;
    switch (kind) {
      case 'string':
        v = raw;
        break;
      case 'bool':
        v = goBool(raw);
        break;
      case 'int':
        v = /^[+-]?\d+$/.test(raw) ? Number(raw) : null;
        break;
      case 'strings':
        v = raw.split(' ').filter((x) => x !== '');
        break;
      case 'map':
        try {
          v = JSON.parse(raw);
        } catch {
          v = null;
        }
        if (!isTree(v)) v = null;
        break;
    }
    if (v === null) {
      warnings.push(`Mattermost environment variable ${name}: cannot parse as ${kind === 'map' ? 'a JSON object' : `a ${kind}`}; ignored, as the Mattermost server ignores it`);
      continue;
    }
    // The section key as config.json spells it, if present (keys are matched case-insensitively).
    const secKey = Object.keys(cfg).find((k) => k.toUpperCase() === section.toUpperCase()) ?? section;
    if (!isTree(cfg[secKey])) cfg[secKey] = {};
    const sec = cfg[secKey] as Record<string, unknown>;
    const fieldKey = Object.keys(sec).find((k) => k.toUpperCase() === field.toUpperCase()) ?? field;
    sec[fieldKey] = v;
    applied.set(`${section}.${field}`, name);
  }
  return applied;
}

/** Reads `Section.Field` (exact Go names) from config.json. */
function get(cfg: Record<string, unknown>, section: string, field: string): unknown {
  const s = cfg[section];
  return isTree(s) ? (s as Record<string, unknown>)[field] : undefined;
}

function pluginSettings(cfg: Record<string, unknown>, id: string): Record<string, unknown> | undefined {
  const plugins = get(cfg, 'PluginSettings', 'Plugins');
  if (!isTree(plugins)) return undefined;
  const p = (plugins as Record<string, unknown>)[id];
  return isTree(p) ? (p as Record<string, unknown>) : undefined;
}

/** Plugin settings come from the System Console or mmctl and may be numbers or numeric strings. */
function num(v: unknown): unknown {
  return typeof v === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(v) ? Number(v) : v;
}
function flag(v: unknown): unknown {
  return typeof v === 'string' && (v === 'true' || v === 'false') ? v === 'true' : v;
}
/** n of a unit as a duration string, or the raw value for the schema to reject. */
function withUnit(v: unknown, unit: string): unknown {
  const n = num(v);
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 && Number.isInteger(n) ? `${n}${unit}` : n;
}

/** Plugin keys (lower-case) → [our path, converter]. */
const PLUGIN_KEYS: Record<string, [string, (v: unknown) => unknown]> = {
  scrapeintervalseconds: ['scrape.interval', num],
  scrapetimeoutseconds: ['scrape.timeout', num],
  bodysizelimitbytes: ['scrape.bodySizeLimit', num],
  samplelimit: ['scrape.sampleLimit', num],
  bucketlimit: ['scrape.bucketLimit', num],
  honortimestamps: ['scrape.honorTimestamps', flag],
  retentiondurationdays: ['storage.remoteRetention', (v) => withUnit(v, 'd')],
  filestoresyncperiodminutes: ['storage.syncPeriod', (v) => withUnit(v, 'm')],
  filestorecleanupperiodminutes: ['storage.cleanupPeriod', (v) => withUnit(v, 'm')],
  allowoverlappingcompaction: ['storage.allowOverlappingCompaction', flag],
  supportpacketmetricsdays: ['supportPacket.metricsDays', num],
  enablenodeexportertargets: ['targets.nodeExporter.enabled', flag],
  nodeexporterport: ['targets.nodeExporter.port', num],
};
/** Plugin keys deliberately not imported (see the file comment). */
const PLUGIN_IGNORED = new Set(['dbpath', 'enablememorysnapshotonshutdown', 'enablemetadatastorage', 'stats', 'dumps']);

/** Builds the import layer from an already parsed config.json. */
export function mattermostLayer(parsed: unknown, file: string, opts: MattermostImportOptions = {}): MattermostImport {
  if (!isTree(parsed)) throw parseError('Mattermost config', file, 'expected a JSON object at the top level');
  const cfg = structuredClone(parsed) as Record<string, unknown>;
  const warnings: string[] = [];
  const overridden = applyMattermostEnv(cfg, opts.env ?? {}, warnings);
  const serverDir = opts.serverDir ?? (basename(dirname(resolve(file))) === 'config' ? dirname(dirname(resolve(file))) : dirname(resolve(file)));

  const values: InputTree = {};
  const origin = new Map<string, string>(); // our path → "Section.Field" or plugin key description
  const set = (path: string, v: unknown, from: string) => {
    if (v === undefined) return;
    const segs = path.split('.');
    let o = values;
    for (const s of segs.slice(0, -1)) {
      if (!isTree(o[s])) o[s] = {};
      o = o[s] as InputTree;
    }
    o[segs[segs.length - 1]!] = v as InputValue;
    origin.set(path, from);
  };
  const take = (section: string, field: string, path: string, conv: (v: unknown) => unknown = (v) => v) => {
    const v = get(cfg, section, field);
    if (v !== undefined && v !== null) set(path, conv(v), `${section}.${field}`);
  };

  const siteUrl = get(cfg, 'ServiceSettings', 'SiteURL');
  if (typeof siteUrl === 'string' && siteUrl !== '') take('ServiceSettings', 'SiteURL', 'server.auth.siteUrl');
  take('MetricsSettings', 'ListenAddress', 'targets.mattermost.metricsListenAddress');
  if (get(cfg, 'MetricsSettings', 'Enable') === false) {
    warnings.push(`Mattermost ${file}: MetricsSettings.Enable is false, so the server exposes no metrics to scrape (the plugin turns it on by itself; set it to true)`);
  }

  take('ClusterSettings', 'Enable', 'cluster.enable');
  take('ClusterSettings', 'ClusterName', 'cluster.clusterName');
  const override = get(cfg, 'ClusterSettings', 'OverrideHostname');
  if (typeof override === 'string' && override !== '') take('ClusterSettings', 'OverrideHostname', 'cluster.hostname');

  take('SqlSettings', 'DriverName', 'cluster.database.driver');
  take('SqlSettings', 'DataSource', 'cluster.database.dataSource');

  if (isTree(cfg.FileSettings)) {
    // Mattermost fills absent keys with its defaults: DriverName "local", Directory "./data/".
    const driver = get(cfg, 'FileSettings', 'DriverName') ?? 'local';
    set('fileStore.driver', driver, 'FileSettings.DriverName');
    const dir = get(cfg, 'FileSettings', 'Directory') ?? './data/';
    set('fileStore.directory', typeof dir === 'string' && dir !== '' ? resolve(serverDir, dir) : dir, 'FileSettings.Directory');
    take('FileSettings', 'AmazonS3Bucket', 'fileStore.s3.bucket');
    take('FileSettings', 'AmazonS3PathPrefix', 'fileStore.s3.pathPrefix');
    take('FileSettings', 'AmazonS3Region', 'fileStore.s3.region');
    take('FileSettings', 'AmazonS3Endpoint', 'fileStore.s3.endpoint');
    take('FileSettings', 'AmazonS3SSL', 'fileStore.s3.ssl');
    take('FileSettings', 'AmazonS3AccessKeyId', 'fileStore.s3.accessKeyId');
    take('FileSettings', 'AmazonS3SecretAccessKey', 'fileStore.s3.secretAccessKey');
    take('FileSettings', 'AmazonS3SSE', 'fileStore.s3.sse');
    take('FileSettings', 'AmazonS3Trace', 'fileStore.s3.trace');
    take('FileSettings', 'AmazonS3SignV2', 'fileStore.s3.signV2');
    take('FileSettings', 'AmazonS3RequestTimeoutMilliseconds', 'fileStore.s3.requestTimeout', (v) => withUnit(v, 'ms'));
    take('FileSettings', 'AmazonS3UploadPartSizeBytes', 'fileStore.s3.uploadPartSize');
  }

  const metricsPlugin = pluginSettings(cfg, METRICS_PLUGIN_ID);
  const pluginWhere = (k: string) => `PluginSettings.Plugins["${METRICS_PLUGIN_ID}"].${k}`;
  for (const [k, v] of Object.entries(metricsPlugin ?? {})) {
    const key = k.toLowerCase();
    const m = PLUGIN_KEYS[key];
    if (m !== undefined) set(m[0], m[1](v), pluginWhere(k));
    else if (!PLUGIN_IGNORED.has(key)) warnings.push(`Mattermost ${file}: ${pluginWhere(k)} is not a known metrics-plugin setting; ignored`);
  }
  const calls = pluginSettings(cfg, CALLS_PLUGIN_ID);
  const rtcd = calls !== undefined ? Object.entries(calls).find(([k]) => k.toLowerCase() === 'rtcdserviceurl') : undefined;
  if (rtcd !== undefined) set('targets.calls.rtcdUrl', rtcd[1], `PluginSettings.Plugins["${CALLS_PLUGIN_ID}"].${rtcd[0]}`);
  const states = get(cfg, 'PluginSettings', 'PluginStates');
  const callsState = isTree(states) ? (states as Record<string, unknown>)[CALLS_PLUGIN_ID] : undefined;
  if (isTree(callsState) && (callsState as Record<string, unknown>).Enable !== undefined) {
    set('targets.calls.enabled', (callsState as Record<string, unknown>).Enable, `PluginSettings.PluginStates["${CALLS_PLUGIN_ID}"].Enable`);
  }

  if (get(cfg, 'FileSettings', 'AmazonS3SignV2') === true) {
    warnings.push(`Mattermost ${file}: FileSettings.AmazonS3SignV2 is true; signature V2 is not supported here, requests are signed with V4`);
  }

  return {
    layer: {
      name: `Mattermost config ${file}`,
      values,
      describe(path) {
        const keys = path.filter((x): x is string => typeof x === 'string');
        for (let n = keys.length; n > 0; n--) {
          const from = origin.get(keys.slice(0, n).join('.'));
          if (from === undefined) continue;
          // Settings overridden by Mattermost env vars name the variable, as the System Console does.
          const bracket = from.indexOf('[');
          const env = overridden.get(bracket === -1 ? from : from.slice(0, bracket));
          return env !== undefined ? `Mattermost env ${env}` : `${file}: ${from}`;
        }
        return file;
      },
    },
    warnings,
  };
}

/** Reads a Mattermost config.json and builds the import layer (see the file comment). */
export async function fromMattermostConfig(file: string, opts: MattermostImportOptions = {}): Promise<MattermostImport> {
  if (/^(postgres|postgresql|mysql):\/\//i.test(file)) {
    throw dbConfigError();
  }
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw readError('Mattermost config', file, e);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw parseError('Mattermost config', jsonWhere(file, text, e), e instanceof Error ? e.message.replace(/ in JSON at position \d+.*$/, '') : String(e));
  }
  return mattermostLayer(parsed, file, opts);
}

function dbConfigError() {
  return parseError(
    'Mattermost config',
    'MM_CONFIG',
    'a database-backed Mattermost configuration (postgres://… or mysql://…) cannot be read directly; export the active configuration to a config.json file and pass its path',
  );
}

/** "file:line:col" for a JSON.parse error that reports a position. */
function jsonWhere(file: string, text: string, e: unknown): string {
  const m = e instanceof Error ? /position (\d+)/.exec(e.message) : null;
  if (m === null) return file;
  const pos = Number(m[1]);
  const before = text.slice(0, pos);
  const line = before.split('\n').length;
  const col = pos - before.lastIndexOf('\n');
  return `${file}:${line}:${col}`;
}
