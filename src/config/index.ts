/**
 * Public surface of the configuration layer (a leaf: imports nothing of ours). Only this
 * layer reads configuration files and the environment handed to it; everything below the
 * app receives plain values.
 */
export type { Config, StaticTargetConfig, LogLevel, AuthMode, FileStoreDriver, DatabaseDriver } from './types.js';
export { SECRET_PATHS } from './types.js';
export { loadConfig, loadConfigDetailed, defaultConfig, configWarnings, resolveLayers, type LoadConfigOptions, type LoadedConfig } from './load.js';
export { fromMattermostConfig, mattermostLayer, applyMattermostEnv, METRICS_PLUGIN_ID, CALLS_PLUGIN_ID, type MattermostImport, type MattermostImportOptions } from './mattermost.js';
export { fromYamlFile, yamlLayer } from './yaml.js';
export { envLayer, envNameFor, ENV_TABLE, ENV_PREFIX, RESERVED_ENV, type EnvKind } from './env.js';
export { redact, dsnWithoutPassword, urlWithoutPassword, REDACTED } from './redact.js';
export { ConfigError, ConfigErrorCode, formatIssue, type ConfigIssue } from './errors.js';
export { configSchema, hostOf, portOf } from './schema.js';
export { defaultInput, DEFAULT_LISTEN_PORT, type InputTree, type InputValue } from './defaults.js';
export { parseDuration, formatDuration, parseBytes, formatBytes } from './units.js';
export type { ConfigLayer } from './layers.js';
export { fileStoreOptions, type FileStoreOptionsFromConfig } from './filestore-options.js';
