/**
 * Scrape configuration and targets: how a discovered label set becomes a target with
 * `job`/`instance` labels and a URL, as Prometheus 2.42's `PopulateLabels` and
 * `Target.URL` do (scrape/target.go), minus relabel_configs.
 *
 *   discovered labels ─► defaults (job, __scheme__, __metrics_path__, __param_*,
 *                          __scrape_interval__, __scrape_timeout__)
 *                     ─► __address__ gets :80/:443 when it has no port
 *                     ─► instance = __address__ when absent/empty
 *                     ─► labels (all)        ─► url, interval, timeout
 *                     ─► targetLabels (no "__" names) attached to every sample
 */
import { Labels, LabelsBuilder } from '../storage/index.js';
import { formatDuration, parseDuration } from './duration.js';
import { TargetConfigError } from './errors.js';

/**
 * One scrape job (Prometheus `scrape_config`). Durations in milliseconds; 0 for a
 * limit means "no limit". `defaultScrapeConfig()` lists every default in one place.
 */
export interface ScrapeConfig {
  jobName: string;
  /** ms; Prometheus default 1m. */
  scrapeInterval: number;
  /** ms; default 10s, capped to the interval. */
  scrapeTimeout: number;
  metricsPath: string;
  scheme: 'http' | 'https';
  /** URL query parameters; the first value of each key can be overridden per target by `__param_<key>`. */
  params: Readonly<Record<string, readonly string[]>>;
  honorLabels: boolean;
  honorTimestamps: boolean;
  /** Samples per scrape after relabeling; more fails the whole scrape. */
  sampleLimit: number;
  /** Bytes of decompressed body; a body of this size or more fails the scrape. */
  bodySizeLimit: number;
  /** Labels per series incl. `__name__` and target labels. */
  labelLimit: number;
  /** Bytes per label name. */
  labelNameLengthLimit: number;
  /** Bytes per label value. */
  labelValueLengthLimit: number;
}

/** Prometheus 2.42's defaults (config/config.go). */
export function defaultScrapeConfig(jobName = 'prometheus'): ScrapeConfig {
  return {
    jobName,
    scrapeInterval: 60_000,
    scrapeTimeout: 10_000,
    metricsPath: '/metrics',
    scheme: 'http',
    params: {},
    honorLabels: false,
    honorTimestamps: true,
    sampleLimit: 0,
    bodySizeLimit: 0,
    labelLimit: 0,
    labelNameLengthLimit: 0,
    labelValueLengthLimit: 0,
  };
}

/** Fills unset fields from the defaults and caps the timeout to the interval, as Prometheus does. */
export function scrapeConfigWith(jobName: string, over: Partial<ScrapeConfig>): ScrapeConfig {
  const c: ScrapeConfig = { ...defaultScrapeConfig(jobName), ...over };
  if (over.scrapeTimeout === undefined && c.scrapeTimeout > c.scrapeInterval) c.scrapeTimeout = c.scrapeInterval;
  if (c.scrapeInterval <= 0) throw new TargetConfigError(`job ${JSON.stringify(jobName)}: scrape interval must be > 0`);
  if (c.scrapeTimeout <= 0) throw new TargetConfigError(`job ${JSON.stringify(jobName)}: scrape timeout must be > 0`);
  if (c.scrapeTimeout > c.scrapeInterval) {
    throw new TargetConfigError(
      `job ${JSON.stringify(jobName)}: scrape timeout ${formatDuration(c.scrapeTimeout)} greater than scrape interval ${formatDuration(c.scrapeInterval)}`,
    );
  }
  return c;
}

/**
 * A scrape target: final labels, URL and timing. Immutable; the scrape loop for a
 * target is keyed by `key` (label set + URL), so an unchanged target keeps its loop
 * and cache across `setTargets` calls.
 */
export class Target {
  /** Final label set, including `__address__`, `__scheme__`, … (what Prometheus hashes). */
  readonly labels: Labels;
  /** Labels as discovered, before defaults (shown by the targets API). */
  readonly discoveredLabels: Labels;
  /** Labels attached to every sample: `labels` minus names starting with `__`. */
  readonly targetLabels: Labels;
  readonly config: ScrapeConfig;
  readonly url: string;
  /** ms, from `__scrape_interval__` (the job's unless changed). */
  readonly interval: number;
  /** ms, from `__scrape_timeout__`. */
  readonly timeout: number;
  /** Identity for de-duplication: label set + URL (Prometheus hashes both). */
  readonly key: string;

  constructor(config: ScrapeConfig, discovered: Labels, labels: Labels) {
    this.config = config;
    this.discoveredLabels = discovered;
    this.labels = labels;
    const tb = new LabelsBuilder();
    for (let i = 0; i < labels.length; i++) {
      const n = labels.name(i);
      if (!n.startsWith('__')) tb.set(n, labels.value(i));
    }
    this.targetLabels = tb.labels();
    this.url = buildURL(config, labels);
    this.interval = parseDuration(labels.get('__scrape_interval__'));
    this.timeout = parseDuration(labels.get('__scrape_timeout__'));
    this.key = labels.key() + '\xff' + this.url;
  }

  job(): string {
    return this.labels.get('job');
  }

  instance(): string {
    return this.labels.get('instance');
  }

  /**
   * Stable 32-bit hash of label set + URL. Prometheus uses FNV-1a-64 of xxhash(labels)
   * and the URL; only "stable per target" matters for compatibility, so one FNV-1a-32
   * over the same inputs is enough.
   */
  hash(): number {
    return fnv1a32(this.key);
  }

  /**
   * Delay before the first scrape so the target keeps a stable phase relative to
   * wall-clock multiples of the interval (scrape/target.go `offset`):
   * base = interval − now mod interval; offset = (hash ^ seed) mod interval.
   */
  offset(nowMs: number, jitterSeed: number): number {
    const interval = this.interval;
    const base = interval - (nowMs % interval);
    const offset = ((this.hash() ^ jitterSeed) >>> 0) % interval;
    let next = base + offset;
    if (next > interval) next -= interval;
    return next;
  }
}

/** FNV-1a 32-bit over the UTF-16 code units of `s` (ASCII in practice). */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

const META_PREFIX = '__meta_';

/**
 * Prometheus `PopulateLabels` without relabel_configs: builds a target from a
 * discovered label set (`__address__` required; extra labels such as
 * static_configs `labels:` included). Throws `TargetConfigError` naming the target.
 */
export function newTarget(config: ScrapeConfig, discovered: Readonly<Record<string, string>>): Target {
  const disc = Labels.fromObject(discovered);
  const b = disc.builder();
  const setDefault = (name: string, value: string): void => {
    if (b.get(name) === '') b.set(name, value);
  };
  setDefault('job', config.jobName);
  setDefault('__scrape_interval__', formatDuration(config.scrapeInterval));
  setDefault('__scrape_timeout__', formatDuration(config.scrapeTimeout));
  setDefault('__metrics_path__', config.metricsPath);
  setDefault('__scheme__', config.scheme);
  for (const k of Object.keys(config.params).sort()) {
    const vs = config.params[k] as readonly string[];
    if (vs.length > 0) b.set('__param_' + k, vs[0] as string);
  }

  const addr = b.get('__address__');
  if (addr === '') throw new TargetConfigError('no address');
  const scheme = b.get('__scheme__');
  if (!hasPort(addr)) {
    if (scheme === 'http' || scheme === '') b.set('__address__', addr + ':80');
    else if (scheme === 'https') b.set('__address__', addr + ':443');
    else throw new TargetConfigError(`invalid scheme: ${JSON.stringify(scheme)}`);
  }
  const finalAddr = b.get('__address__');
  if (finalAddr.includes('/')) throw new TargetConfigError(`${JSON.stringify(finalAddr)} is not a valid hostname`);

  let interval: number;
  let timeout: number;
  const iv = b.get('__scrape_interval__');
  const tv = b.get('__scrape_timeout__');
  try {
    interval = parseDuration(iv);
  } catch {
    throw new TargetConfigError(`error parsing scrape interval: not a valid duration string: ${JSON.stringify(iv)}`);
  }
  try {
    timeout = parseDuration(tv);
  } catch {
    throw new TargetConfigError(`error parsing scrape timeout: not a valid duration string: ${JSON.stringify(tv)}`);
  }
  if (interval === 0) throw new TargetConfigError('scrape interval cannot be 0');
  if (timeout === 0) throw new TargetConfigError('scrape timeout cannot be 0');
  if (timeout > interval) throw new TargetConfigError(`scrape timeout cannot be greater than scrape interval (${JSON.stringify(tv)} > ${JSON.stringify(iv)})`);

  const cur = b.labels();
  for (let i = 0; i < cur.length; i++) if (cur.name(i).startsWith(META_PREFIX)) b.del(cur.name(i));
  if (b.get('instance') === '') b.set('instance', finalAddr);
  const labels = b.labels();
  for (let i = 0; i < labels.length; i++) {
    if (!isWellFormed(labels.value(i))) throw new TargetConfigError(`invalid label value for ${JSON.stringify(labels.name(i))}`);
  }
  return new Target(config, disc, labels);
}

/**
 * A target from a full URL (`http://host:8067/metrics?x=1`), as the CLI and
 * `--target` take them: scheme, address, path and params come from the URL.
 */
export function targetFromURL(config: ScrapeConfig, url: string, extraLabels: Readonly<Record<string, string>> = {}): Target {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new TargetConfigError(`invalid target URL ${JSON.stringify(url)}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new TargetConfigError(`unsupported scheme in target URL ${JSON.stringify(url)}`);
  const params: Record<string, string[]> = {};
  for (const [k, v] of u.searchParams) (params[k] ??= []).push(v);
  const scheme = u.protocol === 'https:' ? 'https' : 'http';
  const cfg: ScrapeConfig = { ...config, scheme, metricsPath: u.pathname || '/', params };
  return newTarget(cfg, { ...extraLabels, __address__: u.host });
}

/** Go `net.SplitHostPort` succeeds ⇔ the address already has a port. */
function hasPort(addr: string): boolean {
  if (addr.startsWith('[')) return /^\[[^\]]*\]:\d*$/.test(addr);
  const i = addr.indexOf(':');
  return i >= 0 && addr.indexOf(':', i + 1) < 0;
}

function isWellFormed(s: string): boolean {
  // Lone surrogates are the only JS strings that cannot be UTF-8.
  return !/[\ud800-\udfff]/.test(s) || /^(?:[^\ud800-\udfff]|[\ud800-\udbff][\udc00-\udfff])*$/.test(s);
}

/**
 * `Target.URL`: scheme://__address__ + __metrics_path__ + query, where the query is
 * the job's params with each `__param_<k>` replacing the first value of k, encoded
 * with keys sorted as Go's `url.Values.Encode`.
 */
function buildURL(config: ScrapeConfig, labels: Labels): string {
  const params = new Map<string, string[]>();
  for (const k of Object.keys(config.params)) params.set(k, [...(config.params[k] as readonly string[])]);
  for (let i = 0; i < labels.length; i++) {
    const n = labels.name(i);
    if (!n.startsWith('__param_')) continue;
    const k = n.slice('__param_'.length);
    const vs = params.get(k);
    if (vs === undefined || vs.length === 0) params.set(k, [labels.value(i)]);
    else vs[0] = labels.value(i);
  }
  let q = '';
  for (const k of [...params.keys()].sort()) {
    for (const v of params.get(k) as string[]) {
      if (q !== '') q += '&';
      q += goQueryEscape(k) + '=' + goQueryEscape(v);
    }
  }
  let path = labels.get('__metrics_path__');
  if (!path.startsWith('/')) path = '/' + path;
  return labels.get('__scheme__') + '://' + labels.get('__address__') + path + (q === '' ? '' : '?' + q);
}

/** Go `url.QueryEscape`: keep [A-Za-z0-9-_.~], space → '+', everything else %XX of UTF-8. */
function goQueryEscape(s: string): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (byte === 0x20) out += '+';
    else out += '%' + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}
