/**
 * Realistic Mattermost `/metrics` bodies for tests and benches, built from the
 * families in ../shared/mattermost/metrics-catalog.json (the app-node job:
 * mattermost_*, go_*, process): counters that grow with `scrapeIndex`, gauges that
 * move, histograms with cumulative buckets and `+Inf`, the go_gc_duration_seconds
 * summary. Label values mimic the server's (handler names, status codes, the empty
 * `page_load_context=""` Mattermost really exposes).
 *
 * Deterministic: the same `{series, seed, scrapeIndex, format}` always gives the same
 * bytes. The series set depends only on `series` and `seed` (not on scrapeIndex), so
 * repeated scrapes hit a scrape cache the way a real server's do.
 *
 * `series` is exact: the fixed families come first; `mattermost_api_time` label
 * combinations (14 series each) fill up, then `mattermost_websocket_event_total`.
 */
import { readFileSync } from 'node:fs';

export type ExpositionFormat = 'text' | 'openmetrics';

export interface MattermostExpositionOptions {
  /** Exact number of sample lines. Default 2000. */
  series?: number;
  format?: ExpositionFormat;
  seed?: number;
  /** Counters and histogram counts grow with it; gauges move. Default 0. */
  scrapeIndex?: number;
  /** OpenMetrics only: add `_created` series for counters/histograms/summaries (client_golang does not by default). */
  created?: boolean;
}

export const TEXT_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

interface CatalogFamily {
  name: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  help: string;
  labels?: string[];
  buckets?: number[];
  quantiles?: number[];
  scrape_job?: string;
}

const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

let catalog: CatalogFamily[] | null = null;
function families(): CatalogFamily[] {
  if (catalog === null) {
    // A copy of ../shared/mattermost/metrics-catalog.json, so a clone anywhere runs the tests.
    const url = new URL('../fixtures/mattermost-metrics-catalog.json', import.meta.url);
    const doc = JSON.parse(readFileSync(url, 'utf8')) as { families: CatalogFamily[] };
    catalog = doc.families.filter((f) => f.scrape_job === 'prometheus');
  }
  return catalog;
}

const HANDLERS = [
  'getPostsForChannel', 'createPost', 'getChannel', 'getChannelMembersForUser', 'getUser', 'getMe', 'getUsersByIds',
  'getTeamsForUser', 'viewChannel', 'getPostThread', 'updatePost', 'deletePost', 'getFileInfo', 'uploadFileStream',
  'getPreferences', 'updatePreferences', 'getStatusesByIds', 'getChannelsForTeamForUser', 'autocompleteUsers', 'searchPosts',
  'getClientConfig', 'getClientLicense', 'getEmojiList', 'saveReaction', 'deleteReaction', 'getFlaggedPosts', 'getUserThreads',
  'getThreadMentionCountsByChannel', 'executeCommand', 'getPluginStatuses', 'getWebappPlugins', 'getTeamMembersForUser',
  'getChannelUnread', 'patchChannel', 'getPostsAroundLastUnread', 'getUsersInChannel', 'login', 'logout', 'getSessions',
  'getCategoriesForTeamForUser',
];
const STORE_METHODS = [
  'PostStore.GetPostsSince', 'PostStore.Get', 'PostStore.Save', 'ChannelStore.Get', 'ChannelStore.GetMember',
  'UserStore.Get', 'UserStore.GetProfileByIds', 'SessionStore.Get', 'TeamStore.GetTeamsForUser', 'PreferenceStore.GetCategory',
  'StatusStore.GetByIds', 'ThreadStore.GetThreadsForUser', 'FileInfoStore.GetForPost', 'ReactionStore.GetForPost',
];
const POOLS: Record<string, readonly string[]> = {
  method: ['GET', 'POST', 'PUT', 'DELETE'],
  status_code: ['200', '201', '304', '400', '401', '403', '404', '500'],
  origin_client: ['web', 'desktop', 'mobile', 'unknown'],
  page_load_context: ['', 'page_load', 'reconnect'],
  success: ['true', 'false'],
  platform: ['linux', 'windows', 'macos', 'ios', 'android', 'other'],
  agent: ['chrome', 'firefox', 'safari', 'edge', 'desktop', 'other'],
  db_name: ['master', 'replica-0', 'search-0'],
  hub: ['0', '1', '2', '3', '4', '5', '6', '7'],
  target: ['console', 'file', 'audit'],
  online: ['true', 'false'],
  timeout: ['true', 'false'],
  notifications_disabled: ['true', 'false'],
  user_id: ['<placeholder>'],
  version: ['go1.22.5'],
};

/** Small deterministic PRNG (mulberry32) so bodies never depend on Math.random. */
function mulberry(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Go `strconv.FormatFloat(v, 'g', -1, 64)`, as client_golang writes values and `le`. */
export function goFloat(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const e = v.toExponential(); // shortest round-trip digits, e.g. 1.2345e+6
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(e)!;
  const sign = m[1]!;
  const digits = m[2]! + (m[3] ?? '');
  const exp = Number(m[4]);
  // Shortest 'g': %e when exp < -4 || exp >= 6 (Go sets eprec = 6 for shortest).
  if (exp < -4 || exp >= 6) {
    const mant = digits.length > 1 ? digits[0] + '.' + digits.slice(1) : digits;
    const ae = Math.abs(exp);
    return `${sign}${mant}e${exp < 0 ? '-' : '+'}${ae < 10 ? '0' + ae : ae}`;
  }
  if (exp >= digits.length - 1) return sign + digits + '0'.repeat(exp - digits.length + 1);
  if (exp >= 0) return sign + digits.slice(0, exp + 1) + '.' + digits.slice(exp + 1);
  return sign + '0.' + '0'.repeat(-exp - 1) + digits;
}

/** One label combination of one family: precomputed label text and value parameters. */
interface Combo {
  labelText: string; // `a="x",b="y"` (no braces), '' when none
  base: number;
  rate: number;
}

interface FamilyPlan {
  fam: CatalogFamily;
  combos: Combo[];
}

interface Plan {
  fams: FamilyPlan[];
  total: number;
}

const plans = new Map<string, Plan>();

function seriesPerCombo(f: CatalogFamily): number {
  if (f.type === 'histogram') return (f.buckets ?? DEFAULT_BUCKETS).length + 3;
  if (f.type === 'summary') return (f.quantiles ?? []).length + 2;
  return 1;
}

function labelValue(name: string, i: number): string {
  const pool = POOLS[name];
  if (pool !== undefined) return pool[i % pool.length]!;
  return `${name}_${i}`;
}

function comboText(names: readonly string[], values: readonly string[]): string {
  let s = '';
  for (let i = 0; i < names.length; i++) {
    if (i > 0) s += ',';
    s += `${names[i]}="${escapeLabel(values[i]!)}"`;
  }
  return s;
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function plan(series: number, seed: number): Plan {
  const key = `${series}/${seed}`;
  const cached = plans.get(key);
  if (cached !== undefined) return cached;
  const rnd = mulberry(seed);
  const fams: FamilyPlan[] = [];
  let total = 0;
  const mkCombo = (labelText: string): Combo => ({ labelText, base: Math.floor(rnd() * 1000), rate: Math.floor(rnd() * 5) });
  let apiTime: FamilyPlan | null = null;
  let wsEvents: FamilyPlan | null = null;
  for (const f of families()) {
    const per = seriesPerCombo(f);
    const names = f.labels ?? [];
    const fp: FamilyPlan = { fam: f, combos: [] };
    if (f.name === 'mattermost_api_time') apiTime = fp;
    if (f.name === 'mattermost_websocket_event_total') wsEvents = fp;
    // Two combinations per labelled family by default (three for a few busy ones).
    const want = names.length === 0 ? 1 : f.name === 'mattermost_api_time' || f.name === 'mattermost_websocket_event_total' ? 0 : 2;
    for (let c = 0; c < want && total + per <= series; c++) {
      const values = names.map((n, j) => (n === 'method' && f.name === 'mattermost_db_store_time' ? STORE_METHODS[c % STORE_METHODS.length]! : labelValue(n, c + j)));
      fp.combos.push(mkCombo(comboText(names, values)));
      total += per;
    }
    fams.push(fp);
  }
  // Fill with api_time combinations, then single websocket-event counters.
  if (apiTime !== null) {
    const names = apiTime.fam.labels ?? [];
    const per = seriesPerCombo(apiTime.fam);
    for (let c = 0; total + per <= series; c++) {
      const handler = c < HANDLERS.length ? HANDLERS[c]! : `${HANDLERS[c % HANDLERS.length]}${Math.floor(c / HANDLERS.length)}`;
      const values = names.map((n) => {
        switch (n) {
          case 'handler':
            return handler;
          case 'method':
            return POOLS.method![c % 3]!;
          case 'status_code':
            return POOLS.status_code![(c >> 2) % 8]!;
          case 'origin_client':
            return POOLS.origin_client![(c >> 1) % 4]!;
          case 'page_load_context':
            return POOLS.page_load_context![c % 3]!;
          default:
            return labelValue(n, c);
        }
      });
      apiTime.combos.push(mkCombo(comboText(names, values)));
      total += per;
    }
  }
  if (wsEvents !== null) {
    for (let c = 0; total < series; c++) {
      wsEvents.combos.push(mkCombo(`type="event_${c}"`));
      total++;
    }
  }
  const p: Plan = { fams: fams.filter((f) => f.combos.length > 0), total };
  plans.set(key, p);
  return p;
}

function join(name: string, labelText: string, extra: string): string {
  const inner = labelText === '' ? extra : extra === '' ? labelText : `${labelText},${extra}`;
  return inner === '' ? name : `${name}{${inner}}`;
}

/** Number of sample lines `buildMattermostExposition` writes for these options (= `series` unless the catalog is smaller). */
export function mattermostSeriesCount(opts: MattermostExpositionOptions = {}): number {
  return plan(opts.series ?? 2000, opts.seed ?? 1).total;
}

/** Builds one Mattermost `/metrics` body (see file comment). */
export function buildMattermostExposition(opts: MattermostExpositionOptions = {}): string {
  const series = opts.series ?? 2000;
  const seed = opts.seed ?? 1;
  const k = opts.scrapeIndex ?? 0;
  const om = opts.format === 'openmetrics';
  const created = om && opts.created === true;
  const p = plan(series, seed);
  const out: string[] = [];
  const gaugeRnd = mulberry(seed * 7919 + k);
  for (const { fam, combos } of p.fams) {
    const type = fam.type === 'untyped' ? (om ? 'unknown' : 'untyped') : fam.type;
    // OpenMetrics names a counter family without `_total`; client_golang appends it to samples.
    const famName = om && fam.type === 'counter' && fam.name.endsWith('_total') ? fam.name.slice(0, -6) : fam.name;
    const help = om ? fam.help.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : fam.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
    out.push(`# HELP ${famName} ${help}`);
    out.push(`# TYPE ${famName} ${type}`);
    for (const c of combos) {
      const count = c.base + k * c.rate;
      switch (fam.type) {
        case 'counter': {
          const name = om ? famName + '_total' : fam.name;
          out.push(`${join(name, c.labelText, '')} ${goFloat(count)}`);
          if (created) out.push(`${join(famName + '_created', c.labelText, '')} ${goFloat(1700000000 + c.base)}`);
          break;
        }
        case 'gauge':
        case 'untyped':
          out.push(`${join(fam.name, c.labelText, '')} ${goFloat(Math.round(gaugeRnd() * 100000) / 100)}`);
          break;
        case 'histogram': {
          const buckets = fam.buckets ?? DEFAULT_BUCKETS;
          // Cumulative counts: a fixed share of observations per bucket (monotonic in le).
          let acc = 0;
          for (let j = 0; j < buckets.length; j++) {
            acc = Math.max(acc, Math.floor((count * (j + 1)) / (buckets.length + 1)));
            out.push(`${join(fam.name + '_bucket', c.labelText, `le="${goFloat(buckets[j]!)}"`)} ${goFloat(acc)}`);
          }
          out.push(`${join(fam.name + '_bucket', c.labelText, 'le="+Inf"')} ${goFloat(count)}`);
          out.push(`${join(fam.name + '_sum', c.labelText, '')} ${goFloat(count * 0.0375 + c.base / 1000)}`);
          out.push(`${join(fam.name + '_count', c.labelText, '')} ${goFloat(count)}`);
          if (created) out.push(`${join(fam.name + '_created', c.labelText, '')} ${goFloat(1700000000 + c.base)}`);
          break;
        }
        case 'summary': {
          const qs = fam.quantiles ?? [0, 0.25, 0.5, 0.75, 1];
          for (let j = 0; j < qs.length; j++) {
            out.push(`${join(fam.name, c.labelText, `quantile="${goFloat(qs[j]!)}"`)} ${goFloat((j + 1) * 1.5e-5 + (k % 7) * 1e-6)}`);
          }
          out.push(`${join(fam.name + '_sum', c.labelText, '')} ${goFloat(count * 0.0021)}`);
          out.push(`${join(fam.name + '_count', c.labelText, '')} ${goFloat(count)}`);
          if (created) out.push(`${join(fam.name + '_created', c.labelText, '')} ${goFloat(1700000000 + c.base)}`);
          break;
        }
      }
    }
  }
  if (om) out.push('# EOF');
  return out.join('\n') + '\n';
}
