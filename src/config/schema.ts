/**
 * The zod schema of the configuration: every setting, its accepted input forms and its
 * validation. Defaults live in defaults.ts (one input-shaped table), so the schema itself
 * only validates and normalises; loadConfig merges defaults and layers, then parses here.
 *
 * Each field is built by a helper below that writes its own message in one house style:
 *     expected <what is allowed>, got <what was given>
 * The loader prefixes the key path and the source ("scrape.interval: … (env MM_METRICS_…)").
 * Secret fields never print what was given.
 *
 * Input → output:
 *   durations  "60s" | 60 (seconds)          → milliseconds
 *   sizes      "1GiB" | 1073741824 (bytes)   → bytes
 *   driver     "s3" | "amazons3"             → "s3"
 *   pathStyle  "auto" | true | false         → null | true | false
 */
import { z } from 'zod';
import type { Config } from './types.js';
import { DURATION_HINT, SIZE_HINT, formatDuration, parseBytes, parseDuration } from './units.js';

/** A compact, bounded rendering of a rejected value for messages. */
export function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (typeof v === 'string') {
    const s = JSON.stringify(v);
    return s.length > 80 ? s.slice(0, 77) + '…"' : s;
  }
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return String(v);
}

/** What a secret value was, without saying what it is. */
function showSecret(v: unknown): string {
  if (v === null || v === undefined) return show(v);
  return typeof v === 'string' ? 'a string (value hidden)' : `a ${Array.isArray(v) ? 'list' : typeof v === 'object' ? 'mapping' : typeof v}`;
}

type Ctx = z.RefinementCtx;
function fail(ctx: Ctx, message: string): never {
  ctx.addIssue({ code: 'custom', message });
  return z.NEVER as never;
}

/** Duration in ms with bounds. */
export function duration(min: number, max = Number.MAX_SAFE_INTEGER) {
  return z.unknown().transform((v, ctx): number => {
    const ms = parseDuration(v);
    if (ms === null) return fail(ctx, `expected ${DURATION_HINT}, got ${show(v)}`);
    if (ms < min) return fail(ctx, `must be at least ${formatDuration(min)}, got ${formatDuration(ms)}`);
    if (ms > max) return fail(ctx, `must be at most ${formatDuration(max)}, got ${formatDuration(ms)}`);
    return ms;
  });
}

/** Byte size with bounds. */
export function bytes(min: number, max = Number.MAX_SAFE_INTEGER) {
  return z.unknown().transform((v, ctx): number => {
    const n = parseBytes(v);
    if (n === null) return fail(ctx, `expected ${SIZE_HINT}, got ${show(v)}`);
    if (n < min || n > max) return fail(ctx, `expected a size from ${min} to ${max} bytes, got ${n}`);
    return n;
  });
}

/** Integer within [min, max]. */
export function int(min: number, max = Number.MAX_SAFE_INTEGER) {
  const range = max === Number.MAX_SAFE_INTEGER ? `an integer ≥ ${min}` : `an integer from ${min} to ${max}`;
  return z.unknown().transform((v, ctx): number => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) return fail(ctx, `expected ${range}, got ${show(v)}`);
    return v;
  });
}

export function bool() {
  return z.unknown().transform((v, ctx): boolean => {
    if (typeof v !== 'boolean') return fail(ctx, `expected true or false, got ${show(v)}`);
    return v;
  });
}

/** One of a fixed set; `aliases` map extra accepted spellings to a canonical value. */
export function oneOf<const T extends string>(values: readonly T[], aliases: Record<string, T> = {}) {
  const listed = values.map((x) => JSON.stringify(x)).join(', ');
  const aliasNote = Object.keys(aliases).length > 0 ? ` (alias ${Object.entries(aliases).map(([a, t]) => `${JSON.stringify(a)} = ${JSON.stringify(t)}`).join(', ')})` : '';
  return z.unknown().transform((v, ctx): T => {
    if (typeof v === 'string') {
      if ((values as readonly string[]).includes(v)) return v as T;
      const a = aliases[v];
      if (a !== undefined) return a;
    }
    return fail(ctx, `expected one of ${listed}${aliasNote}, got ${show(v)}`);
  });
}

/** A string; `check` returns an error description or '' when fine. */
export function str(opts: { secret?: boolean; check?: (s: string) => string } = {}) {
  return z.unknown().transform((v, ctx): string => {
    if (typeof v !== 'string') return fail(ctx, `expected a string, got ${opts.secret === true ? showSecret(v) : show(v)}`);
    const problem = opts.check?.(v) ?? '';
    if (problem !== '') return fail(ctx, opts.secret === true ? problem : `${problem}, got ${show(v)}`);
    return v;
  });
}

// ─── string formats ────────────────────────────────────────────────────────

/** "host:port" with an optional host ("" or "[::1]" or a name/IPv4); '' if fine. */
export function hostPortProblem(s: string, minPort: number): string {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]*):(\d{1,5})$/.exec(s);
  const expect = `expected host:port (host may be empty, an IPv4 address, a name or [IPv6]), port ${minPort}–65535`;
  if (m === null) return expect;
  const port = Number(m[2]);
  if (port < minPort || port > 65535) return expect;
  return '';
}

/** Port of a host:port already validated by hostPortProblem. */
export function portOf(hostPort: string): number {
  return Number(hostPort.slice(hostPort.lastIndexOf(':') + 1));
}

/** Host of a host:port ('' when empty; IPv6 without brackets). */
export function hostOf(hostPort: string): string {
  const h = hostPort.slice(0, hostPort.lastIndexOf(':'));
  return h.startsWith('[') ? h.slice(1, -1) : h;
}

function httpUrlProblem(s: string, allowEmpty: boolean): string {
  if (s === '' && allowEmpty) return '';
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return 'expected an http:// or https:// URL';
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'expected an http:// or https:// URL';
  if (u.hostname === '') return 'expected a URL with a host';
  return '';
}

function pathProblem(s: string): string {
  return s.startsWith('/') ? '' : 'expected an absolute URL path starting with "/"';
}

function endpointProblem(s: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) return 'expected host[:port] without a scheme (set fileStore.s3.ssl for https)';
  if (!/^[A-Za-z0-9._-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/.test(s)) return 'expected host[:port]';
  return '';
}

function pathPrefixProblem(s: string): string {
  const p = s.replace(/^\/+|\/+$/g, '');
  if (p === '') return '';
  if (p.includes('\\') || p.includes('\0')) return 'expected a "/"-separated path without backslashes or NUL';
  for (const seg of p.split('/')) if (seg === '' || seg === '.' || seg === '..') return 'expected a path without empty, "." or ".." segments';
  return '';
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

// ─── the schema ────────────────────────────────────────────────────────────

/**
 * For "required when X" rules: the setting X that made a default-valued key required, so the
 * error can name where X was set when the key itself was never set anywhere.
 */
function because(...path: string[]): { because: string[] } {
  return { because: path };
}

const SECOND = 1000;
const MIB = 1024 * 1024;

const staticTarget = z.strictObject({
  job: str({ check: (s) => (s.trim() === '' ? 'expected a non-empty job name' : '') }),
  targets: z
    .array(str({ check: (s) => hostPortProblem(s, 1) }), { error: (iss) => `expected a list of host:port strings, got ${show(iss.input)}` })
    .min(1, { error: 'expected at least one host:port' }),
  metricsPath: str({ check: pathProblem }).optional(),
  tls: bool().optional(),
  labels: z
    .record(z.string(), str(), { error: (iss) => `expected a mapping of label names to strings, got ${show(iss.input)}` })
    .superRefine((rec, ctx) => {
      for (const name of Object.keys(rec)) {
        if (!LABEL_NAME.test(name) || name.startsWith('__')) {
          ctx.addIssue({ code: 'custom', path: [name], message: `expected a label name matching [a-zA-Z_][a-zA-Z0-9_]* and not starting with "__", got ${show(name)}` });
        }
      }
    })
    .optional(),
});

/** Object helper: strict, with our message for "not a mapping". */
function section<T extends z.core.$ZodLooseShape>(shape: T) {
  return z.strictObject(shape, { error: (iss) => (iss.code === 'invalid_type' ? `expected a mapping of settings, got ${show(iss.input)}` : undefined) });
}

export const configSchema = section({
  scrape: section({
    interval: duration(1 * SECOND),
    timeout: duration(1 * SECOND),
    bodySizeLimit: bytes(100),
    sampleLimit: int(0),
    bucketLimit: int(0),
    honorTimestamps: bool(),
    honorLabels: bool(),
  }),
  targets: section({
    tls: bool(),
    tlsInsecureSkipVerify: bool(),
    mattermost: section({
      enabled: bool(),
      metricsListenAddress: str({ check: (s) => hostPortProblem(s, 1) }),
      metricsPath: str({ check: pathProblem }),
    }),
    self: section({
      enabled: bool(),
    }),
    nodeExporter: section({
      enabled: bool(),
      port: int(1, 65535),
    }),
    calls: section({
      enabled: bool(),
      metricsPath: str({ check: pathProblem }),
      rtcdUrl: str({ check: (s) => httpUrlProblem(s, true) }),
    }),
    static: z.array(staticTarget, { error: (iss) => `expected a list of target groups, got ${show(iss.input)}` }),
  }),
  storage: section({
    dataDir: str({ check: (s) => (s.trim() === '' ? 'expected a non-empty directory path' : '') }),
    localRetention: duration(3600 * SECOND),
    remoteRetention: duration(3600 * SECOND),
    syncPeriod: duration(1 * SECOND),
    cleanupPeriod: duration(1 * SECOND),
    allowOverlappingCompaction: bool(),
  }),
  supportPacket: section({
    metricsDays: int(1, 3650),
  }),
  server: section({
    listenAddress: str({ check: (s) => hostPortProblem(s, 0) }),
    adminToken: str({
      secret: true,
      check: (s) => (s !== '' && (s.length < 16 || /\s/.test(s)) ? 'expected an empty string (generate a token) or at least 16 characters without spaces; value hidden' : ''),
    }),
    auth: section({
      mode: oneOf(['static', 'mattermost'] as const),
      siteUrl: str({ check: (s) => httpUrlProblem(s, true) }),
    }),
  }),
  fileStore: section({
    driver: oneOf(['local', 's3'] as const, { amazons3: 's3' }),
    directory: str(),
    s3: section({
      bucket: str(),
      pathPrefix: str({ check: pathPrefixProblem }),
      region: str(),
      endpoint: str({ check: endpointProblem }),
      ssl: bool(),
      pathStyle: z.unknown().transform((v, ctx): boolean | null => {
        if (v === 'auto') return null;
        if (typeof v === 'boolean') return v;
        return fail(ctx, `expected one of "auto", true, false, got ${show(v)}`);
      }),
      accessKeyId: str({ secret: true }),
      secretAccessKey: str({ secret: true }),
      sse: bool(),
      trace: bool(),
      requestTimeout: duration(1 * SECOND),
      uploadPartSize: bytes(5 * MIB, 5 * 1024 * MIB),
      skipVerify: bool(),
      signV2: bool(),
    }),
  }),
  cluster: section({
    enable: bool(),
    clusterName: str(),
    nodeId: str(),
    hostname: str(),
    database: section({
      driver: oneOf(['postgres', 'mysql'] as const),
      dataSource: str({ secret: true }),
    }),
    discoveryPollInterval: duration(1 * SECOND),
    leaderTakeover: duration(5 * SECOND),
    headShipPeriod: duration(1 * SECOND),
  }),
  log: section({
    level: oneOf(['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const),
  }),
}).superRefine(
  (c, ctx) => {
    // Cross-field rules. They run even when other settings failed (see `when` below), so that
    // one pass reports everything; each rule only looks at fields that parsed to the right type.
    const isNum = (v: unknown): v is number => typeof v === 'number';
    const isStr = (v: unknown): v is string => typeof v === 'string';
    const scrape = c.scrape ?? {};
    if (isNum(scrape.timeout) && isNum(scrape.interval) && scrape.timeout > scrape.interval) {
      ctx.addIssue({ code: 'custom', path: ['scrape', 'timeout'], message: `must not exceed scrape.interval (${formatDuration(scrape.interval)}), got ${formatDuration(scrape.timeout)}` });
    }
    const fs = c.fileStore ?? {};
    const s3 = fs.s3 ?? {};
    if (fs.driver === 's3') {
      if (s3.bucket === '') ctx.addIssue({ code: 'custom', path: ['fileStore', 's3', 'bucket'], message: 'required when fileStore.driver is "s3"', params: because('fileStore', 'driver') });
      if (isStr(s3.accessKeyId) && isStr(s3.secretAccessKey) && (s3.accessKeyId === '') !== (s3.secretAccessKey === '')) {
        ctx.addIssue({
          code: 'custom',
          path: ['fileStore', 's3', s3.accessKeyId === '' ? 'accessKeyId' : 'secretAccessKey'],
          message: 'set both fileStore.s3.accessKeyId and fileStore.s3.secretAccessKey, or neither (to use the AWS default credential chain)',
        });
      }
    } else if (fs.driver === 'local' && isStr(fs.directory) && fs.directory.trim() === '') {
      ctx.addIssue({ code: 'custom', path: ['fileStore', 'directory'], message: 'expected a non-empty directory path when fileStore.driver is "local"' });
    }
    const auth = c.server?.auth ?? {};
    if (auth.mode === 'mattermost' && auth.siteUrl === '') {
      ctx.addIssue({
        code: 'custom',
        path: ['server', 'auth', 'siteUrl'],
        message: 'required when server.auth.mode is "mattermost" (the Mattermost SiteURL, e.g. "https://chat.example.com")',
        params: because('server', 'auth', 'mode'),
      });
    }
    const cl = c.cluster ?? {};
    if (cl.enable === true && isStr(cl.database?.dataSource) && cl.database.dataSource.trim() === '') {
      ctx.addIssue({ code: 'custom', path: ['cluster', 'database', 'dataSource'], message: 'required when cluster.enable is true (Mattermost SqlSettings.DataSource)', params: because('cluster', 'enable') });
    }
  },
  { when: (payload) => typeof payload.value === 'object' && payload.value !== null },
)
  .transform((c) => ({
    ...c,
    targets: {
      ...c.targets,
      // Target groups inherit what they leave out.
      static: c.targets.static.map((t) => ({
        job: t.job,
        targets: t.targets,
        metricsPath: t.metricsPath ?? '/metrics',
        tls: t.tls ?? c.targets.tls,
        labels: t.labels ?? {},
      })),
    },
  }));

/** Compile-time check that the schema's output is exactly the documented Config. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const _schemaMatchesConfig: Same<z.output<typeof configSchema>, Config> = true;
void _schemaMatchesConfig;
