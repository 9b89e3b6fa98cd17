/**
 * Configuration errors. One ConfigError carries every problem found (users fix a config file
 * in one pass, not one error per restart); its message lists them one per line:
 *
 *   invalid configuration (2 problems):
 *     scrape.interval: expected a duration like "60s", … got "abc" (/etc/mm-metrics.yaml:3:13)
 *     fileStore.s3.bucket: required when fileStore.driver is "s3"
 *
 * Codes: MM_ERR_CONFIG_INVALID (validation), MM_ERR_CONFIG_READ (a file could not be read),
 * MM_ERR_CONFIG_PARSE (YAML/JSON syntax, with file:line:column).
 */

export const ConfigErrorCode = {
  Invalid: 'MM_ERR_CONFIG_INVALID',
  Read: 'MM_ERR_CONFIG_READ',
  Parse: 'MM_ERR_CONFIG_PARSE',
} as const;
export type ConfigErrorCode = (typeof ConfigErrorCode)[keyof typeof ConfigErrorCode];

/** One problem: the dotted key path ("targets.static[0].job"), what is wrong, and where it was set. */
export interface ConfigIssue {
  path: string;
  message: string;
  /** "" for defaults, else e.g. "env MM_METRICS_SCRAPE_INTERVAL" or "/etc/mm-metrics.yaml:3:13". */
  source: string;
}

export function formatIssue(i: ConfigIssue): string {
  const head = i.path === '' ? i.message : `${i.path}: ${i.message}`;
  return i.source === '' ? head : `${head} (${i.source})`;
}

export class ConfigError extends Error {
  readonly code: ConfigErrorCode;
  readonly issues: readonly ConfigIssue[];
  constructor(code: ConfigErrorCode, issues: readonly ConfigIssue[], headline?: string) {
    const head = headline ?? (issues.length === 1 ? 'invalid configuration' : `invalid configuration (${issues.length} problems)`);
    super(issues.length === 1 && headline === undefined ? `${head}: ${formatIssue(issues[0]!)}` : `${head}:\n${issues.map((i) => '  ' + formatIssue(i)).join('\n')}`);
    this.code = code;
    this.issues = issues;
    this.name = 'ConfigError';
  }
}

/** A file could not be read (missing, permissions). */
export function readError(what: string, file: string, e: unknown): ConfigError {
  const reason = typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : e instanceof Error ? e.message : String(e);
  return new ConfigError(ConfigErrorCode.Read, [{ path: '', message: `cannot read ${what} ${file}: ${reason}`, source: '' }], `cannot read ${what}`);
}

/** A syntax error at file:line:col. */
export function parseError(what: string, where: string, message: string): ConfigError {
  return new ConfigError(ConfigErrorCode.Parse, [{ path: '', message: `${where}: ${message}`, source: '' }], `cannot parse ${what}`);
}
